//! The demo hall's day as data (`halls/demo-day.toml`): arrivals per hour,
//! the service mix and how citizens behave. Shared by the demo and the day
//! simulation, so both follow the one file the project can change.

pub mod cases;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// Who comes when, and for what.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayPattern {
    pub tickets_per_day: u32,
    /// Local hour → share of the day's arrivals.
    pub hour_share: BTreeMap<u32, f64>,
    /// Service id → share of the tickets.
    pub mix: BTreeMap<String, f64>,
    pub citizens: Behaviour,
    /// Cases behind the counter; none: no case is accepted.
    #[serde(default)]
    pub cases: Option<cases::CasePattern>,
}

/// Shares of citizens who do one thing or another.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    pub no_show: f64,
    pub booked: f64,
    pub booking_missed: f64,
    pub priority: f64,
    pub consult_handed_on: f64,
    pub rating: f64,
}

impl DayPattern {
    /// The shipped pattern.
    pub fn demo() -> DayPattern {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo-day.toml");
        DayPattern::load(&path).expect("halls/demo-day.toml is valid")
    }

    pub fn load(path: &Path) -> anyhow::Result<DayPattern> {
        let text = std::fs::read_to_string(path)?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// A service drawn by the mix, from a uniform number in `[0, 1)`.
    pub fn service(&self, mut u: f64) -> &str {
        let mut last = "";
        for (s, share) in &self.mix {
            last = s;
            u -= share;
            if u < 0.0 {
                return s;
            }
        }
        last
    }

    /// Arrivals per hour in the busiest hour.
    pub fn peak_per_hour(&self) -> f64 {
        self.hour_share.values().fold(0.0, |a: f64, b| a.max(*b)) * f64::from(self.tickets_per_day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_day_adds_up() {
        let d = DayPattern::demo();
        let hours: f64 = d.hour_share.values().sum();
        let mix: f64 = d.mix.values().sum();
        assert!(
            (hours - 1.0).abs() < 1e-9 && (mix - 1.0).abs() < 1e-9,
            "{hours} {mix}"
        );
        assert_eq!(
            d.service(0.0),
            "business",
            "the mix is ordered by service id"
        );
        assert_eq!(d.peak_per_hour(), 72.0);
    }
}
