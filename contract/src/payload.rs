//! Payloads: UTF-8 JSON objects. Receivers ignore fields they do not know,
//! so every struct here accepts unknown fields and skips absent optional ones.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// A window's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowStatus {
    Closed,
    Idle,
    Calling,
    Serving,
    Paused,
}

impl WindowStatus {
    /// Its name on the wire (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            WindowStatus::Closed => "closed",
            WindowStatus::Idle => "idle",
            WindowStatus::Calling => "calling",
            WindowStatus::Serving => "serving",
            WindowStatus::Paused => "paused",
        }
    }
}

/// The ticket on a window, in a WindowState or a Reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRef {
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Required materials (一次性告知), so the pad can show them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<String>,
    /// Priority class (e.g. `elderly`, `booking`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Who first took it and stays responsible (首问负责): the clerk, or the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The service's time limit in minutes (限时办结).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_min: Option<u32>,
}

impl TicketRef {
    /// A ticket known only by its number (what a display shows).
    pub fn numbered(number: impl Into<String>) -> TicketRef {
        TicketRef {
            number: number.into(),
            service: None,
            service_name: None,
            materials: Vec::new(),
            class: None,
            owner: None,
            limit_min: None,
        }
    }
}

/// `window/{win}/state`, retained: enough for a rebooted display to show the
/// right thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowState {
    pub window: String,
    pub name: String,
    pub status: WindowStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketRef>,
    pub waiting: u32,
    /// Grows with every change of the hall; drop a state older than one shown.
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clerk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_reason: Option<String>,
    /// Numbers parked at the window (`hold`), to be called back with `call`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    /// The queue of each service the window serves, in its order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<ServiceQueue>,
    /// The clerk at the window: today's figures, for the pad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clerk_today: Option<ClerkToday>,
}

impl WindowState {
    /// A window's state with only what its sign shows: its name, status and
    /// ticket number (previews, tests, benchmarks).
    pub fn shown(
        window: &str,
        name: &str,
        status: WindowStatus,
        number: Option<&str>,
    ) -> WindowState {
        WindowState {
            window: window.into(),
            name: name.into(),
            status,
            ticket: number.map(TicketRef::numbered),
            waiting: 0,
            seq: 0,
            clerk: None,
            pause_reason: None,
            held: Vec::new(),
            queues: Vec::new(),
            clerk_today: None,
        }
    }
}

/// `heartbeat`: the server is there, and its hall's latest seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub at_ms: i64,
    pub seq: u64,
}

/// One service's queue, as a window sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceQueue {
    pub service: String,
    pub name: String,
    pub waiting: u32,
}

/// A clerk's day so far (at any window).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkToday {
    /// Tickets finished.
    pub served: u32,
    /// Average service time (start to finish), seconds.
    pub avg_service_s: u32,
    /// Ratings received, and their average ×10 (46 = 4.6).
    pub ratings: u32,
    pub rating_avg_x10: u32,
    /// Tickets that got a yellow or red service card.
    pub cards: u32,
}

/// `calls`: one call or recall, for announcers and hall screens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub seq: u64,
    pub ticket: String,
    pub window: String,
    pub window_name: String,
    pub service_name: String,
    pub recall: bool,
    pub at_ms: i64,
}

/// `notice`, retained: the hall manager's notice for the hall's screens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Empty when the manager cleared it.
    pub text: String,
    /// The log seq of the change.
    pub seq: u64,
    pub at_ms: i64,
}

/// `device/{dev}/status`, retained; usually a device's will.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub online: bool,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// `rating/{win}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub id: String,
    pub ticket: String,
    pub score: u8,
}

/// An error in a Reply or an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, lower-case: `queue_empty`, `window_closed`, `bad_request`, …
    pub code: String,
    /// Chinese first, English after the slash.
    pub message: String,
}

/// `pad/{win}/reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub id: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    /// The code of the case an `accept` opened (for the receipt, 受理回执).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
}

impl Reply {
    pub fn ok(id: &str, ticket: Option<TicketRef>) -> Reply {
        Reply {
            id: id.to_string(),
            ok: true,
            ticket,
            error: None,
            case: None,
        }
    }

    pub fn err(id: &str, code: &str, message: &str) -> Reply {
        Reply {
            id: id.to_string(),
            ok: false,
            ticket: None,
            error: Some(ErrorBody {
                code: code.to_string(),
                message: message.to_string(),
            }),
            case: None,
        }
    }
}

