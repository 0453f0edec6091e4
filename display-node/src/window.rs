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
