//! Who may publish and subscribe what (CONTRACT.md, Security). The embedded
//! broker asks these functions for every publish, subscribe and will; the
//! same rules are what an external broker's ACL must say.

use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::topic::{Topic, filter, filter_covers, prefix};

/// A device's role, bound to its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Pad,
    Display,
    Announcer,
    RatingPad,
    /// A ticket kiosk: takes tickets over HTTP with its credentials; on MQTT
    /// it only says whether it is up.
    Kiosk,
    Manager,
    Server,
}

/// An authenticated client: the device id is its MQTT username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    pub hall: &'a str,
    pub device: &'a str,
    pub role: Role,
    /// The window a pad, rating pad or window display belongs to.
    pub window: Option<&'a str>,
}

impl Identity<'_> {
    /// May this client publish on `topic`? Only on contract topics within
    /// [`Identity::writable`].
    pub fn may_publish(&self, topic: &str) -> bool {
        Topic::parse(topic).is_some_and(|(hall, _)| hall == self.hall)
            && self
                .writable()
                .iter()
                .any(|allowed| filter_covers(allowed, topic))
    }

    /// The filters this client may publish on.
    pub fn writable(&self) -> Vec<alloc::string::String> {
        let h = self.hall;
        let own_status = Topic::DeviceStatus(self.device).to_string(h);
        match (self.role, self.window) {
            (Role::Server, _) => vec![alloc::format!("{}#", prefix(h))],
            (Role::Pad, Some(w)) => vec![own_status, Topic::PadCmd(w).to_string(h)],
            (Role::RatingPad, Some(w)) => vec![own_status, Topic::Rating(w).to_string(h)],
            _ => vec![own_status],
        }
    }

    /// May this client publish `topic` with the retain flag? The server its
    /// state topics, every device its own status; nothing else, above all no
    /// command: a retained command would be applied again by every later
    /// subscriber once its id is forgotten.
    pub fn may_retain(&self, topic: &str) -> bool {
        match self.role {
            Role::Server => self.may_publish(topic),
            _ => Topic::parse(topic) == Some((self.hall, Topic::DeviceStatus(self.device))),
        }
    }

    /// May this client connect with `client_id`? Only an id that is its
    /// device id, alone or followed by a character outside the id rule and
    /// anything after it (`pad-3`, `pad-3.1f2e`, `pad-3|4711`). A session with
    /// the same client id as another replaces it, so without this rule any
    /// device's password could knock another device, or the server, off
    /// the broker.
    pub fn may_use_client_id(&self, client_id: &str) -> bool {
        match client_id.strip_prefix(self.device) {
            Some(rest) => rest.bytes().next().is_none_or(|c| {
                !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
            }),
            None => false,
        }
    }

    /// May this client set `topic` as its will? Only its own status.
    pub fn may_will(&self, topic: &str) -> bool {
        Topic::parse(topic) == Some((self.hall, Topic::DeviceStatus(self.device)))
    }

    /// May this client subscribe to `filter` (wildcards allowed)?
    pub fn may_subscribe(&self, wanted: &str) -> bool {
        self.readable()
            .iter()
            .any(|allowed| filter_covers(allowed, wanted))
    }

    /// The filters this client may read.
    pub fn readable(&self) -> Vec<alloc::string::String> {
        let h = self.hall;
        let own_status = Topic::DeviceStatus(self.device).to_string(h);
        let calls = Topic::Calls.to_string(h);
        let metrics = Topic::Metrics.to_string(h);
        let states = filter::window_states(h);
        let layout = Topic::Layout.to_string(h);
        let heartbeat = Topic::Heartbeat.to_string(h);
        match self.role {
            Role::Server | Role::Manager => vec![alloc::format!("{}#", prefix(h))],
            Role::Pad => {
                let mut v = vec![own_status, calls, states, layout, heartbeat];
                if let Some(w) = self.window {
                    v.push(Topic::PadReply(w).to_string(h));
                }
                v
            }
            Role::Display => vec![
                own_status,
                calls,
                states,
                metrics,
                layout,
                heartbeat,
                Topic::Notice.to_string(h),
            ],
            Role::Announcer => vec![own_status, calls, states, layout, heartbeat],
            Role::RatingPad => match self.window {
                Some(w) => vec![
                    own_status,
                    Topic::WindowState(w).to_string(h),
                    layout,
                    heartbeat,
                ],
                None => vec![own_status, layout, heartbeat],
            },
            // What a kiosk shows (queue lengths) comes over HTTP.
            Role::Kiosk => vec![own_status, metrics, layout, heartbeat],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pad3() -> Identity<'static> {
        Identity {
            hall: "h",
            device: "pad-3",
            role: Role::Pad,
            window: Some("3"),
        }
    }

    #[test]
    fn a_pad_commands_only_its_own_window() {
        let p = pad3();
        assert!(p.may_publish("hallq/v1/h/pad/3/cmd"));
        assert!(!p.may_publish("hallq/v1/h/pad/5/cmd"));
        assert!(!p.may_publish("hallq/v1/other/pad/3/cmd"));
        assert!(!p.may_publish("hallq/v1/h/window/3/state"));
        assert!(!p.may_publish("hallq/v1/h/calls"));
        assert!(!p.may_publish("hallq/v1/h/pad/3/reply"));
        assert!(p.may_publish("hallq/v1/h/device/pad-3/status"));
        assert!(!p.may_publish("hallq/v1/h/device/led-3/status"));
        assert!(!p.may_publish("anything/else"));
    }

    #[test]
    fn only_the_server_publishes_state_calls_and_metrics() {
        for role in [
            Role::Pad,
            Role::Display,
            Role::Announcer,
            Role::RatingPad,
            Role::Manager,
        ] {
            let id = Identity {
                hall: "h",
                device: "d",
                role,
                window: Some("3"),
            };
            for t in [
                "hallq/v1/h/window/3/state",
                "hallq/v1/h/calls",
                "hallq/v1/h/metrics",
                "hallq/v1/h/pad/3/reply",
            ] {
                assert!(!id.may_publish(t), "{role:?} {t}");
            }
        }
        let server = Identity {
            hall: "h",
            device: "hallq",
            role: Role::Server,
            window: None,
        };
        assert!(server.may_publish("hallq/v1/h/window/3/state"));
        assert!(server.may_publish("hallq/v1/h/calls"));
    }

    #[test]
    fn only_the_server_and_a_devices_own_status_are_retained() {
        let p = pad3();
        assert!(!p.may_retain("hallq/v1/h/pad/3/cmd"));
        assert!(p.may_retain("hallq/v1/h/device/pad-3/status"));
        assert!(!p.may_retain("hallq/v1/h/device/pad-5/status"));
        let server = Identity {
            hall: "h",
            device: crate::SERVER_USER,
            role: Role::Server,
            window: None,
        };
        assert!(server.may_retain("hallq/v1/h/window/3/state"));
        assert!(server.may_retain("hallq/v1/h/metrics"));
        assert!(!server.may_retain("hallq/v1/other/metrics"));
    }

    #[test]
    fn a_client_id_must_start_with_the_device_id() {
        let p = pad3();
        for ok in ["pad-3", "pad-3.1f2e", "pad-3|4711", "pad-3:x"] {
            assert!(p.may_use_client_id(ok), "{ok}");
        }
        for bad in [
            "hallq-server.1234",
            "pad-31",
            "pad-3-x",
            "pad-",
            "",
            "mosq-abc",
            "led-3",
        ] {
            assert!(!p.may_use_client_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_will_may_only_be_the_devices_own_status() {
        let p = pad3();
        assert!(p.may_will("hallq/v1/h/device/pad-3/status"));
        assert!(!p.may_will("hallq/v1/h/window/3/state"));
        assert!(!p.may_will("hallq/v1/h/device/pad-5/status"));
        assert!(!p.may_will("hallq/v1/h/pad/3/cmd"));
    }

    #[test]
    fn subscriptions_stay_within_the_role() {
        let p = pad3();
        assert!(p.may_subscribe("hallq/v1/h/pad/3/reply"));
        assert!(!p.may_subscribe("hallq/v1/h/pad/5/reply"));
        assert!(!p.may_subscribe("hallq/v1/h/pad/+/reply"));
        assert!(!p.may_subscribe("hallq/v1/h/#"));
        assert!(!p.may_subscribe("#"));
        assert!(p.may_subscribe("hallq/v1/h/window/+/state"));
        assert!(p.may_subscribe("hallq/v1/h/window/5/state"));
        let d = Identity {
            hall: "h",
            device: "led-3",
            role: Role::Display,
            window: Some("3"),
        };
        assert!(d.may_subscribe("hallq/v1/h/calls"));
        assert!(!d.may_subscribe("hallq/v1/h/pad/+/cmd"));
        let m = Identity {
            hall: "h",
            device: "boss",
            role: Role::Manager,
            window: None,
        };
        assert!(m.may_subscribe("hallq/v1/h/#"));
        assert!(!m.may_subscribe("hallq/v1/other/#"));
    }
}
