//! The microcontroller window display: it takes MQTT messages (topic and
//! payload) and redraws the panel, any embedded-graphics `DrawTarget` (an
//! LED matrix driver), one-colour or RGB; [`net`] is its MQTT client over
//! any `embedded-nal-async` TCP stack, with reconnects and its will.
//!
//! It shares the wire contract and the renderer with the server side, so a
//! window shows the same thing whether a Linux display-node or this firmware
//! drives it. `no_std` + `alloc`.
#![no_std]

extern crate alloc;

pub mod net;

use alloc::string::String;

use embedded_graphics::prelude::*;
use hallq_contract::{Topic, WindowState, WindowStatus};
use hallq_render::{LedColor, RenderError, Sign, draw_sign};

/// What became of one incoming message or tick.
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
    /// The picture moved on (a blink or a scroll step).
    Moved,
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
    /// The last state drawn (its `seq` orders what comes next).
    last: Option<WindowState>,
    /// When the current look began (blinking and scrolling count from it).
    since_ms: u64,
    /// The picture changes with time: draw again on the next tick.
    moving: bool,
    /// When the server was last heard (the board's monotonic milliseconds).
    heard_ms: u64,
    offline: bool,
    window: String,
}

impl<D, C> WindowDisplay<D>
where
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    pub fn new(panel: D, hall: &str, window: &str) -> Self {
        WindowDisplay {
            panel,
            topic: Topic::WindowState(window).to_string(hall),
            heartbeat: Topic::Heartbeat.to_string(hall),
            last: None,
            since_ms: 0,
            moving: false,
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

    pub fn panel(&self) -> &D {
        &self.panel
    }

    /// The window's name, as the last state had it.
    fn name(&self) -> String {
        self.last.as_ref().map_or_else(
            || alloc::format!("{}号窗口", self.window),
            |s| s.name.clone(),
        )
    }

    /// Draws the last state as it is at `now_ms`.
    fn redraw(&mut self, now_ms: u64) -> bool {
        let Some(s) = &self.last else { return false };
        match draw_sign(
            &mut self.panel,
            Sign::State(s),
            now_ms.saturating_sub(self.since_ms),
        ) {
            Ok(d) => {
                self.moving = d.moving;
                true
            }
            Err(_) => false,
        }
    }

    /// Time passed (the board's monotonic clock, milliseconds): after
    /// [`OFFLINE_AFTER_MS`] without a word from the server the panel shows
    /// 离线 rather than an old ticket; a blinking or scrolling picture
    /// moves on. Call it every few tens of milliseconds.
    pub fn tick(&mut self, now_ms: u64) -> Option<Outcome> {
        if !self.offline && now_ms.saturating_sub(self.heard_ms) >= OFFLINE_AFTER_MS {
            self.offline = true;
            self.moving = false;
            let name = self.name();
            draw_sign(&mut self.panel, Sign::Offline { window_name: &name }, 0).ok()?;
            return Some(Outcome::Offline);
        }
        if self.moving && !self.offline && self.redraw(now_ms) {
            return Some(Outcome::Moved);
        }
        None
    }

    /// Handles one received message at `now_ms`.
    pub fn on_message_at(&mut self, topic: &str, payload: &[u8], now_ms: u64) -> Outcome {
        if topic == self.heartbeat {
            self.heard_ms = now_ms;
            if core::mem::take(&mut self.offline) && self.redraw(now_ms) {
                return Outcome::Back;
            }
            return Outcome::Heard;
        }
        if topic != self.topic {
            return Outcome::NotMine;
        }
        let Ok(state) = serde_json::from_slice::<WindowState>(payload) else {
            return Outcome::Rejected;
        };
        if self.last.as_ref().is_some_and(|s| state.seq < s.seq) {
            self.heard_ms = now_ms;
            self.offline = false;
            return Outcome::Stale;
        }
        // A new look starts with a new status or ticket, and with every
        // newer call (a recall blinks again).
        let new_look = self.last.as_ref().is_none_or(|old| {
            old.status != state.status
                || old.ticket.as_ref().map(|t| &t.number)
                    != state.ticket.as_ref().map(|t| &t.number)
                || (state.status == WindowStatus::Calling && state.seq > old.seq)
        });
        let since = if new_look { now_ms } else { self.since_ms };
        match draw_sign(
            &mut self.panel,
            Sign::State(&state),
            now_ms.saturating_sub(since),
        ) {
            Ok(d) => {
                self.heard_ms = now_ms;
                self.offline = false;
                self.since_ms = since;
                self.moving = d.moving;
                let seq = state.seq;
                self.last = Some(state);
                Outcome::Drawn { seq }
            }
            Err(RenderError::GlyphNotFound(_) | RenderError::Display(_)) => {
                // The panel was cleared for the failed picture: put the
                // last good one back.
                self.redraw(now_ms);
                Outcome::Rejected
            }
        }
    }

    /// Handles one received message, the clock standing at 0.
    pub fn on_message(&mut self, topic: &str, payload: &[u8]) -> Outcome {
        self.on_message_at(topic, payload, self.heard_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::pixelcolor::BinaryColor;
    use hallq_render::Framebuffer;

    const TOPIC: &str = "hallq/v1/h/window/3/state";

    fn state(seq: u64, number: &str) -> alloc::vec::Vec<u8> {
        alloc::format!(r#"{{"window":"3","name":"3号窗口","status":"calling","ticket":{{"number":"{number}"}},"waiting":1,"seq":{seq}}}"#).into_bytes()
    }

    #[test]
    fn draws_newer_states_and_drops_older_ones() {
        let mut d = WindowDisplay::new(Framebuffer::<BinaryColor>::new(128, 32), "h", "3");
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
        let mut d = WindowDisplay::new(Framebuffer::<BinaryColor>::new(128, 32), "h", "3");
        assert_eq!(
            d.on_message_at(TOPIC, &state(5, "A001"), 1_000),
            Outcome::Drawn { seq: 5 }
        );
        let a001 = d.panel().clone();
        // The new call blinks: dark at 450 ms, lit and still after BLINK_MS.
        assert_eq!(d.tick(1_450), Some(Outcome::Moved));
        assert_ne!(d.panel(), &a001);
        assert_eq!(d.tick(1_000 + hallq_render::BLINK_MS), Some(Outcome::Moved));
        assert_eq!(d.panel(), &a001);
        assert_eq!(d.tick(5_040), None, "nothing moves any more");
        let hb = alloc::string::String::from(d.heartbeat_topic());
        assert_eq!(d.on_message_at(&hb, b"{}", 5_000), Outcome::Heard);
        assert_eq!(d.tick(5_000 + OFFLINE_AFTER_MS - 1), None);
        assert_eq!(d.tick(5_000 + OFFLINE_AFTER_MS), Some(Outcome::Offline));
        let mut offline: Framebuffer = Framebuffer::new(128, 32);
        draw_sign(
            &mut offline,
            Sign::Offline {
                window_name: "3号窗口",
            },
            0,
        )
        .unwrap();
        assert_eq!(d.panel(), &offline);
        assert_eq!(d.tick(60_000), None, "said once");
        assert_eq!(d.on_message_at(&hb, b"{}", 61_000), Outcome::Back);
        assert_eq!(d.panel(), &a001);
    }

    #[test]
    fn ignores_other_topics_and_garbage() {
        let mut d = WindowDisplay::new(Framebuffer::<BinaryColor>::new(128, 32), "h", "3");
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
