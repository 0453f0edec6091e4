//! What the hall's own log says about its work (issue 14, part 2): service
//! times per service, window and clerk, fitted as log-normal; arrivals by
//! weekday and hour per service; no-show rates. Recent days weigh more:
//! a day `a` days old counts `0.5^(a / half_life)`.
//!
//! Pure, like the rest of the core: records in ([`Learner::record`], in log
//! order), figures out ([`Learner::finish`]). The estimator and the advisor
//! draw from these; the manager's report shows them.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::calendar::{self, Day};
use crate::event::{Event, Record};
use crate::id::{Id, TicketId};

/// How many days until a day counts half.
pub const HALF_LIFE_DAYS: f64 = 14.0;

/// Service times shorter than this are left out (a ticket started and
/// finished by mistake), and longer than this (a window left serving).
const SHORTEST_S: f64 = 10.0;
const LONGEST_S: f64 = 4.0 * 3600.0;

/// A log-normal fit of service times, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fit {
    /// Services counted (whatever their weight).
    pub n: u32,
    /// `exp(μ)`.
    pub median_s: f64,
    /// `exp(μ + σ²/2)`.
    pub mean_s: f64,
    /// σ of the service time's logarithm.
    pub log_sigma: f64,
}

/// A weighted sum of `ln x` and `(ln x)²`.
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    n: u32,
    w: f64,
    sum: f64,
    sum2: f64,
}

impl Moments {
    fn add(&mut self, x_s: f64, w: f64) {
        let l = x_s.ln();
        self.n += 1;
        self.w += w;
        self.sum += w * l;
        self.sum2 += w * l * l;
    }

    fn fit(&self) -> Option<Fit> {
        if self.n == 0 || self.w <= 0.0 {
            return None;
        }
        let mu = self.sum / self.w;
        let var = (self.sum2 / self.w - mu * mu).max(0.0);
        Some(Fit {
            n: self.n,
            median_s: mu.exp(),
            mean_s: (mu + var / 2.0).exp(),
            log_sigma: var.sqrt(),
        })
    }
}

/// One service as the log has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceLearned {
    pub service: Id,
    pub service_time: Option<Fit>,
    /// Of the tickets called (not recalled), the share marked no-show.
    pub no_show_rate: Option<f64>,
    /// Expected tickets per hour, `[weekday][hour]` (0 = Monday), over the
    /// days the log holds for that weekday.
    pub arrivals_per_hour: Vec<Vec<f64>>,
    /// Expected tickets on an open day (the weekdays' average).
    pub per_day: f64,
    /// Of its tickets, the share checked in from bookings (the rest walk
    /// in).
    pub booked_share: f64,
    /// Of its walk-in tickets, the share in each priority class.
    pub class_shares: Vec<(Id, f64)>,
}

/// A window or a clerk: their service times over all services.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhoLearned {
    pub id: String,
    pub service_time: Fit,
}

/// Everything learned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Learned {
    pub half_life_days: f64,
    /// Service days in the log.
    pub days: u32,
    pub services: Vec<ServiceLearned>,
    pub windows: Vec<WhoLearned>,
    pub clerks: Vec<WhoLearned>,
}

/// Reads the log, record by record.
#[derive(Debug)]
pub struct Learner {
    offset: i32,
    today: Day,
    half_life: f64,
    /// A ticket's service (after transfers).
    service_of: HashMap<TicketId, Id>,
    started: HashMap<TicketId, i64>,
    clerk_at: HashMap<Id, Option<String>>,
    services: BTreeMap<Id, Moments>,
    windows: BTreeMap<Id, Moments>,
    clerks: BTreeMap<String, Moments>,
    /// `(weighted calls, weighted no-shows)`.
    calls: BTreeMap<Id, (f64, f64)>,
    /// Weighted tickets, `[weekday][hour]`.
    arrivals: BTreeMap<Id, [[f64; 24]; 7]>,
    /// Weighted `(tickets, from bookings, walk-ins by class)`.
    kinds: BTreeMap<Id, (f64, f64, BTreeMap<Id, f64>)>,
    /// Weighted days seen per weekday.
    days: BTreeMap<Day, ()>,
}

impl Learner {
    /// A learner for a hall at `utc_offset_minutes`, weighing days by their
    /// age on `today`.
    pub fn new(utc_offset_minutes: i32, today: Day) -> Learner {
        Learner {
            offset: utc_offset_minutes,
            today,
            half_life: HALF_LIFE_DAYS,
            service_of: HashMap::new(),
            started: HashMap::new(),
            clerk_at: HashMap::new(),
            services: BTreeMap::new(),
            windows: BTreeMap::new(),
            clerks: BTreeMap::new(),
            calls: BTreeMap::new(),
            arrivals: BTreeMap::new(),
            kinds: BTreeMap::new(),
            days: BTreeMap::new(),
        }
    }

