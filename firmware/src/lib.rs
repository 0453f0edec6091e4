//! The microcontroller window display, without the board: it takes MQTT
//! messages (topic and payload, from whatever `no_std` MQTT client the board
//! runs, e.g. rust-mqtt or minimq) and redraws the panel, any
//! embedded-graphics [`DrawTarget`] (an LED matrix driver).
//!
//! It shares the wire contract and the renderer with the server side, so a
//! window shows the same thing whether a Linux display-node or this firmware
//! drives it. `no_std` + `alloc`.
#![no_std]

extern crate alloc;

use alloc::string::String;

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use hallq_contract::{Topic, WindowState};
use hallq_render::{RenderError, draw_text, draw_window, offline_text};

/// What became of one incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The panel shows this new state.
    Drawn { seq: u64 },
    /// Older than what is shown (`seq`); ignored.
    Stale,
    /// Not this window's state topic; ignored.
    NotMine,
    /// Could not be read or drawn; the panel keeps what it had.
    Rejected,
    /// The server said it is there (`heartbeat`).
    Heard,
    /// Nothing from the server for too long: the panel shows 离线.
    Offline,
    /// The server is back after an offline spell: the last state again.
    Back,
}

/// Show 离线 after this long without a word from the server (it sends a
/// heartbeat every 5 s).
pub const OFFLINE_AFTER_MS: u64 = 15_000;

/// One window's display.
#[derive(Debug)]
pub struct WindowDisplay<D> {
    panel: D,
    /// The window's state topic, `hallq/v1/{hall}/window/{win}/state`.
    topic: String,
    /// The server's `hallq/v1/{hall}/heartbeat`.
    heartbeat: String,
    shown_seq: Option<u64>,
    /// The last state drawn, to draw again after an offline spell.
    last: Option<WindowState>,
    /// When the server was last heard (the board's monotonic milliseconds).
    heard_ms: u64,
    offline: bool,
    window: String,
}

impl<D: DrawTarget<Color = BinaryColor>> WindowDisplay<D> {
    pub fn new(panel: D, hall: &str, window: &str) -> Self {
        WindowDisplay {
            panel,
            topic: Topic::WindowState(window).to_string(hall),
            heartbeat: Topic::Heartbeat.to_string(hall),
            shown_seq: None,
            last: None,
            heard_ms: 0,
            offline: false,
            window: String::from(window),
        }
    }

    /// The topic to subscribe to (retained, QoS 1).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The server's heartbeat, to subscribe to as well (QoS 0).
    pub fn heartbeat_topic(&self) -> &str {
        &self.heartbeat
    }

    /// Time passed (the board's monotonic clock, milliseconds): after
    /// [`OFFLINE_AFTER_MS`] without a word from the server, the panel shows
    /// 离线 rather than an old ticket.
    pub fn tick(&mut self, now_ms: u64) -> Option<Outcome> {
        if self.offline || now_ms.saturating_sub(self.heard_ms) < OFFLINE_AFTER_MS {
            return None;
        }
        self.offline = true;
        let name = self.last.as_ref().map_or_else(
            || alloc::format!("{}号窗口", self.window),
            |s| s.name.clone(),
        );
        draw_text(&mut self.panel, &offline_text(&name)).ok()?;
        Some(Outcome::Offline)
    }

    /// Handles one received message at `now_ms`.
    pub fn on_message_at(&mut self, topic: &str, payload: &[u8], now_ms: u64) -> Outcome {
        if topic == self.heartbeat {
            self.heard_ms = now_ms;
            if core::mem::take(&mut self.offline)
                && let Some(s) = &self.last
                && draw_window(&mut self.panel, s).is_ok()
            {
                return Outcome::Back;
            }
            return Outcome::Heard;
        }
        let outcome = self.on_message(topic, payload);
        if matches!(outcome, Outcome::Drawn { .. } | Outcome::Stale) {
            self.heard_ms = now_ms;
            self.offline = false;
        }
        outcome
    }

    pub fn panel(&self) -> &D {
        &self.panel
    }

