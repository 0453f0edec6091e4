//! The live stream of `GET /api/v1/halls/{hall}/stream`: what the hall
//! screen and the dashboard follow. It needs no login, so it carries a
//! projection of each event, never the log itself: no ticket's or booking's
//! opaque handle (each lets its holder act for the citizen: rate, read,
//! check in) and no hashed ID number (it links one person's visits).
//!
//! Each line comes in two forms: the public one, and the staff one for a
//! manager's login, which adds what supervision needs (ratings, cards,
//! reasons and notes), still without handles or hashes.

use std::sync::Arc;

use hallq_core::{Event, Hall, Record};
use serde::Serialize;

/// One stream message, as `{"type": kind, "data": …}` JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub public: String,
    /// For managers; the same text as `public` when nothing is held back.
    pub staff: String,
}

impl Line {
    /// A line that is the same for everyone.
    pub fn same<T: Serialize>(kind: &str, data: &T) -> Arc<Line> {
        let text = text(kind, data);
        Arc::new(Line {
            public: text.clone(),
            staff: text,
        })
    }

    /// A line for staff only (devices' health): the public hear nothing.
    pub fn staff_only<T: Serialize>(kind: &str, data: &T) -> Arc<Line> {
        Arc::new(Line {
            public: String::new(),
            staff: text(kind, data),
        })
    }

    /// The text for a follower with or without a manager's login.
    pub fn for_staff(&self, staff: bool) -> &str {
        if staff { &self.staff } else { &self.public }
    }
}

/// `{"type": kind, "data": …}`.
pub fn text<T: Serialize>(kind: &str, data: &T) -> String {
    serde_json::json!({ "type": kind, "data": data }).to_string()
}

/// An event as the stream shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamEvent {
    pub seq: u64,
    pub at_ms: i64,
    /// The event's type, as in the log (`ticket_issued`, `ticket_called`, …).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot_ms: Option<i64>,
    /// The manager's new notice (`notice_set`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Staff only from here on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clerk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
}

/// The stream line of a record: `event`, public and staff forms.
pub fn event_line(hall: &Hall, r: &Record) -> Arc<Line> {
    let public = project(hall, r, false);
    let staff = project(hall, r, true);
    Arc::new(Line {
        public: text("event", &public),
        staff: text("event", &staff),
    })
}

/// The projection of one record; `staff` adds supervision's fields.
pub fn project(hall: &Hall, r: &Record, staff: bool) -> StreamEvent {
    let kind = serde_json::to_value(&r.event)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let mut e = StreamEvent {
        seq: r.seq,
        at_ms: r.at_ms,
        kind,
        ..StreamEvent::default()
    };
    let ticket = r.event.ticket().and_then(|id| hall.ticket(id));
    if let Some(t) = ticket {
        e.number = Some(t.number.clone());
        e.service = Some(t.service.to_string());
        e.class = t.class.as_ref().map(|c| c.to_string());
    }
    e.window = r.event.window().map(|w| w.to_string());
    let s = |x: &Option<String>| x.clone().filter(|_| staff);
    match &r.event {
        Event::DayStarted { day } => e.day = Some(*day),
        Event::TicketCalled { recall, reason, .. } => {
            e.recall = Some(*recall);
            e.reason = s(reason);
        }
        Event::TicketTransferred {
            to_service,
            to_window,
            note,
            ..
        } => {
            e.to_service = to_service.as_ref().map(|x| x.to_string());
            e.to_window = to_window.as_ref().map(|x| x.to_string());
            e.reason = s(&Some(note.clone()));
        }
        Event::TicketRated { clerk, score, .. } => {
            e.clerk = s(clerk);
            e.score = Some(*score).filter(|_| staff);
        }
        Event::CardIssued {
            kind,
            level,
            service,
            clerk,
            window,
            ..
        } => {
            e.service = Some(service.to_string());
            e.window = window.as_ref().map(|w| w.to_string());
            e.clerk = s(clerk);
            e.card = Some(format!("{}_{}", kind.as_str(), level.as_str())).filter(|_| staff);
        }
        Event::WindowOpened { clerk, .. } => e.clerk = clerk.clone(),
        Event::NoticeSet { text, .. } => e.notice = Some(text.clone()),
        Event::QueueMoved { from, to, .. } => {
            e.service = Some(from.to_string());
            e.to_service = Some(to.to_string());
        }
        Event::WindowPaused { reason, .. } => e.reason = Some(reason.clone()),
        Event::BookingMade {
            service, slot_ms, ..
        } => {
            e.service = Some(service.to_string());
            e.slot_ms = Some(*slot_ms);
        }
        _ => {}
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallq_core::{Command, HallConfig, Id};

    fn hall() -> HallConfig {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml");
        crate::config::load_hall(&path).unwrap()
    }

    #[test]
    fn no_line_carries_a_handle_or_a_citizens_hash() {
        let mut config = hall();
        config.hours = None;
        let mut h = Hall::new(config);
        let now = 1_795_739_400_000;
        let mut records = Vec::new();
        let mut run = |h: &mut Hall, c| records.extend(h.handle(now, c).unwrap());
        run(
            &mut h,
            Command::IssueTicket {
                service: Id::parse("business").unwrap(),
                token: "secret-ticket-token".into(),
                class: None,
                citizen: Some("secret-citizen-hash".into()),
            },
        );
        run(
            &mut h,
            Command::Open {
                window: Id::parse("3").unwrap(),
                clerk: Some("zhang".into()),
            },
        );
        run(
            &mut h,
            Command::CallNext {
                window: Id::parse("3").unwrap(),
                service: None,
            },
        );
        assert!(records.len() >= 3);
        for r in &records {
            let line = event_line(&h, r);
            for text in [&line.public, &line.staff] {
                assert!(!text.contains("secret"), "{text}");
            }
            let full = serde_json::to_string(&r.event).unwrap();
            if full.contains("secret") {
                assert!(line.public.contains("A001"), "{}", line.public);
            }
        }
    }
}