    fn weight(&self, day: Day) -> f64 {
        let age = (self.today - day).max(0) as f64;
        0.5f64.powf(age / self.half_life)
    }

    /// Takes the next record of the log.
    pub fn record(&mut self, r: &Record) {
        let (day, minute) = calendar::local(r.at_ms, self.offset);
        let w = self.weight(day);
        match &r.event {
            Event::DayStarted { day } => {
                self.days.insert(*day, ());
            }
            Event::TicketIssued {
                ticket,
                service,
                class,
                booking,
                ..
            } => {
                self.days.insert(day, ());
                let k = self.kinds.entry(service.clone()).or_default();
                k.0 += w;
                match (booking, class) {
                    (Some(_), _) => k.1 += w,
                    (None, Some(c)) => *k.2.entry(c.clone()).or_default() += w,
                    (None, None) => {}
                }
                self.service_of.insert(*ticket, service.clone());
                let weekday = calendar::Date(day).weekday();
                let hour = (minute / 60).min(23) as usize;
                self.arrivals
                    .entry(service.clone())
                    .or_insert([[0.0; 24]; 7])[weekday][hour] += w;
            }
            Event::TicketTransferred {
                ticket,
                to_service: Some(to),
                ..
            } => {
                self.service_of.insert(*ticket, to.clone());
            }
            Event::WindowOpened { window, clerk, .. } => {
                self.clerk_at.insert(window.clone(), clerk.clone());
            }
            Event::TicketCalled {
                ticket,
                recall: false,
                ..
            } => {
                if let Some(s) = self.service_of.get(ticket) {
                    self.calls.entry(s.clone()).or_default().0 += w;
                }
            }
            Event::TicketNoShow { ticket, .. } => {
                if let Some(s) = self.service_of.get(ticket) {
                    self.calls.entry(s.clone()).or_default().1 += w;
                }
            }
            Event::ServiceStarted { ticket, .. } => {
                self.started.insert(*ticket, r.at_ms);
            }
            Event::ServiceFinished { ticket, window, .. } => {
                let Some(from) = self.started.remove(ticket) else {
                    return;
                };
                let secs = (r.at_ms - from) as f64 / 1000.0;
                if !(SHORTEST_S..=LONGEST_S).contains(&secs) {
                    return;
                }
                if let Some(s) = self.service_of.get(ticket) {
                    self.services.entry(s.clone()).or_default().add(secs, w);
                }
                self.windows.entry(window.clone()).or_default().add(secs, w);
                if let Some(Some(clerk)) = self.clerk_at.get(window) {
                    self.clerks.entry(clerk.clone()).or_default().add(secs, w);
                }
            }
            _ => {}
        }
    }