/// The most characters a command id may have.
pub const MAX_COMMAND_ID: usize = 64;

/// `pad/{win}/cmd`: one clerk action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PadCommand {
    /// Unique per pad; a repeated id gets the first reply again.
    pub id: String,
    #[serde(flatten)]
    pub op: Op,
}

/// What the clerk asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    CallNext {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// Call a given ticket: one held at this window, or a waiting one out of
    /// order (then with a `reason`, which is logged).
    Call {
        ticket: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Park the current ticket at this window, to call it back with `call`.
    Hold,
    Recall,
    NoShow,
    Start,
    Finish,
    /// 受理: finish the ticket and open a case (承诺件); the reply carries
    /// the case code for the receipt.
    Accept,
    Transfer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_service: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_window: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Pause {
        #[serde(default)]
        reason: String,
    },
    Resume,
    Open {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clerk: Option<String>,
        /// The clerk's PIN, when the hall keeps a staff list: checked by the
        /// server, never stored, logged or passed on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<String>,
    },
    Close,
}

/// A command that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCommand {
    /// The command's id, when it could be read: then it gets a `bad_request`
    /// reply; otherwise it is logged and dropped.
    pub id: Option<String>,
    pub message: String,
}

impl PadCommand {
    /// Reads a command, telling apart "bad but answerable" from "unreadable".
    pub fn parse(bytes: &[u8]) -> Result<PadCommand, BadCommand> {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| BadCommand {
            id: None,
            message: alloc::format!("not JSON: {e}"),
        })?;
        let id = match value.get("id").and_then(|v| v.as_str()) {
            Some(id) if !id.is_empty() && id.chars().count() <= MAX_COMMAND_ID => id.to_string(),
            _ => {
                return Err(BadCommand {
                    id: None,
                    message: "missing or invalid \"id\" (a string of 1 to 64 characters)"
                        .to_string(),
                });
            }
        };
        serde_json::from_value::<PadCommand>(value).map_err(|e| BadCommand {
            id: Some(id),
            message: alloc::format!("{e}"),
        })
    }
}

/// The hall's layout, retained on `layout`: what devices may know of the
/// hall file (names, zones, prefixes), never its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub hall: String,
    pub name: String,
    pub zones: Vec<LayoutZone>,
    pub windows: Vec<LayoutWindow>,
    pub services: Vec<LayoutService>,
    /// Reasons a clerk picks from when pausing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pause_reasons: Vec<String>,
    /// The share of a service's time limit, in percent, that gives a
    /// yellow card while serving (the hall's card rule; 0: not said).
    #[serde(default)]
    pub service_warn_percent: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutZone {
    pub zone: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutWindow {
    pub window: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutService {
    pub service: String,
    pub name: String,
    /// The letter(s) its ticket numbers start with.
    pub prefix: String,
}

/// One service's queue in `metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceMetrics {
    pub service: String,
    pub waiting: u32,
    pub longest_wait_s: u32,
    pub issued_today: u32,
    pub windows_open: u32,
}

/// One window in `metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowMetrics {
    pub window: String,
    pub status: WindowStatus,
    pub waiting: u32,
    pub served_today: u32,
}

/// A yellow or red card still in force (电子监察).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardMetric {
    pub ticket: String,
    pub service: String,
    /// `wait` or `service`.
    pub kind: String,
    /// `yellow` or `red`.
    pub level: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clerk: Option<String>,
}

/// `metrics`, retained, at least once a second while anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    pub seq: u64,
    pub at_ms: i64,
    pub waiting: u32,
    pub services: Vec<ServiceMetrics>,
    pub windows: Vec<WindowMetrics>,
    /// Cards on tickets still waiting or being served.
    #[serde(default)]
    pub cards: Vec<CardMetric>,
    /// Yellow and red cards given today.
    #[serde(default)]
    pub yellow_today: u32,
    #[serde(default)]
    pub red_today: u32,
    /// Cases after the counter, per department (none when the hall has
    /// no cases).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<CaseMetric>,
}

