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
    /// Its `type`, and what it is about when a newer line of the same
    /// type and key replaces it (a window's state): see [`spawn_public`].
    pub kind: &'static str,
    pub key: Option<String>,
}

impl Line {
    /// A line that is the same for everyone.
    pub fn same<T: Serialize>(kind: &'static str, data: &T) -> Arc<Line> {
        let text = text(kind, data);
        Arc::new(Line {
            public: text.clone(),
            staff: text,
            kind,
            key: None,
        })
    }

    /// A line that is the same for everyone and replaces the earlier one
    /// with the same kind and key; `data_json` is the data as JSON (a
    /// window state is serialized once, for MQTT and the stream).
    pub fn keyed(kind: &'static str, key: &str, data_json: &str) -> Arc<Line> {
        let text = wrap(kind, data_json);
        Arc::new(Line {
            public: text.clone(),
            staff: text,
            kind,
            key: Some(key.to_owned()),
        })
    }

    /// A line for staff only (devices' health): the public hear nothing.
    pub fn staff_only<T: Serialize>(kind: &'static str, data: &T) -> Arc<Line> {
        Arc::new(Line {
            public: String::new(),
            staff: text(kind, data),
            kind,
            key: None,
        })
    }

    /// The text for a follower with or without a manager's login.
    pub fn for_staff(&self, staff: bool) -> &str {
        if staff { &self.staff } else { &self.public }
    }
}

/// `{"type": kind, "data": …}`.
pub fn text<T: Serialize>(kind: &str, data: &T) -> String {
    let data = serde_json::to_string(data).expect("stream data serializes");
    wrap(kind, &data)
}

