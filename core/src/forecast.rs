//! How long each waiting ticket will still wait (issue 14, part 3): the
//! hall is copied and run forward from now, many times, through its own
//! rules — work profiles and their policies, priority classes, transfers
//! waiting at a window — with service times, walk-ups, no-shows and new
//! arrivals drawn from a [`Model`] of the hall (learned from its log, or
//! from the hall file). Each waiting ticket gets the mean of its simulated
//! waits and a range (the 20th to the 80th percentile).
//!
//! Pure, like the rest of the core: the randomness is a seeded generator
//! of its own, so a forecast is repeatable.
//!
//! Today's bookings check in within their slots (most of them: the
//! model's `booking_show`), and new arrivals come with priority classes in
//! the model's shares.
//!
//! New arrivals come at each hour's rate in turn (a Poisson process
//! whose rate changes by the hour, as the log taught).
//!
//! Not modelled yet: a clerk's pause or a window opening later (windows
//! stay as they are now).

use std::collections::{BTreeMap, BinaryHeap, HashMap};

use serde::Serialize;

use crate::Millis;
use crate::calendar;
use crate::command::Command;
use crate::config::HallConfig;
use crate::event::Event;
use crate::hall::{Hall, TicketState, WindowStatus};
use crate::id::{Id, TicketId};
use crate::learn::Learned;

/// How far ahead a run goes at most.
pub const HORIZON_MS: Millis = 4 * 3_600_000;
/// The most a run does: a hall with thousands of arrivals an hour (a load
/// test) must not make one forecast cost seconds. A run stops here; what
/// it has not called by then it leaves uncalled.
pub const MAX_STEPS: u32 = 20_000;

/// A service's service time, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceTime {
    /// `exp(N(mu, sigma))`.
    LogNormal { mu: f64, sigma: f64 },
    /// Exponential with this mean (M/M/s checks).
    Exponential { mean_s: f64 },
}

/// What a run draws from.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub service_time: BTreeMap<Id, ServiceTime>,
    pub no_show: BTreeMap<Id, f64>,
    /// Expected tickets per hour, `[weekday][hour]`, per service.
    pub arrivals: BTreeMap<Id, Vec<Vec<f64>>>,
    /// Mean time from a call to the citizen at the window (exponential).
    pub walk_up_s: f64,
    /// How long a clerk waits for a citizen who does not come.
    pub no_show_after_s: f64,
    /// From a finish (or a no-show) to the clerk's next call.
    pub turnaround_s: f64,
    pub utc_offset_minutes: i32,
    /// Per service, the share of new arrivals in each priority class
    /// (they go ahead of ordinary tickets).
    pub classes: BTreeMap<Id, Vec<(Id, f64)>>,
    /// The share of today's bookings whose citizen comes to check in
    /// (within the slot, at a time drawn uniformly).
    pub booking_show: f64,
    /// How long an idle clerk takes to call a new ticket (exponential
    /// mean; 0: at once).
    pub idle_notice_s: f64,
}

/// The spread of log-normal service times when nothing is learned yet
/// (the demo hall's generator uses 0.45).
pub const DEFAULT_SIGMA: f64 = 0.45;
/// Services a fit needs before it replaces the hall file's typical time.
pub const MIN_FIT: u32 = 20;

impl Model {
    /// From the hall file alone: each service's typical minutes as the
    /// median, [`DEFAULT_SIGMA`], no no-shows, no arrivals.
    pub fn from_config(config: &HallConfig) -> Model {
        Model {
            service_time: config
                .services
                .iter()
                .map(|s| {
                    let median = f64::from(s.typical_min.max(1)) * 60.0;
                    let st = ServiceTime::LogNormal {
                        mu: median.ln(),
                        sigma: DEFAULT_SIGMA,
                    };
                    (s.id.clone(), st)
                })
                .collect(),
            no_show: BTreeMap::new(),
            arrivals: BTreeMap::new(),
            walk_up_s: 45.0,
            no_show_after_s: 60.0,
            turnaround_s: 0.0,
            utc_offset_minutes: config.hall.utc_offset_minutes,
            classes: BTreeMap::new(),
            booking_show: 0.9,
            idle_notice_s: 0.0,
        }
    }