/// A department's cases (限时办结): open ones and their cards now, and how
/// many of those decided were decided within their limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseMetric {
    /// The department's id; "" for cases of services without one.
    pub department: String,
    pub open: u32,
    /// Open cases holding a yellow / a red card.
    pub yellow: u32,
    pub red: u32,
    pub decided: u32,
    pub on_time: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_serdes() {
        for st in [
            WindowStatus::Closed,
            WindowStatus::Idle,
            WindowStatus::Calling,
            WindowStatus::Serving,
            WindowStatus::Paused,
        ] {
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
    }
    use alloc::vec;

    #[test]
    fn command_examples_of_the_contract_parse() {
        let c = PadCommand::parse(br#"{"id": "pad3-000127", "op": "call_next"}"#).unwrap();
        assert_eq!(c.op, Op::CallNext { service: None });
        let c =
            PadCommand::parse(br#"{"id":"x","op":"call_next","service":"a","extra":1}"#).unwrap();
        assert_eq!(
            c.op,
            Op::CallNext {
                service: Some("a".into())
            }
        );
        let c = PadCommand::parse(r#"{"id":"x","op":"pause","reason":"午休"}"#.as_bytes()).unwrap();
        assert_eq!(
            c.op,
            Op::Pause {
                reason: "午休".into()
            }
        );
        let c = PadCommand::parse(br#"{"id":"x","op":"transfer","to_service":"b","note":"n"}"#)
            .unwrap();
        assert!(matches!(c.op, Op::Transfer { .. }));
    }

    #[test]
    fn bad_commands_keep_their_id_when_readable() {
        let e = PadCommand::parse(br#"{"id":"p-1","op":"dance"}"#).unwrap_err();
        assert_eq!(e.id.as_deref(), Some("p-1"));
        let e = PadCommand::parse(br#"{"id":"p-1"}"#).unwrap_err();
        assert_eq!(e.id.as_deref(), Some("p-1"));
        for unreadable in [
            &b"{not json"[..],
            br#"{"op":"recall"}"#,
            br#"{"id":7,"op":"recall"}"#,
            b"[]",
            b"\xff",
        ] {
            assert_eq!(PadCommand::parse(unreadable).unwrap_err().id, None);
        }
        let long = alloc::format!(r#"{{"id":"{}","op":"recall"}}"#, "x".repeat(65));
        assert_eq!(PadCommand::parse(long.as_bytes()).unwrap_err().id, None);
    }

    #[test]
    fn commands_round_trip() {
        for op in [
            Op::Recall,
            Op::NoShow,
            Op::Start,
            Op::Finish,
            Op::Accept,
            Op::Resume,
            Op::Close,
            Op::Open {
                clerk: Some("c1".into()),
                pin: Some("1234".into()),
            },
        ] {
            let c = PadCommand { id: "i".into(), op };
            let json = serde_json::to_vec(&c).unwrap();
            assert_eq!(PadCommand::parse(&json).unwrap(), c);
        }
    }

    #[test]
    fn window_state_matches_the_contract_example() {
        let s: WindowState = serde_json::from_str(
            r#"{"window": "3", "name": "3号窗口", "status": "calling", "ticket": {"number": "A001"}, "waiting": 7, "seq": 812}"#,
        )
        .unwrap();
        assert_eq!(s.status, WindowStatus::Calling);
        assert_eq!(s.ticket.as_ref().unwrap().number, "A001");
        let back: WindowState = serde_json::from_slice(&serde_json::to_vec(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn call_and_reply_match_the_contract_examples() {
        let c: Call = serde_json::from_str(
            r#"{"seq": 812, "ticket": "A001", "window": "3", "window_name": "3号窗口", "service_name": "商事登记", "recall": false, "at_ms": 1700000000000}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::from_slice::<Call>(&serde_json::to_vec(&c).unwrap()).unwrap(),
            c
        );
        let r: Reply = serde_json::from_str(
            r#"{"id": "pad3-000128", "ok": false, "error": {"code": "queue_empty", "message": "没有等候的号 / no one is waiting"}}"#,
        )
        .unwrap();
        assert_eq!(r.error.unwrap().code, "queue_empty");
        let ok = Reply::ok(
            "i",
            Some(TicketRef {
                number: "A001".into(),
                service: Some("a".into()),
                service_name: None,
                materials: vec!["身份证".into()],
                class: None,
                owner: None,
                limit_min: Some(30),
            }),
        );
        let json = serde_json::to_string(&ok).unwrap();
        assert!(
            json.contains(r#""ok":true"#) && !json.contains("error"),
            "{json}"
        );
    }

    #[test]
    fn device_status_and_rating_parse() {
        let d: DeviceStatus =
            serde_json::from_str(r#"{"online": false, "role": "display", "window": "3"}"#).unwrap();
        assert!(!d.online);
        let r: Rating =
            serde_json::from_str(r#"{"id": "r1", "ticket": "A001", "score": 5}"#).unwrap();
        assert_eq!(r.score, 5);
    }
}
