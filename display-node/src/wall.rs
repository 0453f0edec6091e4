//! The hall's LED wall: the last calls (from `calls`, seeded from the
//! retained window states so a wall started mid-day is not empty), the
//! waiting count per service (`metrics`, names from `layout`) and the
//! manager's notice (`notice`).

use std::collections::BTreeMap;
use std::time::Instant;

use hallq_contract::{Call, Layout, Metrics, Notice, Topic, WindowState, WindowStatus, topic};
use hallq_render::{
    Drawn, Framebuffer, LedColor, RenderError, Wall, WallCall, WallQueue, draw_wall,
};

use crate::Model;

/// How many calls the wall keeps (it shows as many as it has rows for).
const KEEP: usize = 12;

/// What the wall knows.
#[derive(Debug)]
pub struct WallModel {
    /// `(seq, call)`, newest first.
    calls: Vec<(u64, WallCall)>,
    /// When the newest call came (it blinks).
    newest_at: Instant,
    started: Instant,
    metrics: Option<Metrics>,
    service_names: BTreeMap<String, String>,
    notice: String,
}

impl Default for WallModel {
    fn default() -> Self {
        WallModel::new()
    }
}

impl WallModel {
    pub fn new() -> WallModel {
        let now = Instant::now();
        WallModel {
            calls: Vec::new(),
            // Calls seeded from states do not blink.
            newest_at: now - std::time::Duration::from_secs(3600),
            started: now,
            metrics: None,
            service_names: BTreeMap::new(),
            notice: String::new(),
        }
    }

    /// What the wall shows now.
    pub fn wall(&self) -> Wall {
        let queues = self.metrics.as_ref().map_or_else(Vec::new, |m| {
            m.services
                .iter()
                .map(|s| WallQueue {
                    service_name: self
                        .service_names
                        .get(&s.service)
                        .cloned()
                        .unwrap_or_else(|| s.service.clone()),
                    waiting: s.waiting,
                })
                .collect()
        });
        Wall {
            calls: self.calls.iter().map(|(_, c)| c.clone()).collect(),
            queues,
            notice: self.notice.clone(),
        }
    }

    /// Puts a call in its place by seq; the same number called again moves
    /// up. Returns whether it is the newest.
    fn insert(&mut self, seq: u64, call: WallCall) -> bool {
        if self
            .calls
            .iter()
            .any(|(s, c)| *s >= seq && c.number == call.number)
        {
            return false;
        }
        self.calls.retain(|(_, c)| c.number != call.number);
        let at = self
            .calls
            .iter()
            .position(|(s, _)| *s < seq)
            .unwrap_or(self.calls.len());
        self.calls.insert(at, (seq, call));
        self.calls.truncate(KEEP);
        at == 0
    }
}

impl Model for WallModel {
    fn topics(&self, hall: &str) -> Vec<String> {
        vec![
            Topic::Calls.to_string(hall),
            topic::filter::window_states(hall),
            Topic::Metrics.to_string(hall),
            Topic::Layout.to_string(hall),
            Topic::Notice.to_string(hall),
        ]
    }

    fn on_message(&mut self, topic: &str, payload: &[u8], now: Instant) -> Result<bool, String> {
        let err = |e: serde_json::Error| e.to_string();
        match Topic::parse(topic).map(|(_, t)| t) {
            Some(Topic::Calls) => {
                let c: Call = serde_json::from_slice(payload).map_err(err)?;
                let call = WallCall {
                    number: c.ticket,
                    window_name: c.window_name,
                };
                if self.insert(c.seq, call) {
                    self.newest_at = now;
                }
                Ok(true)
            }
            Some(Topic::WindowState(_)) => {
                let s: WindowState = serde_json::from_slice(payload).map_err(err)?;
                let Some(t) = &s.ticket else { return Ok(false) };
                if !matches!(s.status, WindowStatus::Calling | WindowStatus::Serving) {
                    return Ok(false);
                }
                let call = WallCall {
                    number: t.number.clone(),
                    window_name: s.name.clone(),
                };
                self.insert(s.seq, call);
                Ok(true)
            }
            Some(Topic::Metrics) => {
                self.metrics = Some(serde_json::from_slice(payload).map_err(err)?);
                Ok(true)
            }
            Some(Topic::Layout) => {
                let l: Layout = serde_json::from_slice(payload).map_err(err)?;
                self.service_names = l
                    .services
                    .into_iter()
                    .map(|s| (s.service, s.name))
                    .collect();
                Ok(true)
            }
            Some(Topic::Notice) => {
                let n: Notice = serde_json::from_slice(payload).map_err(err)?;
                let changed = n.text != self.notice;
                self.notice = n.text;
                Ok(changed)
            }
            _ => Ok(false),
        }
    }

