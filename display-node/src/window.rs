//! A window's sign: follows `window/{win}/state`.

use std::time::Instant;

use hallq_contract::{Topic, WindowState, WindowStatus};
use hallq_render::{Drawn, Framebuffer, LedColor, RenderError, Sign, draw_sign};

use crate::Model;

/// One window's sign: the newest state (by `seq`) and when its look began.
#[derive(Debug)]
pub struct WindowModel {
    window: String,
    state: Option<WindowState>,
    /// When the current look began (blinking and scrolling count from it).
    since: Instant,
}

impl WindowModel {
    pub fn new(window: impl Into<String>) -> WindowModel {
        WindowModel {
            window: window.into(),
            state: None,
            since: Instant::now(),
        }
    }

    /// The state shown, if any.
    pub fn state(&self) -> Option<&WindowState> {
        self.state.as_ref()
    }
}

impl Model for WindowModel {
    fn topics(&self, hall: &str) -> Vec<String> {
        vec![Topic::WindowState(&self.window).to_string(hall)]
    }

    fn on_message(&mut self, _topic: &str, payload: &[u8], now: Instant) -> Result<bool, String> {
        let state: WindowState = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if let Some(old) = &self.state {
            if state.seq < old.seq {
                return Ok(false);
            }
            // A new look starts with a new status or ticket, and with every
            // newer call (a recall blinks again).
            let same = old.status == state.status
                && old.ticket.as_ref().map(|t| &t.number)
                    == state.ticket.as_ref().map(|t| &t.number);
            let recall = state.status == WindowStatus::Calling && state.seq > old.seq;
            if !same || recall {
                self.since = now;
            }
        } else {
            self.since = now;
        }
        // Check it can be drawn before taking it: a glyph the fonts lack
        // keeps the last good picture.
        let mut probe = Framebuffer::<embedded_graphics::pixelcolor::BinaryColor>::new(64, 32);
        draw_sign(&mut probe, Sign::State(&state), 0).map_err(|e| format!("cannot draw: {e:?}"))?;
        self.state = Some(state);
        Ok(true)
    }

    fn draw<C: LedColor>(
        &self,
        fb: &mut Framebuffer<C>,
        now: Instant,
    ) -> Result<Drawn, RenderError<core::convert::Infallible>> {
        let age = now.saturating_duration_since(self.since).as_millis() as u64;
        match &self.state {
            Some(s) => draw_sign(fb, Sign::State(s), age),
            None => draw_sign(
                fb,
                Sign::Offline {
                    window_name: &self.name(),
                },
                0,
            ),
        }
    }

    fn name(&self) -> String {
        self.state
            .as_ref()
            .map_or_else(|| format!("{}号窗口", self.window), |s| s.name.clone())
    }

    fn caption(&self) -> String {
        match &self.state {
            Some(s) => format!("{} seq={} status={}", s.name, s.seq, s.status.as_str()),
            None => format!("window {}: no state yet", self.window),
        }
    }

    fn ready(&self) -> bool {
        self.state.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn state(seq: u64, status: &str, number: Option<&str>, name: &str) -> Vec<u8> {
        let ticket = number.map(|n| serde_json::json!({ "number": n }));
        serde_json::to_vec(&serde_json::json!({
            "window": "3", "name": name, "status": status, "ticket": ticket,
            "waiting": 0, "seq": seq,
        }))
        .unwrap()
    }

    #[test]
    fn bad_and_old_messages_keep_the_picture() {
        let mut m = WindowModel::new("3");
        let t0 = Instant::now();
        assert_eq!(
            m.on_message("", &state(5, "calling", Some("A001"), "3号窗口"), t0),
            Ok(true)
        );
        for bad in [
            b"{oops".to_vec(),
            vec![b'{'; 70_000],
            state(9, "dancing", None, "3号窗口"),
            state(9, "idle", None, "😀窗口"),
        ] {
            assert!(m.on_message("", &bad, t0).is_err());
        }
        assert_eq!(
            m.on_message("", &state(4, "idle", None, "3号窗口"), t0),
            Ok(false),
            "older"
        );
        assert_eq!(m.state().unwrap().seq, 5);
    }

    /// Blinking counts from a new call, and from a recall of the same one;
    /// a state that changes nothing visible does not start it again.
    #[test]
    fn a_new_call_and_a_recall_blink_again() {
        let mut m = WindowModel::new("3");
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(10);
        m.on_message("", &state(5, "calling", Some("A001"), "3号窗口"), t0)
            .unwrap();
        assert_eq!(m.since, t0);
        m.on_message("", &state(6, "calling", Some("A001"), "3号窗口"), later)
            .unwrap();
        assert_eq!(m.since, later, "a recall");
        let serving = t0 + Duration::from_secs(20);
        m.on_message("", &state(7, "serving", Some("A001"), "3号窗口"), serving)
            .unwrap();
        m.on_message(
            "",
            &state(8, "serving", Some("A001"), "3号窗口"),
            serving + Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(m.since, serving, "nothing visible changed");
    }
}
