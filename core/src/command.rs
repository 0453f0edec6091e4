//! What the edges ask of the hall.

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::case::CaseAction;
use crate::config::Policy;
use crate::id::Id;

/// One request to change the hall. Window commands come from a clerk's pad;
/// tickets and bookings from a kiosk, the phone page or the HTTP API;
/// profiles from the manager; `Tick` from the edge's timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Take a ticket. `token` is the ticket's public, unguessable handle,
    /// made by the edge (the core has no randomness). `citizen` is the
    /// hashed ID number, when given (quota per ID).
    IssueTicket {
        service: Id,
        token: String,
        class: Option<Id>,
        citizen: Option<String>,
    },
    /// Call the next ticket by the window's work profile, or of one of its
    /// services when `service` is given.
    CallNext {
        window: Id,
        service: Option<Id>,
    },
    /// Call a given ticket: one this window holds, or a waiting one out of
    /// order (then `reason` is required and logged).
    CallTicket {
        window: Id,
        number: String,
        reason: Option<String>,
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
    /// Park the current ticket at this window, to call it back later.
    Hold {
        window: Id,
    },
    /// Hand the current ticket on to a service's queue or a window.
    Transfer {
        window: Id,
        to_service: Option<Id>,
        to_window: Option<Id>,
        note: String,
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
    /// The manager switches a window's work profile.
    SetProfile {
        window: Id,
        serves: Vec<Id>,
        policy: Policy,
        weights: Vec<u32>,
    },
    /// 好差评: one grade (1–5) for a finished ticket, by token or number.
    Rate {
        ticket: String,
        window: Option<Id>,
        score: u8,
    },
    /// Book a slot (`slot_ms` is its start).
    Book {
        token: String,
        service: Id,
        slot_ms: Millis,
        citizen: String,
    },
    /// Call a booking off before its slot (the booking code is the handle).
    CancelBooking {
        booking: String,
    },
    /// Check a booking in: a ticket (with `token`) in the booking class.
    CheckIn {
        booking: String,
        token: String,
    },
    /// What the hall manager does from the dashboard, as `by` (a staff id),
    /// having seen the hall at `seen` (the seq of the window or notice it
    /// acts on): refused as stale when that changed since.
    Manage {
        by: String,
        seen: Option<u64>,
        action: ManagerAction,
    },
    /// Time passed: cards, missed bookings, a new day.
    Tick,
    /// 受理: finish the serving ticket and open a case under `case` (the
    /// receipt's code, made by the edge).
    Accept {
        window: Id,
        case: String,
    },
    /// A case moves on: by the back office, an approval system (`key`
    /// makes a repeat harmless) or the pick-up window.
    Case {
        case: String,
        by: String,
        #[serde(default)]
        key: Option<String>,
        #[serde(default)]
        note: String,
        #[serde(flatten)]
        action: CaseAction,
    },
    /// A pick-up ticket (统一出件) taken with a case code at the kiosk.
    PickUp {
        case: String,
        token: String,
    },
}

/// A manager's action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ManagerAction {
    /// Open a window (no clerk logged in yet).
    Open { window: Id },
    /// Close a window with no ticket at it.
    Close { window: Id },
    /// Switch a window's work profile.
    Profile {
        window: Id,
        serves: Vec<Id>,
        policy: Policy,
        #[serde(default)]
        weights: Vec<u32>,
    },
    /// Move every waiting ticket of a service to another service, each
    /// keeping its place by issue time.
    MoveQueue { from: Id, to: Id },
    /// The notice for the hall's screens; empty clears it.
    Notice { text: String },
}

impl Command {
    /// The window a counter command is for.
    pub fn window(&self) -> Option<&Id> {
        match self {
            Command::CallNext { window, .. }
            | Command::CallTicket { window, .. }
            | Command::Recall { window }
            | Command::NoShow { window }
            | Command::Start { window }
            | Command::Finish { window }
            | Command::Hold { window }
            | Command::Transfer { window, .. }
            | Command::Open { window, .. }
            | Command::Close { window }
            | Command::Pause { window, .. }
            | Command::Resume { window }
            | Command::SetProfile { window, .. }
            | Command::Accept { window, .. } => Some(window),
            _ => None,
        }
    }
}

/// The most characters of a reason or a note (pause, out-of-order call,
/// transfer): it is logged forever and shown on the window's display.
pub const MAX_REASON_CHARS: usize = 100;
/// The most characters of the hall's notice.
pub const MAX_NOTICE_CHARS: usize = 200;
/// The most characters of a clerk's name or id.
pub const MAX_CLERK_CHARS: usize = 32;
/// The most characters of a ticket number or an opaque handle a command
/// looks up.
pub const MAX_HANDLE_CHARS: usize = 64;

impl Command {
    /// Checks the free text a command carries: within its limit and free of
    /// control characters (a line break would garble a display).
    pub fn check_text(&self) -> Result<(), crate::CoreError> {
        let check = |field: &'static str, text: &str, max: usize| {
            if text.chars().count() > max || text.chars().any(char::is_control) {
                Err(crate::CoreError::BadText { field, max })
            } else {
                Ok(())
            }
        };
        match self {
            Command::CallTicket { number, reason, .. } => {
                check("number", number, MAX_HANDLE_CHARS)?;
                check("reason", reason.as_deref().unwrap_or(""), MAX_REASON_CHARS)
            }
            Command::Transfer { note, .. } => check("note", note, MAX_REASON_CHARS),
            Command::Open { clerk, .. } => {
                check("clerk", clerk.as_deref().unwrap_or(""), MAX_CLERK_CHARS)
            }
            Command::Pause { reason, .. } => check("reason", reason, MAX_REASON_CHARS),
            Command::IssueTicket { token, citizen, .. } => {
                check("token", token, MAX_HANDLE_CHARS)?;
                check(
                    "citizen",
                    citizen.as_deref().unwrap_or(""),
                    MAX_HANDLE_CHARS,
                )
            }
            Command::Rate { ticket, .. } => check("ticket", ticket, MAX_HANDLE_CHARS),
            Command::Manage { by, action, .. } => {
                check("by", by, MAX_CLERK_CHARS)?;
                match action {
                    ManagerAction::Notice { text } => check("text", text, MAX_NOTICE_CHARS),
                    _ => Ok(()),
                }
            }
            Command::Book { token, citizen, .. } => {
                check("token", token, MAX_HANDLE_CHARS)?;
                check("citizen", citizen, MAX_HANDLE_CHARS)
            }
            Command::CancelBooking { booking } => check("booking", booking, MAX_HANDLE_CHARS),
            Command::CheckIn { booking, token } => {
                check("booking", booking, MAX_HANDLE_CHARS)?;
                check("token", token, MAX_HANDLE_CHARS)
            }
            Command::Case {
                by, note, action, ..
            } => {
                check("by", by, MAX_CLERK_CHARS)?;
                check("note", note, MAX_NOTICE_CHARS)?;
                match action {
                    CaseAction::Express { carrier, tracking } => {
                        check("carrier", carrier, MAX_CLERK_CHARS)?;
                        check("tracking", tracking, MAX_HANDLE_CHARS)
                    }
                    _ => Ok(()),
                }
            }
            Command::PickUp { token, .. } => check("token", token, MAX_HANDLE_CHARS),
            _ => Ok(()),
        }
    }
}