    /// What the log taught, where it has enough to go on.
    pub fn with_learned(mut self, learned: &Learned) -> Model {
        for s in &learned.services {
            if let Some(fit) = s.service_time.filter(|f| f.n >= MIN_FIT) {
                let st = ServiceTime::LogNormal {
                    mu: fit.median_s.ln(),
                    sigma: fit.log_sigma,
                };
                self.service_time.insert(s.service.clone(), st);
            }
            if let Some(rate) = s.no_show_rate {
                self.no_show.insert(s.service.clone(), rate);
            }
            // Walk-ins: today's bookings are simulated from the hall's own
            // list, not as arrivals.
            let walk_in = 1.0 - s.booked_share;
            self.arrivals.insert(
                s.service.clone(),
                s.arrivals_per_hour
                    .iter()
                    .map(|d| d.iter().map(|n| n * walk_in).collect())
                    .collect(),
            );
            if !s.class_shares.is_empty() {
                self.classes
                    .insert(s.service.clone(), s.class_shares.clone());
            }
        }
        self
    }
}

/// A waiting ticket's forecast wait from now, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Spread {
    /// 20th percentile.
    pub low_s: u32,
    pub mean_s: u32,
    /// 80th percentile.
    pub high_s: u32,
}

/// How much wider than the runs' own 20–80 % range the range shown must
/// be for real waits to fall inside it as often as wanted: the runs leave
/// out what the model does not know (a clerk called away, a citizen who
/// takes long at the counter), so their spread is too narrow. Fitted from
/// real waits against what was forecast ([`Calibration::fit`]): the
/// hall's own, as they come.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Calibration {
    /// Each side of the range stretched by this factor from the mean …
    pub widen: f64,
    /// … and by this many seconds more (short waits miss by a walk-up).
    pub pad_s: f64,
}

impl Calibration {
    /// The runs' range as it is.
    pub const NONE: Calibration = Calibration {
        widen: 1.0,
        pad_s: 0.0,
    };
    /// Seconds added to each side before any fit.
    pub const PAD_S: f64 = 30.0;
    /// Fewest samples for a fit.
    pub const MIN_SAMPLES: usize = 50;
    /// The share of past waits a fit puts inside the range: a little over
    /// the 70 % wanted, for days that differ from those it learnt from.
    pub const SHARE: f64 = 0.75;

    pub fn apply(&self, s: Spread) -> Spread {
        let (low, mean, high) = (f64::from(s.low_s), f64::from(s.mean_s), f64::from(s.high_s));
        let low = (mean - self.widen * (mean - low) - self.pad_s).max(0.0);
        let high = mean + self.widen * (high - mean) + self.pad_s;
        Spread {
            low_s: low.round() as u32,
            mean_s: s.mean_s,
            high_s: high.round() as u32,
        }
    }

    /// The least widening (with [`Calibration::PAD_S`]) that puts `share`
    /// of the real waits inside their forecast's range; `None` with fewer
    /// than [`Calibration::MIN_SAMPLES`] samples (real wait, forecast).
    pub fn fit(samples: &[(f64, Spread)], share: f64) -> Option<Calibration> {
        if samples.len() < Self::MIN_SAMPLES {
            return None;
        }
        // Each sample's own need: how far its side had to reach.
        let mut need: Vec<f64> = samples
            .iter()
            .map(|(real, s)| {
                let (low, mean, high) =
                    (f64::from(s.low_s), f64::from(s.mean_s), f64::from(s.high_s));
                let (gap, side) = if *real >= mean {
                    (real - mean - Self::PAD_S, high - mean)
                } else {
                    (mean - real - Self::PAD_S, mean - low)
                };
                if gap <= 0.0 { 0.0 } else { gap / side.max(1.0) }
            })
            .collect();
        need.sort_by(f64::total_cmp);
        let at = ((need.len() as f64 * share).ceil() as usize).clamp(1, need.len()) - 1;
        Some(Calibration {
            widen: need[at].max(1.0),
            pad_s: Self::PAD_S,
        })
    }
}

