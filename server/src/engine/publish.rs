//! What the hall sees after a commit: the retained state of every window
//! that changed since it was last published, then calls, and the stream's
//! lines. Everything of one batch goes to the broker together (see
//! `Engine::flush`).

use hallq_contract::{Call, Topic, WindowState};
use hallq_core::{Event, Record};

use super::{Engine, Outgoing};

/// How late a window state may be when only its queue counts changed: a
/// ticket issued changes the counts of every window serving its service,
/// and a busy hall would otherwise resend every such window's state to all
/// its displays for every ticket.
pub const COUNTS_EVERY_MS: hallq_core::Millis = 500;

/// Whether two states differ in their queue counts only.
fn same_but_counts(a: &WindowState, b: &WindowState) -> bool {
    // Field by field, without copies: this runs for every window after
    // every commit. A new field of `WindowState` must be added here.
    let WindowState {
        window,
        name,
        status,
        ticket,
        waiting: _,
        seq: _,
        clerk,
        pause_reason,
        held,
        queues: _,
        clerk_today: _,
    } = a;
    *window == b.window
        && *name == b.name
        && *status == b.status
        && *ticket == b.ticket
        && *clerk == b.clerk
        && *pause_reason == b.pause_reason
        && *held == b.held
}
use crate::stream::{Line, event_line};
use crate::views::Views;

impl Engine {
    /// Publishes the state of every window that changed since last published.
    /// The hall's layout (retained): with the first publication and after
    /// every broker reconnect, like the window states.
    pub(super) fn publish_layout(&mut self) {
        let hall_id = self.hall.config().hall.id.to_string();
        let layout = Views {
            hall: &self.hall,
            now: self.now(),
        }
        .layout();
        self.outbox.push(Outgoing {
            topic: Topic::Layout.to_string(&hall_id),
            payload: serde_json::to_vec(&layout).expect("layout serializes"),
            retain: true,
            qos: 1,
        });
    }

    /// The manager's notice (retained): with the layout, and after a change.
    pub(super) fn publish_notice(&mut self) {
        let hall_id = self.hall.config().hall.id.to_string();
        let notice = Views {
            hall: &self.hall,
            now: self.now(),
        }
        .notice();
        self.outbox.push(Outgoing {
            topic: Topic::Notice.to_string(&hall_id),
            payload: serde_json::to_vec(&notice).expect("notice serializes"),
            retain: true,
            qos: 1,
        });
    }

    /// Publishes the state of every window that changed since last
    /// published — at once when what it shows changed (status, ticket,
    /// clerk, held numbers), within [`COUNTS_EVERY_MS`] when only its queue
    /// counts did (see `docs/contract.md`).
    pub(super) fn publish_states(&mut self) {
        self.publish_window_states(false);
    }

    /// Publishes the count-only changes held back, when their time came.
    pub(super) fn publish_counts_if_due(&mut self) {
        if self.counts_due.is_some_and(|due| self.now() >= due) {
            self.counts_due = None;
            self.publish_window_states(true);
        }
    }

    fn publish_window_states(&mut self, counts_too: bool) {
        let hall_id = self.hall.config().hall.id.to_string();
        let now = self.now();
        let views = Views {
            hall: &self.hall,
            now,
        };
        for v in self.hall.window_views() {
            let shown = views.window_shown(&v);
            // What a sign shows is cheap to make; the counts (the clerk's
            // day reads today's tickets) only when it is published.
            if !counts_too
                && let Some(last) = self.published.get(&shown.window)
                && same_but_counts(last, &shown)
            {
                self.counts_due.get_or_insert(now + COUNTS_EVERY_MS);
                continue;
            }
            let state = views.with_counts(shown, &v);
            let key = WindowState {
                seq: 0,
                ..state.clone()
            };
            if self.published.get(&state.window) == Some(&key) {
                continue;
            }
            let payload = serde_json::to_string(&state).expect("state serializes");
            let _ = self
                .sinks
                .stream
                .send(Line::keyed("window", &state.window, &payload));
            let payload = payload.into_bytes();
            self.outbox.push(Outgoing {
                topic: Topic::WindowState(&state.window).to_string(&hall_id),
                payload,
                retain: true,
                // Retained, each replacing the last: a device that was
                // away gets the newest on subscribing; no acknowledgements
                // from hundreds of displays (docs/contract.md).
                qos: 0,
            });
            self.published.insert(state.window.clone(), key);
        }
    }

    /// After a commit: window states first (the sign above the window the
    /// clerk pressed for), then calls (the voice), then the notice.
    pub(super) fn publish_records(&mut self, records: &[Record]) {
        if records.is_empty() {
            return;
        }
        // The windows' signs first: what the clerk pressed for shows at once.
        self.publish_states();
        let cfg = self.hall.config();
        let hall_id = cfg.hall.id.to_string();
        for r in records {
            let _ = self.sinks.stream.send(event_line(&self.hall, r));
            if let Event::TicketCalled {
                ticket,
                window,
                recall,
                ..
            } = &r.event
            {
                let t = self.hall.ticket(*ticket).expect("called ticket exists");
                let call = Call {
                    seq: r.seq,
                    ticket: t.number.clone(),
                    window: window.to_string(),
                    window_name: cfg
                        .window(window.as_str())
                        .map(|w| w.name.clone())
                        .unwrap_or_default(),
                    service_name: cfg
                        .service(t.service.as_str())
                        .map(|s| s.name.clone())
                        .unwrap_or_default(),
                    recall: *recall,
                    at_ms: r.at_ms,
                };
                let _ = self.sinks.stream.send(Line::same("call", &call));
                self.outbox.push(Outgoing {
                    topic: Topic::Calls.to_string(&hall_id),
                    payload: serde_json::to_vec(&call).expect("call serializes"),
                    retain: false,
                    qos: 1,
                });
            }
        }
        if records
            .iter()
            .any(|r| matches!(r.event, Event::NoticeSet { .. }))
        {
            self.publish_notice();
        }
    }
}
