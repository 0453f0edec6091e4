//! The hall's calendar: local days, weekdays, opening sessions, holidays.
//! All arithmetic on plain integers — no clock, no time-zone database: the
//! hall's offset from UTC is configuration.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DAY_MS, Millis};

/// Days since 1970-01-01 in the hall's local time.
pub type Day = i64;

/// A calendar date, written `2026-10-01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(pub Day);

impl Date {
    pub fn from_ymd(y: i64, m: u32, d: u32) -> Date {
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Date(era * 146_097 + doe - 719_468)
    }

    pub fn ymd(self) -> (i64, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> usize {
        (self.0 + 3).rem_euclid(7) as usize
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl TryFrom<String> for Date {
    type Error = String;
    fn try_from(s: String) -> Result<Date, String> {
        let bad = || format!("invalid date {s:?}: expected YYYY-MM-DD");
        let mut parts = s.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let (y, m, d): (i64, u32, u32) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return Err(bad());
        }
        let date = Date::from_ymd(y, m, d);
        if date.ymd() != (y, m, d) {
            return Err(bad());
        }
        Ok(date)
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

/// One opening session of a day, in minutes after local midnight: `08:30-12:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Session {
    pub open_min: u32,
    pub close_min: u32,
}

impl TryFrom<String> for Session {
    type Error = String;
    fn try_from(s: String) -> Result<Session, String> {
        let bad = || format!("invalid session {s:?}: expected HH:MM-HH:MM");
        let minutes = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
        };
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let (open_min, close_min) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        if open_min >= close_min {
            return Err(bad());
        }
        Ok(Session {
            open_min,
            close_min,
        })
    }
}

impl From<Session> for String {
    fn from(s: Session) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            s.open_min / 60,
            s.open_min % 60,
            s.close_min / 60,
            s.close_min % 60
        )
    }
}

/// Opening sessions per weekday; a day not listed is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekHours {
    #[serde(default)]
    pub mon: Vec<Session>,
    #[serde(default)]
    pub tue: Vec<Session>,
    #[serde(default)]
    pub wed: Vec<Session>,
    #[serde(default)]
    pub thu: Vec<Session>,
    #[serde(default)]
    pub fri: Vec<Session>,
    #[serde(default)]
    pub sat: Vec<Session>,
    #[serde(default)]
    pub sun: Vec<Session>,
}

impl WeekHours {
    pub fn day(&self, weekday: usize) -> &[Session] {
        match weekday {
            0 => &self.mon,
            1 => &self.tue,
            2 => &self.wed,
            3 => &self.thu,
            4 => &self.fri,
            5 => &self.sat,
            _ => &self.sun,
        }
    }
}

/// The hall's opening hours (延时服务 aside: tickets taken before closing
/// are still served after it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    #[serde(flatten)]
    pub week: WeekHours,
    /// Ticket issuing stops this many minutes before a session closes.
    #[serde(default = "default_cutoff")]
    pub cutoff_min: u32,
    /// Closed days (public holidays).
    #[serde(default)]
    pub holidays: Vec<Date>,
    /// Extra working days (调休): open with Monday's sessions.
    #[serde(default)]
    pub workdays: Vec<Date>,
}

fn default_cutoff() -> u32 {
    30
}

impl Hours {
    /// The sessions of a day, `week` overriding the hall's weekly hours
    /// (a service's own hours); holidays and extra working days apply.
    pub fn sessions<'a>(&'a self, week: Option<&'a WeekHours>, day: Day) -> &'a [Session] {
        let date = Date(day);
        let week = week.unwrap_or(&self.week);
        if self.holidays.contains(&date) {
            &[]
        } else if self.workdays.contains(&date) {
            week.day(0)
        } else {
            week.day(date.weekday())
        }
    }
}

/// Local minute of the day and local day of a moment.
pub fn local(now: Millis, utc_offset_minutes: i32) -> (Day, u32) {
    let local = now + i64::from(utc_offset_minutes) * 60_000;
    (
        local.div_euclid(DAY_MS),
        (local.rem_euclid(DAY_MS) / 60_000) as u32,
    )
}

/// The moment a local minute of a local day begins.
pub fn at(day: Day, minute: u32, utc_offset_minutes: i32) -> Millis {
    day * DAY_MS + i64::from(minute) * 60_000 - i64::from(utc_offset_minutes) * 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_know_their_weekday() {
        let d = Date::try_from("2026-11-27".to_owned()).unwrap();
        assert_eq!(d.to_string(), "2026-11-27");
        assert_eq!(d.weekday(), 4, "a Friday");
        assert_eq!(Date(0).to_string(), "1970-01-01");
        assert_eq!(Date(0).weekday(), 3, "a Thursday");
        assert_eq!(
            Date::try_from("2028-02-29".to_owned()).unwrap().to_string(),
            "2028-02-29"
        );
        for bad in ["2026-02-30", "2026-13-01", "26-1-1x", "today"] {
            assert!(Date::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn sessions_parse() {
        let s = Session::try_from("08:30-12:00".to_owned()).unwrap();
        assert_eq!((s.open_min, s.close_min), (510, 720));
        assert_eq!(String::from(s), "08:30-12:00");
        for bad in ["12:00-08:30", "8-12", "08:30-25:00", "08:61-09:00"] {
            assert!(Session::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_time_in_beijing() {
        // 2026-11-27 08:30 +08:00
        let (day, minute) = local(1_795_739_400_000, 480);
        assert_eq!(
            (Date(day).to_string(), minute),
            ("2026-11-27".to_owned(), 510)
        );
        assert_eq!(at(day, minute, 480), 1_795_739_400_000);
    }
}
