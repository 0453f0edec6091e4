//! What the edges ask of the hall.

use serde::{Deserialize, Serialize};

use crate::id::Id;

/// One request to change the hall. Window commands come from a clerk's pad;
/// `IssueTicket` from a kiosk, the phone page or the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Take a ticket. `token` is the ticket's public, unguessable handle,
    /// made by the edge (the core has no randomness).
    IssueTicket {
        service: Id,
        token: String,
    },
    /// Call the longest-waiting ticket among the window's services, or
    /// among one of them when `service` is given.
    CallNext {
        window: Id,
        service: Option<Id>,
    },
    Recall {
        window: Id,
    },
    NoShow {
        window: Id,
    },
    Start {
        window: Id,
    },
    Finish {
        window: Id,
    },
    Open {
        window: Id,
        clerk: Option<String>,
    },
    Close {
        window: Id,
    },
    Pause {
        window: Id,
        reason: String,
    },
    Resume {
        window: Id,
    },
}

impl Command {
    /// The window a counter command is for.
    pub fn window(&self) -> Option<&Id> {
        match self {
            Command::IssueTicket { .. } => None,
            Command::CallNext { window, .. }
            | Command::Recall { window }
            | Command::NoShow { window }
            | Command::Start { window }
            | Command::Finish { window }
            | Command::Open { window, .. }
            | Command::Close { window }
            | Command::Pause { window, .. }
            | Command::Resume { window } => Some(window),
        }
    }
}