/// The forecast wait of every ticket waiting now, over `runs` runs: the
/// waits of the runs that called it (a ticket that more than half of the
/// runs do not call is left out).
pub fn forecast(
    hall: &Hall,
    now: Millis,
    model: &Model,
    runs: u32,
    seed: u64,
) -> BTreeMap<TicketId, Spread> {
    let waiting: Vec<TicketId> = hall
        .tickets()
        .filter(|t| t.state == TicketState::Waiting)
        .map(|t| t.id)
        .collect();
    if waiting.is_empty() || runs == 0 {
        return BTreeMap::new();
    }
    // Milliseconds: whole seconds per run would bias every mean by half a
    // second, a lot next to a short wait's spread.
    let mut waits: HashMap<TicketId, Vec<u64>> = waiting
        .iter()
        .map(|t| (*t, Vec::with_capacity(runs as usize)))
        .collect();
    let mut rng = Rng::new(seed);
    let limits = Limits {
        end: now + HORIZON_MS,
        // Arrivals matter only while they can overtake a tracked ticket: a
        // few times as many as are waiting is plenty.
        most_arrivals: 2 * waiting.len() as u64 + 100,
    };
    for _ in 0..runs {
        let mut called: HashMap<TicketId, Millis> = HashMap::new();
        let mut left = waiting.len();
        run(
            hall.working_copy(),
            now,
            model,
            limits,
            &mut rng,
            &mut |t, at| {
                if waits.contains_key(&t) && !called.contains_key(&t) {
                    called.insert(t, at);
                    left -= 1;
                }
                left == 0
            },
        );
        for (t, at) in called {
            if let Some(w) = waits.get_mut(&t) {
                w.push((at - now).max(0) as u64);
            }
        }
    }
    // A ticket most runs do not call (past the horizon, or expired at the
    // day's end) gets no forecast: "probably not today" is not a wait.
    waits
        .into_iter()
        .filter(|(_, w)| w.len() * 2 > runs as usize)
        .map(|(t, mut w)| {
            w.sort_unstable();
            let secs = |ms: u64| ((ms + 500) / 1000) as u32;
            let q = |p: f64| secs(w[((w.len() - 1) as f64 * p).round() as usize]);
            let mean = secs(w.iter().sum::<u64>() / w.len() as u64);
            (
                t,
                Spread {
                    low_s: q(0.2),
                    mean_s: mean,
                    high_s: q(0.8),
                },
            )
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    /// The window calls the next ticket.
    Ready(Id),
    /// The called citizen is at the window.
    Start(Id),
    /// The called citizen did not come.
    NoShow(Id),
    Done(Id),
    Arrive(Id),
    /// A booked citizen checks in.
    CheckIn(String),
}

/// Where a run stops.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub end: Millis,
    /// New arrivals drawn at most.
    pub most_arrivals: u64,
}

/// One run of the hall forward from `now`: `on_call` hears every call
/// (ticket, time) and says whether the run may stop. Returns the hall as
/// the run left it.
pub(crate) fn run(
    mut hall: Hall,
    now: Millis,
    model: &Model,
    limits: Limits,
    rng: &mut Rng,
    on_call: &mut dyn FnMut(TicketId, Millis) -> bool,
) -> Hall {
    let mut stop = false;
    let mut queue: BinaryHeap<std::cmp::Reverse<(Millis, u64, Next)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut push = |q: &mut BinaryHeap<_>, at: Millis, n: Next| {
        order += 1;
        q.push(std::cmp::Reverse((at, order, n)));
    };
    let mut idle: Vec<Id> = Vec::new();
    let mut absent: std::collections::HashSet<TicketId> = std::collections::HashSet::new();
    let windows: Vec<(Id, WindowStatus)> = hall
        .windows()
        .filter_map(|(id, _)| hall.status(id.as_str()).map(|s| (id.clone(), s)))
        .collect();
    for (w, status) in windows {
        let rt = hall.window(w.as_str()).expect("a window");
        let current = rt.current.and_then(|t| hall.ticket(t));
        match (status, current) {
            (WindowStatus::Idle, _) => push(&mut queue, now, Next::Ready(w)),
            (WindowStatus::Calling, Some(t)) => {
                let since = now - t.called_ms.unwrap_or(now);
                let walk = walk_up(model, rng);
                push(&mut queue, now + (walk - since).max(0), Next::Start(w));
            }
            (WindowStatus::Serving, Some(t)) => {
                let elapsed = now - t.started_ms.unwrap_or(now);
                let left_ms = remaining(model, &t.service, elapsed, rng);
                push(&mut queue, now + left_ms, Next::Done(w));
            }
            _ => {}
        }
    }
    for s in model.arrivals.keys() {
        if let Some(at) = next_arrival(model, s, now, rng) {
            push(&mut queue, at, Next::Arrive(s.clone()));
        }
    }
    let Limits { end, most_arrivals } = limits;
    // Today's bookings still to come, each within its slot (they go ahead
    // of ordinary tickets when they check in).
    let slot_ms = i64::from(hall.config().booking.slot_min) * 60_000;
    let due: Vec<(String, Millis)> = hall
        .bookings()
        .filter(|(_, b)| b.state == crate::booking::BookingState::Booked)
        .filter(|(_, b)| b.slot_ms + slot_ms > now && b.slot_ms < end)
        .map(|(k, b)| (k.clone(), b.slot_ms))
        .collect();
    for (booking, slot) in due {
        if rng.f64() < model.booking_show {
            let from = slot.max(now);
            let at = from + (rng.f64() * (slot + slot_ms - from) as f64) as Millis;
            push(&mut queue, at, Next::CheckIn(booking));
        }
    }
    let turnaround = (model.turnaround_s * 1000.0) as Millis;
    let mut arrived = 0u64;
    let mut steps = 0u32;
    while let Some(std::cmp::Reverse((t, _, next))) = queue.pop() {
        steps += 1;
        if stop || t > end || steps > MAX_STEPS {
            break;
        }
        match next {
            Next::Ready(w) => {
                let cmd = Command::CallNext {
                    window: w.clone(),
                    service: None,
                };
                let Ok(records) = hall.handle(t, cmd) else {
                    idle.push(w);
                    continue;
                };
                let Some(ticket) = records.iter().find_map(|r| match &r.event {
                    Event::TicketCalled { ticket, .. } => Some(*ticket),
                    _ => None,
                }) else {
                    idle.push(w);
                    continue;
                };
                stop = on_call(ticket, t);
                let service = hall.ticket(ticket).map(|t| t.service.clone());
                let p = service
                    .and_then(|s| model.no_show.get(&s).copied())
                    .unwrap_or(0.0);
                // A citizen who did not come at the first call does not
                // come at the next either.
                if absent.contains(&ticket) || rng.f64() < p {
                    absent.insert(ticket);
                    let after = (model.no_show_after_s * 1000.0) as Millis;
                    push(&mut queue, t + after, Next::NoShow(w));
                } else {
                    push(&mut queue, t + walk_up(model, rng), Next::Start(w));
                }
            }
            Next::Start(w) => {
                if hall
                    .handle(t, Command::Start { window: w.clone() })
                    .is_err()
                {
                    push(&mut queue, t, Next::Ready(w));
                    continue;
                }
                let service = hall
                    .window(w.as_str())
                    .and_then(|rt| rt.current)
                    .and_then(|c| hall.ticket(c))
                    .map(|t| t.service.clone());
                let took = match service {
                    Some(s) => remaining(model, &s, 0, rng),
                    None => 60_000,
                };
                push(&mut queue, t + took, Next::Done(w));
            }
            Next::NoShow(w) => {
                let _ = hall.handle(t, Command::NoShow { window: w.clone() });
                push(&mut queue, t + turnaround, Next::Ready(w));
            }
            Next::Done(w) => {
                let _ = hall.handle(t, Command::Finish { window: w.clone() });
                push(&mut queue, t + turnaround, Next::Ready(w));
            }
            Next::CheckIn(booking) => {
                arrived += 1;
                let cmd = Command::CheckIn {
                    booking,
                    token: format!("forecast-{arrived}"),
                };
                if hall.handle(t, cmd).is_ok() {
                    for w in idle.drain(..) {
                        let notice = (rng.exp(model.idle_notice_s) * 1000.0) as Millis;
                        push(&mut queue, t + notice, Next::Ready(w));
                    }
                }
            }
            Next::Arrive(s) => {
                arrived += 1;
                let mut class = None;
                if let Some(shares) = model.classes.get(&s) {
                    let mut u = rng.f64();
                    for (c, share) in shares {
                        if u < *share {
                            class = Some(c.clone());
                            break;
                        }
                        u -= share;
                    }
                }
                let cmd = Command::IssueTicket {
                    service: s.clone(),
                    token: format!("forecast-{arrived}"),
                    class,
                    citizen: None,
                };
                if hall.handle(t, cmd).is_ok() {
                    for w in idle.drain(..) {
                        let notice = (rng.exp(model.idle_notice_s) * 1000.0) as Millis;
                        push(&mut queue, t + notice, Next::Ready(w));
                    }
                }
                if arrived >= most_arrivals {
                    continue;
                }
                if let Some(at) = next_arrival(model, &s, t, rng) {
                    push(&mut queue, at, Next::Arrive(s));
                }
            }
        }
    }
    hall
}

/// The next arrival of `service` after `t`: a Poisson process whose rate
/// is the model's for each hour of the day in turn (none within a day when
/// no hour has any).
fn next_arrival(model: &Model, service: &Id, t: Millis, rng: &mut Rng) -> Option<Millis> {
    let per_hour = model.arrivals.get(service)?;
    let mut left = rng.exp(1.0);
    let mut at = t;
    for _ in 0..25 {
        let (day, minute) = calendar::local(at, model.utc_offset_minutes);
        let weekday = calendar::Date(day).weekday();
        let hour = (minute / 60).min(23) as usize;
        let rate = per_hour
            .get(weekday)
            .and_then(|h| h.get(hour))
            .copied()
            .unwrap_or(0.0)
            / 3_600_000.0;
        let hour_end = calendar::at(day, (hour as u32 + 1) * 60, model.utc_offset_minutes);
        let span = (hour_end - at).max(1) as f64;
        if rate > 0.0 && rate * span >= left {
            return Some(at + (left / rate).ceil() as Millis);
        }
        left -= rate * span;
        at = hour_end;
    }
    None
}

/// From a call to the citizen at the window, in ms (0 with a model
/// without walk-ups).
fn walk_up(model: &Model, rng: &mut Rng) -> Millis {
    if model.walk_up_s <= 0.0 {
        return 0;
    }
    ((rng.exp(model.walk_up_s) * 1000.0) as Millis).max(1000)
}

/// A service time of `service` longer than `elapsed_ms` (it has gone on
/// that long already): what is left of it, in ms.
fn remaining(model: &Model, service: &Id, elapsed_ms: Millis, rng: &mut Rng) -> Millis {
    let st = model
        .service_time
        .get(service)
        .copied()
        .unwrap_or(ServiceTime::LogNormal {
            mu: 600f64.ln(),
            sigma: DEFAULT_SIGMA,
        });
    let elapsed = elapsed_ms as f64 / 1000.0;
    let draw = |rng: &mut Rng| match st {
        ServiceTime::LogNormal { mu, sigma } => (mu + sigma * rng.normal()).exp(),
        ServiceTime::Exponential { mean_s } => rng.exp(mean_s),
    };
    let secs = match st {
        // Memoryless: what is left does not depend on what has gone.
        ServiceTime::Exponential { .. } => draw(rng),
        ServiceTime::LogNormal { .. } => {
            let mut left = None;
            for _ in 0..32 {
                let s = draw(rng);
                if s > elapsed {
                    left = Some(s - elapsed);
                    break;
                }
            }
            // Far in the tail: it ends soon, as far as anyone can tell.
            left.unwrap_or(30.0)
        }
    };
    ((secs * 1000.0) as Millis).max(1000)
}

/// SplitMix64: small, fast, and good enough to draw service times.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn exp(&mut self, mean: f64) -> f64 {
        -(1.0 - self.f64()).ln() * mean
    }

    fn normal(&mut self) -> f64 {
        let (u1, u2) = (1.0 - self.f64(), self.f64());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_come_at_each_hours_rate() {
        let mut m = Model {
            service_time: BTreeMap::new(),
            no_show: BTreeMap::new(),
            arrivals: BTreeMap::new(),
            walk_up_s: 0.0,
            no_show_after_s: 0.0,
            turnaround_s: 0.0,
            utc_offset_minutes: 480,
            classes: BTreeMap::new(),
            booking_show: 1.0,
            idle_notice_s: 0.0,
        };
        let s = Id::parse("a").unwrap();
        // 60 an hour from 10:00 to 11:00, none otherwise.
        let mut day = vec![0.0; 24];
        day[10] = 60.0;
        m.arrivals.insert(s.clone(), vec![day; 7]);
        let today = 20_000;
        let at = |h: u32, min: u32| calendar::at(today, h * 60 + min, 480);
        let mut rng = Rng::new(1);
        let draws: Vec<Millis> = (0..2000)
            .filter_map(|_| next_arrival(&m, &s, at(8, 30), &mut rng))
            .collect();
        // Mostly within 10:00–11:00 (one an hour on average past it: the
        // next day's hour 10 is more than 24 h on, so none).
        let inside = draws
            .iter()
            .filter(|t| **t >= at(10, 0) && **t < at(11, 0))
            .count();
        assert!(inside > 1990, "{inside} of {}", draws.len());
        // A minute apart on average from 10:00.
        let mean = draws.iter().map(|t| (t - at(10, 0)) as f64).sum::<f64>() / draws.len() as f64;
        assert!((mean / 60_000.0 - 1.0).abs() < 0.1, "{mean}");
        m.arrivals.insert(s.clone(), vec![vec![0.0; 24]; 7]);
        assert_eq!(next_arrival(&m, &s, at(8, 30), &mut rng), None);
    }
}