/// `{"type": kind, "data": …}` around data already in JSON.
fn wrap(kind: &str, data_json: &str) -> String {
    let kind = serde_json::to_string(kind).expect("a string serializes");
    format!(r#"{{"type":{kind},"data":{data_json}}}"#)
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
    /// A case's code, department and new state (case events, staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// The stream line of a record: `event`, public and staff forms. Cases
/// are staff's only: their codes pick results up.
pub fn event_line(hall: &Hall, r: &Record) -> Arc<Line> {
    let public = project(hall, r, false);
    let staff = project(hall, r, true);
    let is_case = matches!(
        r.event,
        Event::CaseAccepted { .. }
            | Event::CaseStep { .. }
            | Event::CaseCard { .. }
            | Event::CaseDeemed { .. }
            | Event::PickupIssued { .. }
    );
    Arc::new(Line {
        public: if is_case {
            String::new()
        } else {
            text("event", &public)
        },
        staff: text("event", &staff),
        kind: "event",
        key: None,
    })
}

/// How often, at most, public followers get a batch of lines.
pub const PUBLIC_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// The newest calls a public batch keeps (a hall screen shows a few).
pub const PUBLIC_CALLS: usize = 4;

/// Lines for public followers (hall screens, phones, kiosks), many of
/// them: the first line after a quiet spell goes at once; in a busy spell
/// the lines of each [`PUBLIC_EVERY`] go together, keeping of each kind
/// only the newest (the latest metrics, one `event` — public pages take it
/// as "something changed, read again") and the newest [`PUBLIC_CALLS`]
/// calls; no window states (devices have them on MQTT, managers in their
/// stream, and a city hall has hundreds of windows). So a thousand phones cost the
/// same in a hall that calls a thousand numbers a second as in one that
/// calls one. Managers follow the full stream.
pub fn spawn_public(
    stream: &tokio::sync::broadcast::Sender<Arc<Line>>,
) -> tokio::sync::broadcast::Sender<Arc<Vec<String>>> {
    use tokio::sync::broadcast::error::RecvError;
    let (tx, _) = tokio::sync::broadcast::channel(64);
    let out = tx.clone();
    let mut rx = stream.subscribe();
    tokio::spawn(async move {
        let mut last = tokio::time::Instant::now() - PUBLIC_EVERY;
        let mut batch = Batch::default();
        loop {
            match rx.recv().await {
                Ok(line) => batch.add(line),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            }
            let until = last + PUBLIC_EVERY;
            while tokio::time::Instant::now() < until {
                tokio::select! {
                    line = rx.recv() => match line {
                        Ok(line) => batch.add(line),
                        Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return,
                    },
                    _ = tokio::time::sleep_until(until) => break,
                }
            }
            last = tokio::time::Instant::now();
            let lines = std::mem::take(&mut batch).lines();
            if !lines.is_empty() {
                let _ = out.send(Arc::new(lines));
            }
        }
    });
    tx
}

/// One public batch in the making, in the order lines first came.
#[derive(Default)]
struct Batch {
    lines: Vec<Option<Arc<Line>>>,
    /// (kind, key) → index in `lines`.
    latest: std::collections::HashMap<(&'static str, Option<String>), usize>,
    calls: std::collections::VecDeque<usize>,
}

impl Batch {
    fn add(&mut self, line: Arc<Line>) {
        if line.public.is_empty() || line.kind == "window" {
            return;
        }
        let at = self.lines.len();
        if line.kind == "call" {
            self.calls.push_back(at);
            if self.calls.len() > PUBLIC_CALLS
                && let Some(old) = self.calls.pop_front()
            {
                self.lines[old] = None;
            }
        } else if let Some(old) = self.latest.insert((line.kind, line.key.clone()), at) {
            self.lines[old] = None;
        }
        self.lines.push(Some(line));
    }

    fn lines(self) -> Vec<String> {
        self.lines
            .into_iter()
            .flatten()
            .map(|l| l.public.clone())
            .collect()
    }
}

/// The projection of one record; `staff` adds supervision's fields.
pub fn project(hall: &Hall, r: &Record, staff: bool) -> StreamEvent {
    // The tag comes first in the event's JSON (`{"type":"ticket_called",…`).
    let json = serde_json::to_string(&r.event).unwrap_or_default();
    let kind = json
        .strip_prefix(r#"{"type":""#)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
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
        Event::CaseAccepted {
            case,
            service,
            department,
            window,
            clerk,
            ..
        } => {
            e.case = s(&Some(case.clone()));
            e.service = Some(service.to_string());
            e.department = department.as_ref().map(|d| d.to_string());
            e.window = Some(window.to_string());
            e.clerk = s(clerk);
            e.state = Some("accepted".to_owned());
        }
        Event::CaseStep {
            case, action, note, ..
        } => {
            e.case = s(&Some(case.clone()));
            e.reason = s(&Some(note.clone()).filter(|n| !n.is_empty()));
            if let Some(c) = hall.case(case) {
                e.department = c.department.as_ref().map(|d| d.to_string());
                e.state = Some(c.state.as_str().to_owned());
            }
            if let hallq_core::CaseAction::Deliver { window } = action {
                e.window = Some(window.to_string());
            }
        }
        Event::CaseCard {
            case,
            level,
            department,
            window,
            clerk,
            ..
        } => {
            e.case = s(&Some(case.clone()));
            e.department = department.as_ref().map(|d| d.to_string());
            e.window = Some(window.to_string());
            e.clerk = s(clerk);
            e.card = Some(format!("case_{}", level.as_str())).filter(|_| staff);
        }
        Event::CaseDeemed { case, .. } | Event::PickupIssued { case, .. } => {
            e.case = s(&Some(case.clone()));
            if let Some(c) = hall.case(case) {
                e.department = c.department.as_ref().map(|d| d.to_string());
                e.state = Some(c.state.as_str().to_owned());
            }
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

#[cfg(test)]
mod thinning {
    use super::*;

    fn event(seq: u64) -> Arc<Line> {
        Line::same(
            "event",
            &StreamEvent {
                seq,
                ..StreamEvent::default()
            },
        )
    }

    #[test]
    fn a_busy_spell_keeps_the_newest_of_each_kind_and_the_last_calls() {
        let mut b = Batch::default();
        b.add(event(1));
        for n in 1..=6 {
            b.add(Line::same(
                "call",
                &serde_json::json!({ "ticket": format!("A{n:03}") }),
            ));
            b.add(Line::keyed("window", "3", &format!(r#"{{"n":{n}}}"#)));
        }
        b.add(Line::same("metrics", &serde_json::json!({ "m": 1 })));
        b.add(event(2));
        b.add(Line::staff_only(
            "device",
            &serde_json::json!({ "device": "led-3" }),
        ));
        b.add(Line::same("metrics", &serde_json::json!({ "m": 2 })));
        b.add(event(3));
        let lines = b.lines();
        let kinds: Vec<(String, String)> = lines
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let what = match v["type"].as_str().unwrap() {
                    "call" => v["data"]["ticket"].to_string(),
                    "event" => v["data"]["seq"].to_string(),
                    _ => v["data"]["m"].to_string(),
                };
                (v["type"].as_str().unwrap().to_owned(), what)
            })
            .collect();
        let want: Vec<(String, String)> = [
            ("call", "\"A003\""),
            ("call", "\"A004\""),
            ("call", "\"A005\""),
            ("call", "\"A006\""),
            ("metrics", "2"),
            ("event", "3"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(kinds, want);
    }

    #[tokio::test]
    async fn the_first_line_after_a_quiet_spell_goes_at_once_and_a_burst_is_thinned() {
        let (stream, _) = tokio::sync::broadcast::channel(1024);
        let public = spawn_public(&stream);
        let mut rx = public.subscribe();
        stream.send(event(1)).unwrap();
        let first = tokio::time::timeout(std::time::Duration::from_millis(100), rx.recv())
            .await
            .expect("at once")
            .unwrap();
        assert_eq!(first.len(), 1);
        for seq in 2..=50 {
            stream.send(event(seq)).unwrap();
        }
        let burst = tokio::time::timeout(PUBLIC_EVERY * 3, rx.recv())
            .await
            .expect("within the period")
            .unwrap();
        assert_eq!(burst.len(), 1, "one event stands for the burst: {burst:?}");
        assert!(burst[0].contains("\"seq\":50"), "{burst:?}");
    }
}
