//! The hall's layout as data: services (事项), windows with their work
//! profiles, zones and devices. Loaded by the edge (from TOML) and checked
//! here with [`HallConfig::validate`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::id::Id;

/// Everything the rules need to know about one hall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HallConfig {
    pub hall: HallInfo,
    #[serde(default)]
    pub zones: Vec<Zone>,
    pub services: Vec<Service>,
    pub windows: Vec<Window>,
    #[serde(default)]
    pub devices: Vec<Device>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HallInfo {
    /// The `{hall}` in every topic and URL.
    pub id: Id,
    pub name: String,
    /// The hall's local time offset from UTC; the service day (and so ticket
    /// numbering) turns over at local midnight. China: 480.
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
}

fn default_offset() -> i32 {
    480
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub id: Id,
    pub name: String,
}

/// One service (事项类别) with its own queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: Id,
    /// Ticket prefix, one capital letter: `A` gives A001, A002 …
    pub prefix: char,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Typical service time in minutes; the wait estimate starts from it.
    pub typical_min: u32,
    /// Service time limit in minutes (限时办结).
    pub limit_min: u32,
    /// Required materials, told once and in full (一次性告知).
    #[serde(default)]
    pub materials: Vec<String>,
}

/// One counter window and its work profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub id: Id,
    /// Shown on displays and spoken: "3号窗口".
    pub name: String,
    #[serde(default)]
    pub zone: Option<Id>,
    /// The services this window calls, in its order of preference.
    pub serves: Vec<Id>,
    #[serde(default)]
    pub note: String,
}

/// What a device is; it decides what the device may publish and subscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    Pad,
    Display,
    Announcer,
    RatingPad,
    Manager,
    Server,
}

impl DeviceRole {
    /// Roles that belong to one window.
    pub fn needs_window(self) -> bool {
        matches!(self, DeviceRole::Pad | DeviceRole::RatingPad)
    }
}

/// One device's MQTT identity: the username is the device id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    pub id: Id,
    pub role: DeviceRole,
    #[serde(default)]
    pub window: Option<Id>,
    pub password: String,
}

/// A layout mistake, naming the field it is in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Path of the field, e.g. `windows[3].serves`.
    pub field: String,
    /// The offending value, so the edge can point at its line.
    pub value: String,
    pub message: String,
}

impl HallConfig {
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id.as_str() == id)
    }

    pub fn window(&self, id: &str) -> Option<&Window> {
        self.windows.iter().find(|w| w.id.as_str() == id)
    }

    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id.as_str() == id)
    }

    /// Windows that serve a service.
    pub fn windows_serving<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Window> {
        self.windows
            .iter()
            .filter(move |w| w.serves.iter().any(|s| s.as_str() == service))
    }

    /// Checks references and uniqueness; the first mistake found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: String, value: &str, message: &str| ConfigError {
            field,
            value: value.to_owned(),
            message: message.to_owned(),
        };
        if self.services.is_empty() {
            return Err(err("services".into(), "", "at least one service is needed"));
        }
        let mut ids = BTreeSet::new();
        let mut prefixes = BTreeSet::new();
        for (i, s) in self.services.iter().enumerate() {
            if !ids.insert(s.id.as_str()) {
                return Err(err(
                    format!("services[{i}].id"),
                    s.id.as_str(),
                    "duplicate service id",
                ));
            }
            if !s.prefix.is_ascii_uppercase() {
                let p = s.prefix.to_string();
                return Err(err(
                    format!("services[{i}].prefix"),
                    &p,
                    "prefix must be one capital letter A-Z",
                ));
            }
            if !prefixes.insert(s.prefix) {
                let p = s.prefix.to_string();
                return Err(err(
                    format!("services[{i}].prefix"),
                    &p,
                    "prefix already used by another service",
                ));
            }
            if s.limit_min == 0 || s.typical_min == 0 {
                return Err(err(
                    format!("services[{i}].limit_min"),
                    s.id.as_str(),
                    "times must be at least 1 minute",
                ));
            }
        }
        let zones: BTreeSet<&str> = self.zones.iter().map(|z| z.id.as_str()).collect();
        let mut windows = BTreeSet::new();
        for (i, w) in self.windows.iter().enumerate() {
            if !windows.insert(w.id.as_str()) {
                return Err(err(
                    format!("windows[{i}].id"),
                    w.id.as_str(),
                    "duplicate window id",
                ));
            }
            if w.serves.is_empty() {
                return Err(err(
                    format!("windows[{i}].serves"),
                    w.id.as_str(),
                    "a window must serve at least one service",
                ));
            }
            for s in &w.serves {
                if self.service(s.as_str()).is_none() {
                    return Err(err(
                        format!("windows[{i}].serves"),
                        s.as_str(),
                        "unknown service",
                    ));
                }
            }
            if let Some(z) = &w.zone
                && !zones.contains(z.as_str())
            {
                return Err(err(
                    format!("windows[{i}].zone"),
                    z.as_str(),
                    "unknown zone",
                ));
            }
        }
        let mut devices = BTreeSet::new();
        for (i, d) in self.devices.iter().enumerate() {
            if !devices.insert(d.id.as_str()) {
                return Err(err(
                    format!("devices[{i}].id"),
                    d.id.as_str(),
                    "duplicate device id",
                ));
            }
            match &d.window {
                Some(w) if !windows.contains(w.as_str()) => {
                    return Err(err(
                        format!("devices[{i}].window"),
                        w.as_str(),
                        "unknown window",
                    ));
                }
                None if d.role.needs_window() => {
                    return Err(err(
                        format!("devices[{i}].window"),
                        d.id.as_str(),
                        "this role needs a window",
                    ));
                }
                _ => {}
            }
            if d.password.len() < 8 {
                return Err(err(
                    format!("devices[{i}].password"),
                    d.id.as_str(),
                    "password must have at least 8 characters",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small hall used across the core's tests: two services, three windows.
    pub fn small_hall() -> HallConfig {
        toml::from_str(include_str!("../tests/data/small-hall.toml")).unwrap()
    }

    #[test]
    fn small_hall_is_valid() {
        small_hall().validate().unwrap();
    }

    #[test]
    fn unknown_service_in_window_is_named() {
        let mut c = small_hall();
        c.windows[1].serves.push(Id::parse("zz").unwrap());
        let e = c.validate().unwrap_err();
        assert_eq!(e.field, "windows[1].serves");
        assert_eq!(e.value, "zz");
    }

    #[test]
    fn pad_without_window_is_refused() {
        let mut c = small_hall();
        c.devices[0].window = None;
        assert_eq!(c.validate().unwrap_err().field, "devices[0].window");
    }

    #[test]
    fn duplicate_prefix_is_refused() {
        let mut c = small_hall();
        c.services[1].prefix = 'A';
        assert_eq!(c.validate().unwrap_err().field, "services[1].prefix");
    }
}
