//! The hall's layout as data: services (事项), windows with their work
//! profiles, zones and devices. Loaded by the edge (from TOML) and checked
//! here with [`HallConfig::validate`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::calendar::{Hours, WeekHours};
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
    /// The clerks who may open a window, with their PINs (hashed). Empty:
    /// a window opens with any clerk id, or none.
    #[serde(default)]
    pub staff: Vec<Staff>,
    /// Priority classes, highest precedence first. Tickets without a class
    /// come after all of them; FIFO within a class.
    #[serde(default)]
    pub classes: Vec<PriorityClass>,
    #[serde(default)]
    pub rules: Rules,
    /// Opening hours; without them the hall is always open.
    #[serde(default)]
    pub hours: Option<Hours>,
    #[serde(default)]
    pub booking: BookingRules,
    /// Notifications to the hall's SMS or WeChat gateway (webhook).
    #[serde(default)]
    pub notify: Option<Notify>,
    /// The rebalancing advisor ([`crate::advice`]): advice only, or
    /// applied by itself within these bounds.
    #[serde(default)]
    pub advisor: AdvisorConfig,
    /// The back-office departments that decide cases (审批部门).
    #[serde(default)]
    pub departments: Vec<Department>,
    /// `[cases]`: cases after the counter (受理 → 审批 → 出件).
    #[serde(default)]
    pub cases: CaseRules,
}

/// A department that decides the cases of its services (后台分类审批).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub id: Id,
    pub name: String,
}

/// `[cases]`: where results are handed out (一个窗口出件) and when a case
/// gets its yellow card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaseRules {
    /// The service of pick-up tickets (统一出件); none: results are only
    /// sent by post or handed out without a ticket.
    pub service: Option<Id>,
    /// The class a pick-up ticket taken with a case code gets, so it goes
    /// before ordinary pick-up tickets.
    pub class: Option<Id>,
    /// The window the citizen is sent to ("请到 11 号窗口取件"); none: the
    /// first window serving `service`.
    pub window: Option<Id>,
    /// A yellow card once a case has used this share of its working days.
    pub yellow_percent: u32,
}

impl Default for CaseRules {
    fn default() -> CaseRules {
        CaseRules {
            service: None,
            class: None,
            window: None,
            yellow_percent: 80,
        }
    }
}

/// `[advisor]`: whether the advisor's changes are made without the
/// manager, and how many.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdvisorConfig {
    /// Make the advised changes (as `advisor`, in the log); otherwise they
    /// are only shown on the dashboard.
    pub auto: bool,
    /// At most this many changes in any hour.
    pub changes_per_hour: u32,
    /// A window the advisor changed is left alone this long.
    pub rest_min: u32,
    /// Services a window keeps at most (a clerk's three).
    pub max_services: usize,
}

impl Default for AdvisorConfig {
    fn default() -> AdvisorConfig {
        AdvisorConfig {
            auto: false,
            changes_per_hour: 4,
            rest_min: 30,
            max_services: 3,
        }
    }
}

/// Where hallq tells a citizen's gateway that a ticket is near its turn,
/// called or transferred: a signed JSON POST (HMAC-SHA256).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// `http://host:port/path` of the gateway.
    pub url: String,
    /// The shared secret the signature is made with.
    pub secret: String,
    /// Tell a waiting ticket when this many are ahead of it (or fewer).
    #[serde(default = "default_places_before")]
    pub places_before: u32,
}

fn default_places_before() -> u32 {
    3
}

/// A priority class (elderly, disabled, military, booking …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityClass {
    pub id: Id,
    pub name: String,
    /// Only a booking check-in gives this class; a kiosk cannot ask for it.
    #[serde(default)]
    pub booking_only: bool,
}

/// What happens to a called ticket whose citizen does not come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoShowPolicy {
    /// The ticket ends as a no-show.
    Drop,
    /// Once, the ticket goes back into the queue `no_show_put_back_places`
    /// places from the front; the second time it ends.
    PutBack,
}