    fn draw<C: LedColor>(
        &self,
        fb: &mut Framebuffer<C>,
        now: Instant,
    ) -> Result<Drawn, RenderError<core::convert::Infallible>> {
        let t = now.saturating_duration_since(self.started).as_millis() as u64;
        let age = now.saturating_duration_since(self.newest_at).as_millis() as u64;
        draw_wall(fb, &self.wall(), t, age)
    }

    fn name(&self) -> String {
        "叫号屏".into()
    }

    fn caption(&self) -> String {
        let w = self.wall();
        format!(
            "LED wall: {} calls, {} services, notice {:?}",
            w.calls.len(),
            w.queues.len(),
            w.notice
        )
    }

    fn ready(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "hallq/v1/h/";

    fn call(seq: u64, number: &str, window_name: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "seq": seq, "ticket": number, "window": "3", "window_name": window_name,
            "service_name": "社保", "recall": false, "at_ms": 0,
        }))
        .unwrap()
    }

    fn numbers(m: &WallModel) -> Vec<String> {
        m.wall().calls.into_iter().map(|c| c.number).collect()
    }

    #[test]
    fn calls_are_kept_newest_first_and_a_recall_moves_up() {
        let mut m = WallModel::new();
        let now = Instant::now();
        let state = r#"{"window":"5","name":"5号窗口","status":"serving","ticket":{"number":"B001"},"waiting":0,"seq":3}"#.as_bytes();
        m.on_message(&format!("{H}window/5/state"), state, now)
            .unwrap();
        assert!(
            now.duration_since(m.newest_at).as_secs() > 60,
            "a seeded call does not blink"
        );
        m.on_message(&format!("{H}calls"), &call(10, "A001", "3号窗口"), now)
            .unwrap();
        assert_eq!(m.newest_at, now);
        m.on_message(&format!("{H}calls"), &call(12, "A002", "4号窗口"), now)
            .unwrap();
        // An older call arriving late goes to its place, not on top.
        m.on_message(&format!("{H}calls"), &call(11, "A009", "6号窗口"), now)
            .unwrap();
        assert_eq!(numbers(&m), ["A002", "A009", "A001", "B001"]);
        m.on_message(&format!("{H}calls"), &call(13, "A001", "3号窗口"), now)
            .unwrap();
        assert_eq!(
            numbers(&m),
            ["A001", "A002", "A009", "B001"],
            "recalled: once, on top"
        );
        for i in 0..20 {
            m.on_message(
                &format!("{H}calls"),
                &call(20 + i, &format!("C{i:03}"), "1号窗口"),
                now,
            )
            .unwrap();
        }
        assert_eq!(m.wall().calls.len(), KEEP);
        assert!(
            m.on_message(&format!("{H}calls"), b"nonsense", now)
                .is_err()
        );
        assert_eq!(m.wall().calls.len(), KEEP);
    }

    #[test]
    fn queues_are_named_from_the_layout_and_the_notice_is_kept() {
        let mut m = WallModel::new();
        let now = Instant::now();
        let metrics = br#"{"seq":1,"at_ms":0,"waiting":4,"services":[{"service":"social","waiting":4,"longest_wait_s":60,"issued_today":9,"windows_open":2}],"windows":[]}"#;
        m.on_message(&format!("{H}metrics"), metrics, now).unwrap();
        assert_eq!(
            m.wall().queues[0].service_name,
            "social",
            "the id until the layout comes"
        );
        let layout = r#"{"hall":"h","name":"H","zones":[],"windows":[],"services":[{"service":"social","name":"社保","prefix":"A"}]}"#.as_bytes();
        m.on_message(&format!("{H}layout"), layout, now).unwrap();
        assert_eq!(m.wall().queues[0].service_name, "社保");
        assert_eq!(m.wall().queues[0].waiting, 4);
        let notice = r#"{"text":"停车场已满","seq":9,"at_ms":0}"#.as_bytes();
        assert_eq!(m.on_message(&format!("{H}notice"), notice, now), Ok(true));
        assert_eq!(m.on_message(&format!("{H}notice"), notice, now), Ok(false));
        assert_eq!(m.wall().notice, "停车场已满");
    }
}
