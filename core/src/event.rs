//! What happened: the only thing stored. The state is a fold of these.

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::id::{Id, TicketId};

/// One change of the hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A new service day: numbering restarts; tickets still waiting from an
    /// earlier day end as expired.
    DayStarted {
        day: i64,
    },
    TicketIssued {
        ticket: TicketId,
        token: String,
        service: Id,
        number: String,
    },
    TicketCalled {
        ticket: TicketId,
        window: Id,
        recall: bool,
    },
    TicketNoShow {
        ticket: TicketId,
        window: Id,
    },
    ServiceStarted {
        ticket: TicketId,
        window: Id,
    },
    ServiceFinished {
        ticket: TicketId,
        window: Id,
    },
    WindowOpened {
        window: Id,
        clerk: Option<String>,
    },
    WindowClosed {
        window: Id,
    },
    WindowPaused {
        window: Id,
        reason: String,
    },
    WindowResumed {
        window: Id,
    },
}

/// An event with its place in the log and its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Grows by one with every event of the hall, for all time; devices use it
    /// (as `seq`) to drop stale messages.
    pub seq: u64,
    pub at_ms: Millis,
    pub event: Event,
}

impl Event {
    /// The window this event changes, if any.
    pub fn window(&self) -> Option<&Id> {
        match self {
            Event::DayStarted { .. } | Event::TicketIssued { .. } => None,
            Event::TicketCalled { window, .. }
            | Event::TicketNoShow { window, .. }
            | Event::ServiceStarted { window, .. }
            | Event::ServiceFinished { window, .. }
            | Event::WindowOpened { window, .. }
            | Event::WindowClosed { window }
            | Event::WindowPaused { window, .. }
            | Event::WindowResumed { window } => Some(window),
        }
    }
}