    /// The figures, for the services in `services` (in that order) and any
    /// other service the log names.
    pub fn finish(self, services: &[Id]) -> Learned {
        // Weighted number of days seen per weekday: the denominator of
        // "tickets per hour on a Monday".
        let mut weekday_days = [0.0f64; 7];
        for day in self.days.keys() {
            weekday_days[calendar::Date(*day).weekday()] += self.weight(*day);
        }
        let mut ids: Vec<Id> = services.to_vec();
        for s in self.arrivals.keys().chain(self.services.keys()) {
            if !ids.contains(s) {
                ids.push(s.clone());
            }
        }
        let per_hour = |counts: &[[f64; 24]; 7]| -> Vec<Vec<f64>> {
            (0..7)
                .map(|d| {
                    (0..24)
                        .map(|h| {
                            if weekday_days[d] > 0.0 {
                                counts[d][h] / weekday_days[d]
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect()
        };
        let services = ids
            .into_iter()
            .map(|s| {
                let arrivals = self
                    .arrivals
                    .get(&s)
                    .map(per_hour)
                    .unwrap_or_else(|| vec![vec![0.0; 24]; 7]);
                let open_days: Vec<f64> = arrivals
                    .iter()
                    .map(|d| d.iter().sum::<f64>())
                    .filter(|n| *n > 0.0)
                    .collect();
                let per_day = if open_days.is_empty() {
                    0.0
                } else {
                    open_days.iter().sum::<f64>() / open_days.len() as f64
                };
                let (all, booked, classes) = self.kinds.get(&s).cloned().unwrap_or_default();
                let walk_ins = all - booked;
                ServiceLearned {
                    booked_share: if all > 0.0 { booked / all } else { 0.0 },
                    class_shares: classes
                        .into_iter()
                        .filter(|_| walk_ins > 0.0)
                        .map(|(c, n)| (c, n / walk_ins))
                        .collect(),
                    service_time: self.services.get(&s).and_then(Moments::fit),
                    no_show_rate: self
                        .calls
                        .get(&s)
                        .filter(|(c, _)| *c > 0.0)
                        .map(|(c, n)| n / c),
                    arrivals_per_hour: arrivals,
                    per_day,
                    service: s,
                }
            })
            .collect();
        let who = |m: &BTreeMap<String, Moments>| -> Vec<WhoLearned> {
            m.iter()
                .filter_map(|(id, m)| {
                    m.fit().map(|f| WhoLearned {
                        id: id.clone(),
                        service_time: f,
                    })
                })
                .collect()
        };
        let windows: BTreeMap<String, Moments> = self
            .windows
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        Learned {
            half_life_days: self.half_life,
            days: self.days.len() as u32,
            services,
            windows: who(&windows),
            clerks: who(&self.clerks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFSET: i32 = 480;

    struct Log {
        seq: u64,
        records: Vec<Record>,
        next_ticket: u64,
    }

    impl Log {
        fn new() -> Log {
            Log {
                seq: 0,
                records: Vec::new(),
                next_ticket: 0,
            }
        }

        fn push(&mut self, at_ms: i64, event: Event) {
            self.seq += 1;
            self.records.push(Record {
                seq: self.seq,
                at_ms,
                event,
            });
        }

        /// A ticket of `service` issued at `at`, called, and (unless a
        /// no-show) served for `secs` at window 3.
        fn ticket(&mut self, service: &str, at: i64, secs: Option<f64>) {
            self.next_ticket += 1;
            let ticket = TicketId(self.next_ticket);
            let window = Id::parse("3").unwrap();
            self.push(
                at,
                Event::TicketIssued {
                    ticket,
                    token: format!("t{}", ticket.0),
                    service: Id::parse(service).unwrap(),
                    number: format!("A{:03}", ticket.0),
                    class: None,
                    citizen: None,
                    booking: None,
                },
            );
            self.push(
                at + 1000,
                Event::TicketCalled {
                    ticket,
                    window: window.clone(),
                    recall: false,
                    reason: None,
                },
            );
            match secs {
                Some(s) => {
                    self.push(
                        at + 2000,
                        Event::ServiceStarted {
                            ticket,
                            window: window.clone(),
                        },
                    );
                    self.push(
                        at + 2000 + (s * 1000.0) as i64,
                        Event::ServiceFinished {
                            ticket,
                            window,
                            overtime_s: 0,
                        },
                    );
                }
                None => self.push(at + 60_000, Event::TicketNoShow { ticket, window }),
            }
        }

        fn learn(&self, today: Day) -> Learned {
            let mut l = Learner::new(OFFSET, today);
            for r in &self.records {
                l.record(r);
            }
            l.finish(&[Id::parse("business").unwrap()])
        }
    }

    /// 2026-11-30, a Monday.
    const MONDAY: Day = 20_787;

    #[test]
    fn service_times_are_fitted_log_normal() {
        assert_eq!(calendar::Date(MONDAY).weekday(), 0);
        let mut log = Log::new();
        // Quantiles of a log-normal with median 600 s and σ 0.4.
        let n = 400;
        for i in 0..n {
            let p = (f64::from(i) + 0.5) / f64::from(n);
            let z = normal_quantile(p);
            let at = calendar::at(MONDAY, 9 * 60, OFFSET) + i64::from(i) * 10_000;
            log.ticket("business", at, Some(600.0 * (0.4 * z).exp()));
        }
        let fit = log.learn(MONDAY).services[0].service_time.unwrap();
        assert_eq!(fit.n, 400);
        assert!((fit.median_s - 600.0).abs() < 6.0, "{fit:?}");
        assert!((fit.log_sigma - 0.4).abs() < 0.02, "{fit:?}");
        assert!((fit.mean_s - 600.0 * 0.08f64.exp()).abs() < 10.0, "{fit:?}");
    }

    #[test]
    fn the_shares_of_bookings_and_priority_walk_ins_are_learned() {
        let mut log = Log::new();
        let at = calendar::at(MONDAY, 9 * 60, OFFSET);
        for i in 0..10u64 {
            let (class, booking) = match i {
                0 | 1 => (Some("booking"), Some(format!("b{i}"))),
                2 => (Some("elderly"), None),
                _ => (None, None),
            };
            log.push(
                at + i as i64,
                Event::TicketIssued {
                    ticket: TicketId(i + 1),
                    token: format!("t{i}"),
                    service: Id::parse("business").unwrap(),
                    number: format!("A{i:03}"),
                    class: class.map(|c| Id::parse(c).unwrap()),
                    citizen: None,
                    booking,
                },
            );
        }
        let s = &log.learn(MONDAY).services[0];
        assert!((s.booked_share - 0.2).abs() < 1e-9, "{s:?}");
        // One elderly of eight walk-ins.
        assert_eq!(s.class_shares.len(), 1);
        assert_eq!(s.class_shares[0].0.as_str(), "elderly");
        assert!((s.class_shares[0].1 - 0.125).abs() < 1e-9, "{s:?}");
        // The forecast's model takes walk-ins only.
        let cfg: crate::HallConfig = toml::from_str(
            "[hall]\nid = \"h\"\nname = \"h\"\n[[services]]\nid = \"business\"\nprefix = \"A\"\nname = \"b\"\ntypical_min = 10\nlimit_min = 30\n[[windows]]\nid = \"1\"\nname = \"1\"\nserves = [\"business\"]\n",
        )
        .unwrap();
        let learned = log.learn(MONDAY);
        let m = crate::forecast::Model::from_config(&cfg).with_learned(&learned);
        let hour = &m.arrivals[&Id::parse("business").unwrap()][0];
        assert!((hour[9] - learned.services[0].arrivals_per_hour[0][9] * 0.8).abs() < 1e-9);
        assert_eq!(m.classes[&Id::parse("business").unwrap()].len(), 1);
    }

    #[test]
    fn recent_days_weigh_more() {
        let mut log = Log::new();
        let old = MONDAY - 28; // two half-lives: a quarter of the weight
        for i in 0..50 {
            log.ticket(
                "business",
                calendar::at(old, 600, OFFSET) + i * 1000,
                Some(100.0),
            );
            log.ticket(
                "business",
                calendar::at(MONDAY, 600, OFFSET) + i * 1000,
                Some(300.0),
            );
        }
        let fit = log.learn(MONDAY).services[0].service_time.unwrap();
        let want = (0.25 * 100f64.ln() + 300f64.ln()) / 1.25;
        assert!((fit.median_s - want.exp()).abs() < 1.0, "{fit:?}");
    }

    #[test]
    fn arrivals_by_weekday_and_hour_and_no_shows() {
        let mut log = Log::new();
        // Two Mondays: 10 and 20 tickets between 9 and 10; one ticket in
        // four is a no-show.
        for (day, n) in [(MONDAY - 7, 10), (MONDAY, 20)] {
            for i in 0..n {
                let at = calendar::at(day, 9 * 60, OFFSET) + i * 60_000;
                let served = (i % 4 != 0).then_some(300.0);
                log.ticket("business", at, served);
            }
        }
        let learned = log.learn(MONDAY);
        let s = &learned.services[0];
        let w = 0.5f64.powf(7.0 / HALF_LIFE_DAYS);
        let monday_9 = (10.0 * w + 20.0) / (w + 1.0);
        assert!((s.arrivals_per_hour[0][9] - monday_9).abs() < 1e-9, "{s:?}");
        assert_eq!(s.arrivals_per_hour[0][10], 0.0);
        assert_eq!(s.arrivals_per_hour[1][9], 0.0, "no Tuesday in the log");
        assert!((s.per_day - monday_9).abs() < 1e-9);
        // 3 of 10 and 5 of 20 were no-shows.
        let rate = (3.0 * w + 5.0) / (10.0 * w + 20.0);
        assert!((s.no_show_rate.unwrap() - rate).abs() < 1e-9, "{s:?}");
        assert_eq!(learned.days, 2);
        assert_eq!(learned.windows[0].id, "3");
    }

    /// The standard normal's quantile (Acklam's rational approximation,
    /// good to 1e-9): enough to lay out a known sample.
    fn normal_quantile(p: f64) -> f64 {
        let a = [
            -3.969_683_028_665_376e1,
            2.209_460_984_245_205e2,
            -2.759_285_104_469_687e2,
            1.383_577_518_672_69e2,
            -3.066_479_806_614_716e1,
            2.506_628_277_459_239,
        ];
        let b = [
            -5.447_609_879_822_406e1,
            1.615_858_368_580_409e2,
            -1.556_989_798_598_866e2,
            6.680_131_188_771_972e1,
            -1.328_068_155_288_572e1,
        ];
        let c = [
            -7.784_894_002_430_293e-3,
            -3.223_964_580_411_365e-1,
            -2.400_758_277_161_838,
            -2.549_732_539_343_734,
            4.374_664_141_464_968,
            2.938_163_982_698_783,
        ];
        let d = [
            7.784_695_709_041_462e-3,
            3.224_671_290_700_398e-1,
            2.445_134_137_142_996,
            3.754_408_661_907_416,
        ];
        let tail = |q: f64| {
            (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
        };
        if p < 0.02425 {
            tail((-2.0 * p.ln()).sqrt())
        } else if p > 1.0 - 0.02425 {
            -tail((-2.0 * (1.0 - p).ln()).sqrt())
        } else {
            let q = p - 0.5;
            let r = q * q;
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
        }
    }
}