/// The hall's counter and supervision rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Recalls allowed per ticket.
    pub recall_limit: u32,
    /// Seconds between two calls of the same ticket.
    pub recall_interval_s: u32,
    pub no_show: NoShowPolicy,
    pub no_show_put_back_places: u32,
    /// Keep waiting tickets (and their numbering) overnight instead of
    /// expiring them and restarting at 001.
    pub carry_over: bool,
    /// Waiting time that gives a yellow card (电子监察), minutes.
    pub wait_yellow_min: u32,
    /// Waiting time that gives a red card, minutes.
    pub wait_red_min: u32,
    /// Share of a service's time limit, in percent, that gives a yellow card
    /// while serving; past the limit a red card.
    pub service_warn_percent: u32,
    /// Tickets one ID number may take per day (against ticket touts); 0: no limit.
    pub ticket_quota_per_id: u32,
    /// Reasons a clerk picks from when pausing (a pad may still type one).
    pub pause_reasons: Vec<String>,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            recall_limit: 3,
            recall_interval_s: 10,
            no_show: NoShowPolicy::Drop,
            no_show_put_back_places: 3,
            carry_over: false,
            wait_yellow_min: 30,
            wait_red_min: 60,
            service_warn_percent: 80,
            ticket_quota_per_id: 5,
            pause_reasons: Vec::new(),
        }
    }
}

/// Bookings (网上预约) and the credit rule (信用).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookingRules {
    /// Length of a booking slot, minutes; slots start at multiples of it
    /// after midnight.
    pub slot_min: u32,
    /// Bookings per service and slot.
    pub per_slot: u32,
    /// How many days ahead one can book.
    pub horizon_days: u32,
    /// Check-in opens this many minutes before the slot.
    pub early_min: u32,
    /// Check-in up to this many minutes after the slot's start keeps the
    /// booking class; later, the ticket is an ordinary one.
    pub late_grace_min: u32,
    /// The class a checked-in booking gets.
    pub class: Option<Id>,
    /// No-shows (bookings missed, tickets not answered) that stop booking…
    pub no_show_limit: u32,
    /// …when they fall within this many days…
    pub no_show_days: u32,
    /// …for this many days after the last one.
    pub ban_days: u32,
}

impl Default for BookingRules {
    fn default() -> BookingRules {
        BookingRules {
            slot_min: 30,
            per_slot: 4,
            horizon_days: 7,
            early_min: 30,
            late_grace_min: 15,
            class: None,
            no_show_limit: 3,
            no_show_days: 30,
            ban_days: 30,
        }
    }
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
    /// Where citizens' phones reach the hall's pages (the printed ticket's
    /// QR code), e.g. `https://dating.example.gov.cn`; by default the
    /// address the kiosk itself uses.
    #[serde(default)]
    pub public_url: Option<String>,
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
    /// Tickets per day; 0: no cap.
    #[serde(default)]
    pub daily_cap: u32,
    /// The service's own weekly hours, replacing the hall's (e.g. Saturday
    /// mornings only for some services).
    #[serde(default)]
    pub hours: Option<WeekHours>,
    /// The legal time limit of a case of this service, in working days
    /// (承诺件); 0: decided at the counter (即办件), no case is opened.
    #[serde(default)]
    pub limit_days: u32,
    /// A case not decided within its limit counts as approved (超时默许).
    #[serde(default)]
    pub deemed_approval: bool,
    /// The department that decides its cases.
    #[serde(default)]
    pub department: Option<Id>,
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
    /// How it chooses among them.
    #[serde(default)]
    pub policy: Policy,
    /// With `weighted`: calls per round for each service of `serves`
    /// (e.g. `[2, 1]`: two of the first for one of the second).
    #[serde(default)]
    pub weights: Vec<u32>,
    #[serde(default)]
    pub note: String,
}

/// A window's work profile policy. Priority classes always come first; the
/// policy chooses among services for tickets of the same class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// The ticket that has waited longest, whatever its service.
    #[default]
    LongestWait,
    /// The first service in `serves` that has anyone waiting.
    Strict,
    /// Services in proportion to `weights`.
    Weighted,
}

/// What a device is; it decides what the device may publish and subscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    Pad,
    Display,
    Announcer,
    RatingPad,
    /// A ticket kiosk: issues tickets over HTTP with its credentials (not
    /// held to the public rate limit).
    Kiosk,
    Manager,
    /// An approval system that pushes case changes over HTTP (no MQTT).
    Approval,
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
    /// A kiosk's ticket printer: `/dev/usb/lp0`, `tcp:HOST:9100` or
    /// `file:PATH`.
    #[serde(default)]
    pub printer: Option<String>,
    /// The printer's paper: 58 (default) or 80 mm.
    #[serde(default)]
    pub paper_mm: Option<u32>,
}