    /// Handles one received message.
    pub fn on_message(&mut self, topic: &str, payload: &[u8]) -> Outcome {
        if topic != self.topic {
            return Outcome::NotMine;
        }
        let Ok(state) = serde_json::from_slice::<WindowState>(payload) else {
            return Outcome::Rejected;
        };
        if self.shown_seq.is_some_and(|s| state.seq < s) {
            return Outcome::Stale;
        }
        match draw_window(&mut self.panel, &state) {
            Ok(()) => {
                self.shown_seq = Some(state.seq);
                let seq = state.seq;
                self.last = Some(state);
                Outcome::Drawn { seq }
            }
            Err(RenderError::GlyphNotFound(_) | RenderError::Display(_)) => Outcome::Rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallq_render::Framebuffer;

    const TOPIC: &str = "hallq/v1/h/window/3/state";

    fn state(seq: u64, number: &str) -> alloc::vec::Vec<u8> {
        alloc::format!(r#"{{"window":"3","name":"3号窗口","status":"calling","ticket":{{"number":"{number}"}},"waiting":1,"seq":{seq}}}"#).into_bytes()
    }

    #[test]
    fn draws_newer_states_and_drops_older_ones() {
        let mut d = WindowDisplay::new(Framebuffer::new(128, 32), "h", "3");
        assert_eq!(d.topic(), TOPIC);
        assert_eq!(
            d.on_message(TOPIC, &state(5, "A001")),
            Outcome::Drawn { seq: 5 }
        );
        let a001 = d.panel().clone();
        assert_eq!(d.on_message(TOPIC, &state(4, "A999")), Outcome::Stale);
        assert_eq!(d.panel(), &a001);
        assert_eq!(
            d.on_message(TOPIC, &state(6, "A002")),
            Outcome::Drawn { seq: 6 }
        );
        assert_ne!(d.panel(), &a001);
    }

    #[test]
    fn silence_shows_offline_and_a_heartbeat_brings_the_ticket_back() {
        let mut d = WindowDisplay::new(Framebuffer::new(128, 32), "h", "3");
        assert_eq!(
            d.on_message_at(TOPIC, &state(5, "A001"), 1_000),
            Outcome::Drawn { seq: 5 }
        );
        let a001 = d.panel().clone();
        let hb = alloc::string::String::from(d.heartbeat_topic());
        assert_eq!(d.on_message_at(&hb, b"{}", 5_000), Outcome::Heard);
        assert_eq!(d.tick(5_000 + OFFLINE_AFTER_MS - 1), None);
        assert_eq!(d.tick(5_000 + OFFLINE_AFTER_MS), Some(Outcome::Offline));
        let mut offline = Framebuffer::new(128, 32);
        draw_text(&mut offline, &offline_text("3号窗口")).unwrap();
        assert_eq!(d.panel(), &offline);
        assert_eq!(d.tick(60_000), None, "said once");
        assert_eq!(d.on_message_at(&hb, b"{}", 61_000), Outcome::Back);
        assert_eq!(d.panel(), &a001);
    }

    #[test]
    fn ignores_other_topics_and_garbage() {
        let mut d = WindowDisplay::new(Framebuffer::new(128, 32), "h", "3");
        assert_eq!(
            d.on_message("hallq/v1/h/window/5/state", &state(1, "A001")),
            Outcome::NotMine
        );
        assert_eq!(d.on_message(TOPIC, b"{oops"), Outcome::Rejected);
        assert_eq!(d.panel().lit(), 0);
        // A good state, then bad ones: the picture stays.
        d.on_message(TOPIC, &state(5, "A001"));
        let good = d.panel().clone();
        let unknown = br#"{"window":"3","name":"3","status":"dancing","waiting":0,"seq":9}"#;
        assert_eq!(d.on_message(TOPIC, unknown), Outcome::Rejected);
        assert_eq!(d.on_message(TOPIC, &[b'{'; 70_000]), Outcome::Rejected);
        assert_eq!(d.on_message(TOPIC, &state(4, "A999")), Outcome::Stale);
        assert_eq!(d.panel(), &good);
    }
}
