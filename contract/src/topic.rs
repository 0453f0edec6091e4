//! Topics: `hallq/v1/{hall}/…`, built and parsed in one place.

use alloc::format;
use alloc::string::String;

use crate::valid_id;

/// A contract topic after `hallq/v1/{hall}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic<'a> {
    /// `pad/{win}/cmd`: call pad → server.
    PadCmd(&'a str),
    /// `pad/{win}/reply`: server → call pad.
    PadReply(&'a str),
    /// `window/{win}/state`: server → displays and pads, retained.
    WindowState(&'a str),
    /// `calls`: server → announcers and hall screens.
    Calls,
    /// `metrics`: server → dashboards, retained.
    Metrics,
    /// `device/{dev}/status`: a device's own status (its will), retained.
    DeviceStatus(&'a str),
    /// `rating/{win}`: rating pad → server.
    Rating(&'a str),
    /// `layout`: server → devices, retained: the hall's windows, zones and
    /// services, so a device can learn names and zones without the hall file.
    Layout,
    /// `heartbeat`: server → devices, every few seconds: a device that hears
    /// nothing from the server for a while shows itself offline.
    Heartbeat,
    /// `notice`: server → hall screens, retained: the manager's notice
    /// (the LED wall's scrolling line).
    Notice,
    /// `digest`: server → supervisors' systems, retained: the newest
    /// signed digest of the hall's log (one per service day).
    Digest,
}

impl<'a> Topic<'a> {
    /// The full topic string for a hall.
    pub fn to_string(&self, hall: &str) -> String {
        let p = prefix(hall);
        match self {
            Topic::PadCmd(w) => format!("{p}pad/{w}/cmd"),
            Topic::PadReply(w) => format!("{p}pad/{w}/reply"),
            Topic::WindowState(w) => format!("{p}window/{w}/state"),
            Topic::Calls => format!("{p}calls"),
            Topic::Metrics => format!("{p}metrics"),
            Topic::DeviceStatus(d) => format!("{p}device/{d}/status"),
            Topic::Rating(w) => format!("{p}rating/{w}"),
            Topic::Layout => format!("{p}layout"),
            Topic::Heartbeat => format!("{p}heartbeat"),
            Topic::Notice => format!("{p}notice"),
            Topic::Digest => format!("{p}digest"),
        }
    }

    /// Parses a full topic: `(hall, topic)`, or `None` when it is not a
    /// contract topic or an id in it breaks the id rule.
    pub fn parse(full: &'a str) -> Option<(&'a str, Topic<'a>)> {
        let rest = full.strip_prefix("hallq/v1/")?;
        let (hall, rest) = rest.split_once('/')?;
        if !valid_id(hall) {
            return None;
        }
        let mut parts = rest.split('/');
        let a = parts.next()?;
        let b = parts.next();
        let c = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let topic = match (a, b, c) {
            ("pad", Some(w), Some("cmd")) => Topic::PadCmd(w),
            ("pad", Some(w), Some("reply")) => Topic::PadReply(w),
            ("window", Some(w), Some("state")) => Topic::WindowState(w),
            ("calls", None, None) => Topic::Calls,
            ("metrics", None, None) => Topic::Metrics,
            ("layout", None, None) => Topic::Layout,
            ("heartbeat", None, None) => Topic::Heartbeat,
            ("notice", None, None) => Topic::Notice,
            ("digest", None, None) => Topic::Digest,
            ("device", Some(d), Some("status")) => Topic::DeviceStatus(d),
            ("rating", Some(w), None) => Topic::Rating(w),
            _ => return None,
        };
        match topic {
            Topic::PadCmd(id)
            | Topic::PadReply(id)
            | Topic::WindowState(id)
            | Topic::DeviceStatus(id)
            | Topic::Rating(id)
                if !valid_id(id) =>
            {
                None
            }
            t => Some((hall, t)),
        }
    }
}

/// `hallq/v1/{hall}/`.
pub fn prefix(hall: &str) -> String {
    format!("hallq/v1/{hall}/")
}

/// Subscription filters the server and devices use.
pub mod filter {
    use super::*;

    /// Every pad's commands.
    pub fn pad_cmds(hall: &str) -> String {
        format!("{}pad/+/cmd", prefix(hall))
    }
    /// Every rating pad.
    pub fn ratings(hall: &str) -> String {
        format!("{}rating/+", prefix(hall))
    }
    /// Every device's status.
    pub fn device_statuses(hall: &str) -> String {
        format!("{}device/+/status", prefix(hall))
    }
    /// Every window's state (the hall's LED wall).
    pub fn window_states(hall: &str) -> String {
        format!("{}window/+/state", prefix(hall))
    }
    /// All of a hall.
    pub fn all(hall: &str) -> String {
        format!("{}#", prefix(hall))
    }
}

/// Whether every topic matched by filter `inner` is also matched by filter
/// `outer` (MQTT wildcards `+` and `#`). A topic name is a filter without
/// wildcards, so this also answers "does `outer` match this topic".
pub fn filter_covers(outer: &str, inner: &str) -> bool {
    let mut o = outer.split('/');
    let mut i = inner.split('/');
    loop {
        match (o.next(), i.next()) {
            (Some("#"), _) => return true,
            (Some(_), Some("#")) => return false,
            (Some("+"), Some(_)) => {}
            (Some(_), Some("+")) => return false,
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for t in [
            Topic::PadCmd("3"),
            Topic::PadReply("3"),
            Topic::WindowState("12"),
            Topic::Calls,
            Topic::Metrics,
            Topic::DeviceStatus("led-3"),
            Topic::Rating("3"),
            Topic::Layout,
            Topic::Heartbeat,
            Topic::Notice,
        ] {
            let s = t.to_string("xuchang");
            assert_eq!(Topic::parse(&s), Some(("xuchang", t)), "{s}");
        }
        assert_eq!(Topic::PadCmd("3").to_string("h"), "hallq/v1/h/pad/3/cmd");
    }

    #[test]
    fn refuses_foreign_topics() {
        for s in [
            "hallq/v2/h/calls",
            "hallq/v1/H/calls",
            "hallq/v1/h/pad/3/cmd/x",
            "hallq/v1/h/pad/+/cmd",
            "hallq/v1/h/pad//cmd",
            "hallq/v1/h/window/3",
            "other/h/calls",
        ] {
            assert_eq!(Topic::parse(s), None, "{s}");
        }
    }

    #[test]
    fn filters_cover() {
        assert!(filter_covers("a/+/c", "a/b/c"));
        assert!(filter_covers("a/#", "a/b/c"));
        assert!(filter_covers("a/#", "a/+/c"));
        assert!(filter_covers("a/+/c", "a/+/c"));
        assert!(!filter_covers("a/+/c", "a/#"));
        assert!(!filter_covers("a/b/c", "a/+/c"));
        assert!(!filter_covers("a/b", "a/b/c"));
        assert!(!filter_covers("a/b/c", "a/b"));
        assert!(filter_covers("#", "x"));
    }
}