/// A clerk who may open a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    /// The clerk id that goes with every event of their session (报表).
    pub id: String,
    pub name: String,
    /// The PIN's Argon2 hash (`hallq hash-pin` makes one); never the PIN.
    pub pin_hash: String,
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

    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.id.as_str() == id)
    }

    /// The window results are handed out at: `[cases] window`, else the
    /// first window serving the pick-up service.
    pub fn pickup_window(&self) -> Option<&Window> {
        let service = self.cases.service.as_ref()?;
        match &self.cases.window {
            Some(w) => self.window(w.as_str()),
            None => self.windows.iter().find(|w| w.serves.contains(service)),
        }
    }

    /// The precedence rank of a class: 0 is first; no class comes last.
    pub fn rank(&self, class: Option<&Id>) -> usize {
        class
            .and_then(|c| self.classes.iter().position(|k| &k.id == c))
            .unwrap_or(self.classes.len())
    }

    pub fn class(&self, id: &str) -> Option<&PriorityClass> {
        self.classes.iter().find(|c| c.id.as_str() == id)
    }

    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id.as_str() == id)
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
        let departments: BTreeSet<&str> = self.departments.iter().map(|d| d.id.as_str()).collect();
        if departments.len() != self.departments.len() {
            return Err(err("departments".into(), "", "duplicate department id"));
        }
        for (i, s) in self.services.iter().enumerate() {
            if let Some(d) = &s.department
                && !departments.contains(d.as_str())
            {
                return Err(err(
                    format!("services[{i}].department"),
                    d.as_str(),
                    "unknown department",
                ));
            }
        }
        let mut classes = BTreeSet::new();
        for (i, c) in self.classes.iter().enumerate() {
            if !classes.insert(c.id.as_str()) {
                return Err(err(
                    format!("classes[{i}].id"),
                    c.id.as_str(),
                    "duplicate class id",
                ));
            }
        }
        if let Some(c) = &self.booking.class
            && !classes.contains(c.as_str())
        {
            return Err(err(
                "booking.class".into(),
                c.as_str(),
                "unknown priority class",
            ));
        }
        if let Some(c) = &self.cases.class
            && !classes.contains(c.as_str())
        {
            return Err(err(
                "cases.class".into(),
                c.as_str(),
                "unknown priority class",
            ));
        }
        if let Some(s) = &self.cases.service
            && !ids.contains(s.as_str())
        {
            return Err(err("cases.service".into(), s.as_str(), "unknown service"));
        }
        if !(1..=100).contains(&self.cases.yellow_percent) {
            let v = self.cases.yellow_percent.to_string();
            return Err(err(
                "cases.yellow_percent".into(),
                &v,
                "a share of the limit, 1 to 100",
            ));
        }
        if self.booking.slot_min == 0 || 24 * 60 % self.booking.slot_min != 0 {
            let v = self.booking.slot_min.to_string();
            return Err(err(
                "booking.slot_min".into(),
                &v,
                "a slot must divide the day (e.g. 15, 30, 60)",
            ));
        }
        if self.rules.wait_yellow_min > self.rules.wait_red_min {
            let v = self.rules.wait_yellow_min.to_string();
            return Err(err(
                "rules.wait_yellow_min".into(),
                &v,
                "the yellow card must come before the red",
            ));
        }
        if let Some(w) = &self.cases.window
            && self.window(w.as_str()).is_none()
        {
            return Err(err("cases.window".into(), w.as_str(), "unknown window"));
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
            if w.policy == Policy::Weighted
                && (w.weights.len() != w.serves.len() || w.weights.contains(&0))
            {
                return Err(err(
                    format!("windows[{i}].weights"),
                    w.id.as_str(),
                    "weighted: one weight of at least 1 per served service",
                ));
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
        for (i, r) in self.rules.pause_reasons.iter().enumerate() {
            if r.is_empty()
                || r.chars().count() > crate::command::MAX_REASON_CHARS
                || r.chars().any(char::is_control)
            {
                return Err(err(
                    format!("rules.pause_reasons[{i}]"),
                    r,
                    "a reason is 1 to 100 characters, no control characters",
                ));
            }
        }
        let mut clerks = BTreeSet::new();
        for (i, c) in self.staff.iter().enumerate() {
            if c.id.is_empty()
                || c.id.chars().count() > 32
                || c.id.chars().any(|x| x.is_control() || x.is_whitespace())
            {
                return Err(err(
                    format!("staff[{i}].id"),
                    &c.id,
                    "a clerk id is 1 to 32 characters without spaces",
                ));
            }
            if !clerks.insert(c.id.as_str()) {
                return Err(err(format!("staff[{i}].id"), &c.id, "duplicate clerk id"));
            }
            if !c.pin_hash.starts_with("$argon2") {
                return Err(err(
                    format!("staff[{i}].pin_hash"),
                    &c.id,
                    "not an Argon2 hash: make one with `hallq hash-pin`",
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
