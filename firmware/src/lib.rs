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
use hallq_render::{RenderError, draw_window};

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
}

/// One window's display.
#[derive(Debug)]
pub struct WindowDisplay<D> {
    panel: D,
    /// The only topic it follows: `hallq/v1/{hall}/window/{win}/state`.
    topic: String,
    shown_seq: Option<u64>,
}

impl<D: DrawTarget<Color = BinaryColor>> WindowDisplay<D> {
    pub fn new(panel: D, hall: &str, window: &str) -> Self {
        WindowDisplay {
            panel,
            topic: Topic::WindowState(window).to_string(hall),
            shown_seq: None,
        }
    }

    /// The topic to subscribe to (retained, QoS 1).
    pub fn topic(&self) -> &str {
        &self.topic
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
                Outcome::Drawn { seq: state.seq }
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
    fn ignores_other_topics_and_garbage() {
        let mut d = WindowDisplay::new(Framebuffer::new(128, 32), "h", "3");
        assert_eq!(
            d.on_message("hallq/v1/h/window/5/state", &state(1, "A001")),
            Outcome::NotMine
        );
        assert_eq!(d.on_message(TOPIC, b"{oops"), Outcome::Rejected);
        assert_eq!(d.panel().lit(), 0);
    }
}
