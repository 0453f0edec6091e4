//! What the hall sees after a commit: calls first (the voice matters most),
//! then the retained state of every window that changed since it was last
//! published, and the stream's lines.

use hallq_contract::{Call, Topic, WindowState};
use hallq_core::{Event, Record};

use super::{Engine, Outgoing};
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
        let _ = self.sinks.mqtt.send(Outgoing {
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
        let _ = self.sinks.mqtt.send(Outgoing {
            topic: Topic::Notice.to_string(&hall_id),
            payload: serde_json::to_vec(&notice).expect("notice serializes"),
            retain: true,
            qos: 1,
        });
    }

    pub(super) fn publish_states(&mut self) {
        let hall_id = self.hall.config().hall.id.to_string();
        let views = Views {
            hall: &self.hall,
            now: self.now(),
        };
        for v in self.hall.window_views() {
            let state = views.window_state(&v);
            let key = WindowState {
                seq: 0,
                ..state.clone()
            };
            if self.published.get(&state.window) == Some(&key) {
                continue;
            }
            let payload = serde_json::to_vec(&state).expect("state serializes");
            let _ = self.sinks.stream.send(Line::same("window", &state));
            let _ = self.sinks.mqtt.send(Outgoing {
                topic: Topic::WindowState(&state.window).to_string(&hall_id),
                payload,
                retain: true,
                qos: 1,
            });
            self.published.insert(state.window.clone(), key);
        }
    }

    /// After a commit: calls first (the voice matters most), then window states.
    pub(super) fn publish_records(&mut self, records: &[Record]) {
        if records.is_empty() {
            return;
        }
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
                let _ = self.sinks.mqtt.send(Outgoing {
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
        self.publish_states();
    }
}
