//! What happened: the only thing stored. The state is a fold of these.
//!
//! Fields added after the first version carry `#[serde(default)]`, so a log
//! written by an older hallq still replays.

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::case::CaseAction;
use crate::config::Policy;
use crate::id::{Id, TicketId};

/// What a card is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// A citizen has waited too long.
    Wait,
    /// A service has taken too long.
    Service,
}

impl CardKind {
    /// Its name on the wire and in reports (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Wait => "wait",
            CardKind::Service => "service",
        }
    }
}

/// 黄牌 / 红牌.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardLevel {
    Yellow,
    Red,
}

impl CardLevel {
    /// Its name on the wire and in reports (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            CardLevel::Yellow => "yellow",
            CardLevel::Red => "red",
        }
    }
}

/// One change of the hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A new service day: numbering restarts and tickets still waiting from
    /// an earlier day end as expired — unless the hall carries them over.
    DayStarted {
        day: i64,
    },
    TicketIssued {
        ticket: TicketId,
        token: String,
        service: Id,
        number: String,
        /// Priority class; none for an ordinary ticket.
        #[serde(default)]
        class: Option<Id>,
        /// The citizen's hashed ID number, when one was given.
        #[serde(default)]
        citizen: Option<String>,
        /// The booking it was checked in from.
        #[serde(default)]
        booking: Option<String>,
    },
    TicketCalled {
        ticket: TicketId,
        window: Id,
        recall: bool,
        /// Why it was called out of order, when it was.
        #[serde(default)]
        reason: Option<String>,
    },
    TicketNoShow {
        ticket: TicketId,
        window: Id,
    },
    /// A no-show put back into the queue once.
    TicketPutBack {
        ticket: TicketId,
        window: Id,
        places: u32,
    },
    /// Parked at the window, to be called back later.
    TicketHeld {
        ticket: TicketId,
        window: Id,
    },
    /// Handed on; the ticket keeps its owner (首问负责) and its place.
    TicketTransferred {
        ticket: TicketId,
        window: Id,
        to_service: Option<Id>,
        to_window: Option<Id>,
        note: String,
    },
    ServiceStarted {
        ticket: TicketId,
        window: Id,
    },
    ServiceFinished {
        ticket: TicketId,
        window: Id,
        /// Seconds served after the session it was taken in had closed (延时服务).
        #[serde(default)]
        overtime_s: u32,
    },
    TicketRated {
        ticket: TicketId,
        window: Id,
        clerk: Option<String>,
        /// 5 非常满意 … 1 非常不满意.
        score: u8,
    },
    /// 电子监察: a wait or a service passed its warning share or its limit.
    CardIssued {
        ticket: TicketId,
        kind: CardKind,
        level: CardLevel,
        service: Id,
        window: Option<Id>,
        clerk: Option<String>,
    },
    WindowOpened {
        window: Id,
        clerk: Option<String>,
        /// The manager who opened it from the dashboard.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    WindowClosed {
        window: Id,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    WindowPaused {
        window: Id,
        reason: String,
    },
    WindowResumed {
        window: Id,
    },
    /// The manager switched a window's work profile.
    WindowProfileSet {
        window: Id,
        serves: Vec<Id>,
        policy: Policy,
        weights: Vec<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The manager moved every waiting ticket of `from` to `to`.
    QueueMoved {
        from: Id,
        to: Id,
        tickets: Vec<TicketId>,
        by: String,
    },
    BookingMade {
        booking: String,
        service: Id,
        slot_ms: Millis,
        citizen: String,
    },
    BookingCheckedIn {
        booking: String,
        ticket: TicketId,
        /// Past the grace period: an ordinary ticket, not the booking class.
        late: bool,
    },
    /// Nobody checked in before the slot ended.
    BookingMissed {
        booking: String,
    },
    /// The citizen called it off before the slot.
    BookingCancelled {
        booking: String,
    },
    /// 受理: a case opened from a finished ticket (right after its
    /// `ServiceFinished`).
    CaseAccepted {
        case: String,
        ticket: TicketId,
        service: Id,
        department: Option<Id>,
        window: Id,
        clerk: Option<String>,
        limit_days: u32,
        deemed_approval: bool,
    },
    /// A case moved on (see [`CaseAction`]).
    CaseStep {
        case: String,
        #[serde(flatten)]
        action: CaseAction,
        by: String,
        #[serde(default)]
        note: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// A case used its warning share of working days (yellow) or passed
    /// its limit (red).
    CaseCard {
        case: String,
        level: CardLevel,
        department: Option<Id>,
        window: Id,
        clerk: Option<String>,
        used_days: u32,
    },
    /// 超时默许: undecided past its limit, the case counts as approved.
    CaseDeemed {
        case: String,
        used_days: u32,
    },
    /// A pick-up ticket (right after its `TicketIssued`) for a case.
    PickupIssued {
        case: String,
        ticket: TicketId,
    },
    /// The manager's notice for the hall's screens ("" when cleared).
    NoticeSet {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
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
            Event::TicketCalled { window, .. }
            | Event::TicketNoShow { window, .. }
            | Event::TicketPutBack { window, .. }
            | Event::TicketHeld { window, .. }
            | Event::TicketTransferred { window, .. }
            | Event::ServiceStarted { window, .. }
            | Event::ServiceFinished { window, .. }
            | Event::WindowOpened { window, .. }
            | Event::WindowClosed { window, .. }
            | Event::WindowPaused { window, .. }
            | Event::WindowResumed { window }
            | Event::WindowProfileSet { window, .. } => Some(window),
            _ => None,
        }
    }

    /// The ticket this event is about, if any.
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Event::TicketIssued { ticket, .. }
            | Event::TicketCalled { ticket, .. }
            | Event::TicketNoShow { ticket, .. }
            | Event::TicketPutBack { ticket, .. }
            | Event::TicketHeld { ticket, .. }
            | Event::TicketTransferred { ticket, .. }
            | Event::ServiceStarted { ticket, .. }
            | Event::ServiceFinished { ticket, .. }
            | Event::TicketRated { ticket, .. }
            | Event::CardIssued { ticket, .. }
            | Event::BookingCheckedIn { ticket, .. } => Some(*ticket),
            _ => None,
        }
    }
}

#[cfg(test)]
mod names {
    use super::*;

    #[test]
    fn card_names_are_serdes() {
        for k in [CardKind::Wait, CardKind::Service] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for l in [CardLevel::Yellow, CardLevel::Red] {
            assert_eq!(serde_json::to_value(l).unwrap(), l.as_str());
        }
    }
}
