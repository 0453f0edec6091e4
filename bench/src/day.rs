//! `hallq-day`: a whole day of the demo hall in simulated time, through the
//! real queue core, with the figures a hall manager would ask for.
//!
//! Citizens arrive by DEMO-HALL.md's hourly shares and service mix (about 400
//! a day), 5 % with priority, 15 % with a booking (a few of them late, a few
//! never coming), 8 % not answering their call; consultation hands 10 % on
//! to another service. Clerks open at 08:30, call, serve for a log-normal
//! time around each service's typical minutes, go to lunch (暂停「午休」) once
//! their queue is empty after 12:00 and close after 17:30 — serving, after
//! closing, everyone who took a ticket before it (延时服务). Citizens rate
//! most services. The core's `Tick` runs whenever it asks to, so cards fall
//! when they should.
//!
//! Run: `cargo run --release -p hallq-bench --bin hallq-day [-- --seed 7]`.
//! With `--weeks N`: weeks of cases behind the counter (承诺件) instead, the
//! on-time share per department.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::Path;

use clap::Parser;
use hallq_core::advice::{Advice, Bounds, advise};
use hallq_core::calendar::{self, Date};
use hallq_core::forecast::{Calibration, Model, Spread, forecast};
use hallq_core::{CardLevel, Command, CoreError, Event, Hall, HallConfig, Id, Millis, TicketState};
use hallq_demo::DayPattern;
use hallq_server::config;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Tickets in the day (default: the pattern's).
    #[arg(long)]
    tickets: Option<usize>,
    /// Who comes when (default: halls/demo-day.toml).
    #[arg(long)]
    day: Option<std::path::PathBuf>,
    /// The day to simulate (a weekday).
    #[arg(long, default_value = "2026-11-30")]
    date: String,
    /// Forecast every ticket's wait when it is taken (runs per forecast),
    /// and compare with the real wait, today's estimate and the industry
    /// formula.
    #[arg(long)]
    forecast: Option<u32>,
    /// Let the rebalancing advisor run the hall's window profiles (every
    /// 15 minutes, within its bounds) and print what it changed.
    #[arg(long)]
    advisor: bool,
    /// Every window serves every service (longest wait first): the bound
    /// for what moving windows can do.
    #[arg(long, conflicts_with = "advisor")]
    pooled: bool,
    /// Compare static profiles, the advisor and full pooling over this many
    /// seeds (1..=N; same arrivals per seed in each): mean and p90 wait,
    /// per service.
    #[arg(long, conflicts_with_all = ["advisor", "pooled", "forecast"])]
    compare: Option<u64>,
    /// Cases behind the counter over this many weeks from --date (the
    /// hall's calendar: weekends and holidays): the on-time share, late
    /// cases, average working days and cards per department, over 5 seeds
    /// from --seed.
    #[arg(long, conflicts_with_all = ["advisor", "pooled", "forecast", "compare"])]
    weeks: Option<i64>,
    /// With --forecast: first simulate this many other days (seeds after
    /// --seed), fit the range's calibration on their real waits, and show
    /// the range calibrated so on this day too.
    #[arg(long, requires = "forecast", default_value_t = 0)]
    calibrate: u64,
    /// The advisor's bound: no service's predicted mean wait may grow by
    /// more than this share (and 30 s).
    #[arg(long, default_value_t = Bounds::default().worse_share)]
    worse_share: f64,
    /// A changed window goes back to its own profile when that costs at
    /// most this many seconds of mean wait.
    #[arg(long, default_value_t = Bounds::default().home_cost_s)]
    home_cost_s: f64,
    /// The advisor's runs per candidate.
    #[arg(long, default_value_t = Bounds::default().runs)]
    advise_runs: u32,
    /// How far ahead the advisor looks, in minutes.
    #[arg(long, default_value_t = Bounds::default().horizon_ms / 60_000)]
    advise_horizon_min: i64,
}

/// How the hall's windows are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The hall file's profiles all day.
    Static,
    /// The advisor changes profiles within its bounds.
    Advisor,
    /// Every window serves everything.
    Pooled,
}

/// How often the advisor looks, and its bounds on changes.
const ADVISE_EVERY_MS: Millis = 15 * 60_000;
const CHANGES_PER_HOUR: usize = 4;
const WINDOW_REST_MS: Millis = 30 * 60_000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Happening {
    Arrive(usize),
    /// The clerk at a window is ready for the next citizen.
    Ready(Id),
    /// The called citizen walks up (or the clerk gives up on them).
    Answer(Id),
    Done(Id),
    Tick,
    Advise,
}

#[derive(Debug, Clone)]
struct Citizen {
    service: String,
    priority: Option<&'static str>,
    booking: Option<String>,
    absent: bool,
}

struct Day {
    hall: Hall,
    now: Millis,
    rng: StdRng,
    queue: BinaryHeap<Reverse<(Millis, u64, Happening)>>,
    order: u64,
    citizens: Vec<Citizen>,
    /// Ticket token → citizen.
    holders: HashMap<String, usize>,
    first_call: HashMap<u64, Millis>,
    refused: BTreeMap<&'static str, u32>,
    day: i64,
    offset: i32,
}

impl Day {
    fn at(&self, hhmm: u32) -> Millis {
        calendar::at(self.day, hhmm / 100 * 60 + hhmm % 100, self.offset)
    }

    fn push(&mut self, at: Millis, h: Happening) {
        self.order += 1;
        self.queue.push(Reverse((at, self.order, h)));
    }

    fn run(&mut self, cmd: Command) -> Result<Vec<Event>, CoreError> {
        let records = self.hall.handle(self.now, cmd)?;
        if let Some(next) = self.hall.next_deadline() {
            self.push(next.max(self.now), Happening::Tick);
        }
        Ok(records.into_iter().map(|r| r.event).collect())
    }

    fn minutes(&mut self, typical: f64) -> Millis {
        let (u1, u2): (f64, f64) = (self.rng.random::<f64>().max(1e-9), self.rng.random());
        let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        ((typical * (0.45 * normal - 0.1).exp()) * 60_000.0) as Millis
    }

    fn refuse(&mut self, e: &CoreError) {
        *self.refused.entry(e.code()).or_default() += 1;
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut hall_cfg: HallConfig =
        config::load_hall(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml"))?;
    hall_cfg.rules.carry_over = false;
    let date = Date::try_from(args.date.clone()).map_err(anyhow::Error::msg)?;
    let pattern = match &args.day {
        Some(p) => DayPattern::load(p)?,
        None => DayPattern::demo(),
    };
    let mode = if args.advisor {
        Mode::Advisor
    } else if args.pooled {
        Mode::Pooled
    } else {
        Mode::Static
    };
    let bounds = Bounds {
        worse_share: args.worse_share,
        home_cost_s: args.home_cost_s,
        runs: args.advise_runs,
        horizon_ms: args.advise_horizon_min * 60_000,
        ..Bounds::default()
    };
    if let Some(n) = args.compare {
        return compare(&hall_cfg, &bounds, &pattern, date, args.tickets, n);
    }
    if let Some(weeks) = args.weeks {
        return case_weeks(&hall_cfg, &pattern, date, weeks, args.seed);
    }
    let sim = Sim {
        cfg: &hall_cfg,
        bounds,
        pattern: &pattern,
        date,
        tickets: args.tickets,
        forecast: args.forecast,
        mode,
    };
    // The calibration, from other days than the one measured.
    let mut learnt = Vec::new();
    for k in 1..=args.calibrate {
        let other = sim.run(args.seed + k)?;
        learnt.extend(samples(&other));
    }
    let calibration = Calibration::fit(&learnt, Calibration::SHARE);
    let out = sim.run(args.seed)?;
    report(&out.day, &out.cfg, &out.per_hour, date, args.seed);
    if args.forecast.is_some() {
        accuracy(&out.day, &out.told_at);
        if let Some(c) = calibration {
            let own = samples(&out);
            let inside = own
                .iter()
                .filter(|(w, s)| {
                    let r = c.apply(*s);
                    *w >= f64::from(r.low_s) && *w <= f64::from(r.high_s)
                })
                .count();
            let width = own
                .iter()
                .map(|(_, s)| {
                    let r = c.apply(*s);
                    f64::from(r.high_s - r.low_s)
                })
                .sum::<f64>()
                / own.len().max(1) as f64
                / 60.0;
            println!(
                "  calibrated on {} other days ({} waits): range ×{:.2} + {:.0} s a side → real wait inside: {:.0} % (range {width:.1} min wide on average)",
                args.calibrate,
                learnt.len(),
                c.widen,
                c.pad_s,
                inside as f64 * 100.0 / own.len().max(1) as f64
            );
        }
    }
    if mode == Mode::Advisor {
        println!("\nThe advisor's changes ({}):", out.changes.len());
        for (at, a) in &out.changes {
            let (_, minute) = calendar::local(*at, out.cfg.hall.utc_offset_minutes);
            println!(
                "  {:02}:{:02} window {} → {:?} {}: mean wait {:.1} → {:.1} min predicted",
                minute / 60,
                minute % 60,
                a.change.window,
                a.change.serves.iter().map(Id::as_str).collect::<Vec<_>>(),
                if a.change.home {
                    "(its own profile)"
                } else {
                    "first"
                },
                a.mean_wait_now_s / 60.0,
                a.mean_wait_with_s / 60.0
            );
        }
    }
    Ok(())
}

/// One simulated day's set-up.
struct Sim<'a> {
    cfg: &'a HallConfig,
    bounds: Bounds,
    pattern: &'a DayPattern,
    date: Date,
    tickets: Option<usize>,
    forecast: Option<u32>,
    mode: Mode,
}

/// What a simulated day left.
struct Outcome {
    day: Day,
    cfg: HallConfig,
    per_hour: BTreeMap<u32, (u32, u32)>,
    told_at: HashMap<u64, Told>,
    changes: Vec<(Millis, Advice)>,
}

impl Sim<'_> {
    fn run(&self, seed: u64) -> anyhow::Result<Outcome> {
        let (pattern, date) = (self.pattern, self.date);
        let mut hall_cfg = self.cfg.clone();
        if self.mode == Mode::Pooled {
            let all: Vec<Id> = hall_cfg.services.iter().map(|s| s.id.clone()).collect();
            for w in &mut hall_cfg.windows {
                w.serves = all.clone();
                w.policy = hallq_core::config::Policy::LongestWait;
                w.weights.clear();
            }
        }
        let offset = hall_cfg.hall.utc_offset_minutes;
        let mut d = Day {
            hall: Hall::new(hall_cfg.clone()),
            now: calendar::at(date.0, 8 * 60, offset),
            rng: StdRng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            order: 0,
            citizens: Vec::new(),
            holders: HashMap::new(),
            first_call: HashMap::new(),
            refused: BTreeMap::new(),
            day: date.0,
            offset,
        };
        // What the forecast knows: the hall file's typical times (the spread
        // a week of the log would have taught, 0.45), walk-ups, the no-show
        // rate and the clerk's turnaround as a week would have taught them.
        let mut model = Model::from_config(&hall_cfg);
        for s in &hall_cfg.services {
            model.no_show.insert(s.id.clone(), pattern.citizens.no_show);
        }
        // Arrivals per service and hour, as the log of earlier days teaches
        // (the same every weekday here).
        let total: f64 = pattern.mix.values().sum();
        for (service, share) in &pattern.mix {
            let per_hour: Vec<f64> = (0..24)
                .map(|h| {
                    let hour_share = pattern.hour_share.get(&h).copied().unwrap_or(0.0);
                    // Walk-ins only: the bookings are the hall's own list.
                    let walk_in = if service == "consult" {
                        1.0
                    } else {
                        1.0 - pattern.citizens.booked
                    };
                    f64::from(pattern.tickets_per_day) * hour_share * share / total * walk_in
                })
                .collect();
            model
                .arrivals
                .insert(Id::parse(service)?, vec![per_hour; 7]);
        }
        // Priority walk-ins and bookings as a week of the log would show them.
        let who = &pattern.citizens;
        for svc in &hall_cfg.services {
            let each = who.priority / 3.0;
            model.classes.insert(
                svc.id.clone(),
                ["elderly", "disabled", "military"]
                    .iter()
                    .map(|c| (Id::parse(c).expect("a class id"), each))
                    .collect(),
            );
        }
        model.booking_show = 1.0 - who.booking_missed;
        // An idle clerk here looks for a new ticket every minute.
        model.idle_notice_s = 30.0;
        model.walk_up_s = 55.0;
        model.no_show_after_s = 55.0;
        model.turnaround_s = 30.0;
        let mut told_at: HashMap<u64, Told> = HashMap::new();
        // The day's citizens, their arrival times, bookings made the day before.
        let windows: Vec<Id> = hall_cfg.windows.iter().map(|w| w.id.clone()).collect();
        // Citizens come while the hall is open (they may still miss the cut-off).
        let sessions = hall_cfg
            .hours
            .as_ref()
            .map(|h| h.sessions(None, d.day).to_vec())
            .unwrap_or_default();
        for (&hour, &share) in &pattern.hour_share {
            let (from, to) = sessions
                .iter()
                .map(|s| (s.open_min.max(hour * 60), s.close_min.min(hour * 60 + 60)))
                .find(|(a, b)| a < b)
                .unwrap_or((hour * 60, hour * 60 + 60));
            let n = (share * self.tickets.unwrap_or(pattern.tickets_per_day as usize) as f64)
                .round() as usize;
            for _ in 0..n {
                let minute = d.rng.random_range(from..to);
                let service = pattern.service(d.rng.random()).to_owned();
                let priority = (d.rng.random::<f64>() < who.priority)
                    .then(|| ["elderly", "disabled", "military"][d.rng.random_range(0..3)]);
                let booked = service != "consult" && d.rng.random::<f64>() < who.booked;
                let absent = d.rng.random::<f64>() < who.no_show;
                let i = d.citizens.len();
                let arrive = calendar::at(d.day, minute, offset) + d.rng.random_range(0..60_000);
                let booking = booked.then(|| format!("bk{i}"));
                if let Some(token) = &booking {
                    // Booked yesterday for the slot they mean to come in.
                    let slot = calendar::at(d.day, minute / 30 * 30, offset);
                    d.now = slot - hallq_core::DAY_MS;
                    let cmd = Command::Book {
                        token: token.clone(),
                        service: Id::parse(&service)?,
                        slot_ms: slot,
                        citizen: format!("citizen{i}"),
                    };
                    if let Err(e) = d.hall.handle(d.now, cmd) {
                        d.refuse(&e);
                    }
                }
                d.citizens.push(Citizen {
                    service,
                    priority,
                    booking,
                    absent: absent && !booked,
                });
                // Some booked citizens never come.
                if !(booked && d.rng.random::<f64>() < who.booking_missed) {
                    d.push(arrive, Happening::Arrive(i));
                }
            }
        }
        d.now = d.at(830);
        for w in &windows {
            let t = d.now + d.rng.random_range(0..180_000);
            d.push(t, Happening::Ready(w.clone()));
        }
        let close = d.at(1730);
        if self.mode == Mode::Advisor {
            let first = d.at(845);
            d.push(first, Happening::Advise);
        }
        let mut changes: Vec<(Millis, Advice)> = Vec::new();
        let mut changed_at: HashMap<Id, Millis> = HashMap::new();
        let mut per_hour: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        let mut lunch: HashMap<Id, bool> = HashMap::new();
        let end_of_day = d.at(2300);
        let mut last_tick = 0;
        while let Some(Reverse((at, _, h))) = d.queue.pop() {
            if at > end_of_day {
                break;
            }
            d.now = at;
            match h {
                Happening::Tick => {
                    // Many commands ask for the same deadline: one tick each.
                    if at > last_tick {
                        last_tick = at;
                        let _ = d.run(Command::Tick);
                    }
                }
                Happening::Advise => {
                    if d.now + ADVISE_EVERY_MS < close {
                        d.push(d.now + ADVISE_EVERY_MS, Happening::Advise);
                    }
                    let recent = changes
                        .iter()
                        .filter(|(t, _)| d.now - t < 3_600_000)
                        .count();
                    if recent >= CHANGES_PER_HOUR {
                        continue;
                    }
                    let bounds = Bounds {
                        frozen: changed_at
                            .iter()
                            .filter(|(_, t)| d.now - **t < WINDOW_REST_MS)
                            .map(|(w, _)| w.clone())
                            .collect(),
                        ..self.bounds.clone()
                    };
                    let now = d.now;
                    if let Some(a) = advise(&d.hall, now, &model, &bounds, seed ^ now as u64) {
                        for c in a.change.commands() {
                            d.run(c)?;
                        }
                        changed_at.insert(a.change.window.clone(), now);
                        changes.push((now, a));
                    }
                }
                Happening::Arrive(i) => {
                    let c = d.citizens[i].clone();
                    let token = format!("t{i}");
                    let cmd = match &c.booking {
                        Some(b) => Command::CheckIn {
                            booking: b.clone(),
                            token: token.clone(),
                        },
                        None => Command::IssueTicket {
                            service: Id::parse(&c.service)?,
                            token: token.clone(),
                            class: c.priority.map(Id::parse).transpose()?,
                            citizen: Some(format!("citizen{i}")),
                        },
                    };
                    match d.run(cmd) {
                        Ok(_) => {
                            if let (Some(runs), Some(t)) =
                                (self.forecast, d.hall.ticket_by_token(&token))
                            {
                                let told = estimates(&d.hall, t, d.now, &model, runs, i as u64);
                                told_at.insert(t.id.0, told);
                            }
                            d.holders.insert(token, i);
                            let (_, minute) = calendar::local(d.now, offset);
                            per_hour.entry(minute / 60).or_default().0 += 1;
                        }
                        Err(e) => d.refuse(&e),
                    }
                }
                Happening::Ready(w) => {
                    let rt = d.hall.window(w.as_str()).expect("window");
                    if !rt.open {
                        if d.now < close {
                            d.run(Command::Open {
                                window: w.clone(),
                                clerk: Some(format!("clerk{w}")),
                            })?;
                        } else {
                            continue;
                        }
                    }
                    if lunch.get(&w).copied().unwrap_or(false) {
                        d.run(Command::Resume { window: w.clone() })?;
                        lunch.insert(w.clone(), false);
                    }
                    match d.run(Command::CallNext {
                        window: w.clone(),
                        service: None,
                    }) {
                        Ok(events) => {
                            for e in &events {
                                if let Event::TicketCalled { ticket, .. } = e {
                                    d.first_call.entry(ticket.0).or_insert(d.now);
                                }
                            }
                            let answer = d.now + d.rng.random_range(20_000..90_000);
                            d.push(answer, Happening::Answer(w));
                        }
                        Err(CoreError::QueueEmpty) => {
                            let (_, minute) = calendar::local(d.now, offset);
                            if d.now >= close {
                                d.run(Command::Close { window: w.clone() })?;
                            } else if (12 * 60..13 * 60 + 30).contains(&minute) {
                                d.run(Command::Pause {
                                    window: w.clone(),
                                    reason: "午休".into(),
                                })?;
                                lunch.insert(w.clone(), true);
                                let back = d.at(1330);
                                d.push(back, Happening::Ready(w));
                            } else {
                                let t = d.now + 60_000;
                                d.push(t, Happening::Ready(w));
                            }
                        }
                        Err(e) => return Err(anyhow::anyhow!("window {w}: {e}")),
                    }
                }
                Happening::Answer(w) => {
                    let Some(id) = d.hall.window(w.as_str()).and_then(|r| r.current) else {
                        continue;
                    };
                    let t = d.hall.ticket(id).expect("ticket").clone();
                    let citizen = d.holders.get(&t.token).map(|i| d.citizens[*i].clone());
                    if citizen.as_ref().is_some_and(|c| c.absent) {
                        d.run(Command::NoShow { window: w.clone() })?;
                        let t = d.now + 30_000;
                        d.push(t, Happening::Ready(w));
                        continue;
                    }
                    d.run(Command::Start { window: w.clone() })?;
                    let typical = hall_cfg
                        .service(t.service.as_str())
                        .map_or(10, |s| s.typical_min);
                    let took = d.minutes(f64::from(typical));
                    d.push(d.now + took, Happening::Done(w));
                }
                Happening::Done(w) => {
                    let id = d
                        .hall
                        .window(w.as_str())
                        .and_then(|r| r.current)
                        .expect("serving");
                    let t = d.hall.ticket(id).expect("ticket").clone();
                    if t.service.as_str() == "consult"
                        && t.transfers == 0
                        && d.rng.random::<f64>() < who.consult_handed_on
                    {
                        let to = ["business", "property", "social"][d.rng.random_range(0..3)];
                        d.run(Command::Transfer {
                            window: w.clone(),
                            to_service: Some(Id::parse(to)?),
                            to_window: None,
                            note: "咨询后转办".into(),
                        })?;
                    } else {
                        d.run(Command::Finish { window: w.clone() })?;
                        let (_, minute) = calendar::local(d.now, offset);
                        per_hour.entry(minute / 60).or_default().1 += 1;
                        if d.rng.random::<f64>() < who.rating {
                            let score = [5, 5, 5, 4, 4, 3, 2][d.rng.random_range(0..7)];
                            let _ = d.run(Command::Rate {
                                ticket: t.token.clone(),
                                window: Some(w.clone()),
                                score,
                            });
                        }
                    }
                    let t = d.now + 30_000;
                    d.push(t, Happening::Ready(w));
                }
            }
        }
        Ok(Outcome {
            day: d,
            cfg: hall_cfg,
            per_hour,
            told_at,
            changes,
        })
    }
}

/// (real wait, forecast told at the kiosk) of every ticket called that had
/// a forecast, in seconds.
fn samples(out: &Outcome) -> Vec<(f64, Spread)> {
    out.told_at
        .iter()
        .filter_map(|(id, t)| {
            let called = out.day.first_call.get(id)?;
            let (mean, low, high) = t.forecast?;
            Some((
                (called - t.issued) as f64 / 1000.0,
                Spread {
                    low_s: low as u32,
                    mean_s: mean as u32,
                    high_s: high as u32,
                },
            ))
        })
        .collect()
}

/// Every ticket's wait to its first call, in minutes, by service; a ticket
/// never called (the day ended) waited until the hall closed.
fn waits(out: &Outcome) -> Vec<(Id, f64)> {
    let close = out.day.at(1730);
    out.day
        .hall
        .tickets()
        .filter(|t| t.booking.is_none() || t.state != TicketState::Waiting)
        .map(|t| {
            let until = match out.day.first_call.get(&t.id.0) {
                Some(at) => *at,
                None => close.max(t.issued_ms),
            };
            (t.service.clone(), (until - t.issued_ms) as f64 / 60_000.0)
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn p90(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len().max(1) - 1) as f64 * 0.9).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

/// Static profiles, the advisor and full pooling on the same days (seeds
/// 1..=n), side by side.
fn compare(
    cfg: &HallConfig,
    bounds: &Bounds,
    pattern: &DayPattern,
    date: Date,
    tickets: Option<usize>,
    n: u64,
) -> anyhow::Result<()> {
    let modes = [Mode::Static, Mode::Advisor, Mode::Pooled];
    // Seeds on both cores.
    let seeds: Vec<u64> = (1..=n).collect();
    let results: Vec<(u64, Vec<Outcome>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(n.div_ceil(2).max(1) as usize)
            .map(|chunk| {
                scope.spawn(move || -> anyhow::Result<Vec<(u64, Vec<Outcome>)>> {
                    chunk
                        .iter()
                        .map(|&seed| {
                            let outs = modes
                                .iter()
                                .map(|&mode| {
                                    Sim {
                                        cfg,
                                        bounds: bounds.clone(),
                                        pattern,
                                        date,
                                        tickets,
                                        forecast: None,
                                        mode,
                                    }
                                    .run(seed)
                                })
                                .collect::<anyhow::Result<Vec<_>>>()?;
                            Ok((seed, outs))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a day panicked"))
            .collect::<anyhow::Result<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect())
    })?;
    println!(
        "hallq-day --compare: {} ({date}), seeds 1–{n}, the same arrivals per seed in each mode\n",
        cfg.hall.name
    );
    println!("seed   static mean/p90   advisor mean/p90 (changes)   pooled mean/p90   (minutes)");
    let mut ratio_mean = Vec::new();
    let mut ratio_p90 = Vec::new();
    let mut pooled_mean = Vec::new();
    let mut pooled_p90 = Vec::new();
    let mut by_service: BTreeMap<Id, Vec<(f64, f64, f64)>> = BTreeMap::new();
    let mut sums = [
        (Vec::new(), Vec::new()),
        (Vec::new(), Vec::new()),
        (Vec::new(), Vec::new()),
    ];
    for (seed, outs) in &results {
        let w: Vec<Vec<(Id, f64)>> = outs.iter().map(waits).collect();
        let all: Vec<Vec<f64>> = w
            .iter()
            .map(|v| v.iter().map(|(_, x)| *x).collect())
            .collect();
        let (m, q): (Vec<f64>, Vec<f64>) = all.iter().map(|v| (mean(v), p90(v))).unzip();
        println!(
            "{seed:4}   {:6.1} / {:5.1}    {:6.1} / {:5.1} ({:2})          {:6.1} / {:5.1}",
            m[0],
            q[0],
            m[1],
            q[1],
            outs[1].changes.len(),
            m[2],
            q[2]
        );
        for k in 0..3 {
            sums[k].0.push(m[k]);
            sums[k].1.push(q[k]);
        }
        ratio_mean.push(m[1] / m[0]);
        ratio_p90.push(q[1] / q[0]);
        pooled_mean.push(m[2] / m[0]);
        pooled_p90.push(q[2] / q[0]);
        for s in &cfg.services {
            let per = |k: usize| {
                let v: Vec<f64> = w[k]
                    .iter()
                    .filter(|(x, _)| *x == s.id)
                    .map(|(_, x)| *x)
                    .collect();
                mean(&v)
            };
            by_service
                .entry(s.id.clone())
                .or_default()
                .push((per(0), per(1), per(2)));
        }
    }
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, mean(v), hi)
    };
    println!("\nover {n} seeds (min / mean / max):");
    for (k, name) in ["static profiles", "advisor (automatic)", "full pooling"]
        .iter()
        .enumerate()
    {
        let (a, b, c) = range(&sums[k].0);
        let (d, e, f) = range(&sums[k].1);
        println!(
            "  {name:<20} mean wait {a:5.1} / {b:5.1} / {c:5.1} min   p90 {d:5.1} / {e:5.1} / {f:5.1} min"
        );
    }
    let pct = |(lo, m, hi): (f64, f64, f64)| {
        format!(
            "{:+.0} % (seeds {:+.0} … {:+.0} %)",
            (m - 1.0) * 100.0,
            (lo - 1.0) * 100.0,
            (hi - 1.0) * 100.0
        )
    };
    println!(
        "  advisor against static: mean wait {}, p90 {}",
        pct(range(&ratio_mean)),
        pct(range(&ratio_p90))
    );
    println!(
        "  pooling against static: mean wait {}, p90 {}",
        pct(range(&pooled_mean)),
        pct(range(&pooled_p90))
    );
    println!(
        "\nper service, mean wait (min, mean over seeds): static → advisor (worst seed) · pooled"
    );
    for s in &cfg.services {
        let v = &by_service[&s.id];
        let st = mean(&v.iter().map(|x| x.0).collect::<Vec<_>>());
        let ad = mean(&v.iter().map(|x| x.1).collect::<Vec<_>>());
        let po = mean(&v.iter().map(|x| x.2).collect::<Vec<_>>());
        let worst = v
            .iter()
            .map(|(a, b, _)| if *a > 0.5 { b / a - 1.0 } else { 0.0 })
            .fold(f64::NEG_INFINITY, f64::max);
        println!(
            "  {:<12} {st:6.1} → {ad:6.1} ({:+.0} %, worst seed {:+.0} %) · {po:6.1}",
            s.name,
            (ad / st.max(1e-9) - 1.0) * 100.0,
            worst * 100.0
        );
    }
    Ok(())
}

/// What a citizen was told when taking the ticket, in seconds.
#[derive(Debug, Clone, Copy)]
struct Told {
    issued: Millis,
    /// Today's estimate: typical × (ahead + ½) ÷ open windows.
    today: f64,
    /// The industry formula: average handling time × position ÷ agents.
    industry: f64,
    /// The core's forecast: mean, 20th and 80th percentile.
    forecast: Option<(f64, f64, f64)>,
}

fn estimates(
    hall: &Hall,
    t: &hallq_core::Ticket,
    now: Millis,
    model: &Model,
    runs: u32,
    seed: u64,
) -> Told {
    let place = hall.place(t);
    let typical = hall
        .config()
        .service(t.service.as_str())
        .map_or(600.0, |s| f64::from(s.typical_min) * 60.0);
    let agents = hall
        .windows()
        .filter(|(id, rt)| {
            rt.serves.contains(&t.service)
                && !matches!(
                    hall.status(id.as_str()),
                    Some(hallq_core::WindowStatus::Closed | hallq_core::WindowStatus::Paused)
                )
        })
        .count()
        .max(1) as f64;
    let spread = forecast(hall, now, model, runs, seed).get(&t.id).copied();
    Told {
        issued: t.issued_ms,
        today: f64::from(place.estimated_wait_s),
        industry: typical * f64::from(place.ahead + 1) / agents,
        forecast: spread.map(|s| (f64::from(s.mean_s), f64::from(s.low_s), f64::from(s.high_s))),
    }
}

/// Each estimate's mean absolute error against the real waits (tickets
/// that were called and forecast), and how many real waits fell inside the
/// forecast's range.
fn accuracy(d: &Day, told_at: &HashMap<u64, Told>) {
    let rows: Vec<(f64, Told)> = told_at
        .iter()
        .filter_map(|(id, t)| {
            let called = d.first_call.get(id)?;
            t.forecast?;
            Some(((called - t.issued) as f64 / 1000.0, *t))
        })
        .collect();
    if rows.is_empty() {
        println!("no forecast ticket was called");
        return;
    }
    let n = rows.len() as f64;
    let mae =
        |f: fn(&Told) -> f64| rows.iter().map(|(w, t)| (w - f(t)).abs()).sum::<f64>() / n / 60.0;
    let inside = rows
        .iter()
        .filter(|(w, t)| {
            let (_, low, high) = t.forecast.expect("forecast");
            *w >= low && *w <= high
        })
        .count() as f64
        / n;
    let mean_wait = rows.iter().map(|(w, _)| w).sum::<f64>() / n / 60.0;
    println!();
    println!(
        "Wait estimates told at the kiosk, against the real wait ({} tickets, mean wait {mean_wait:.1} min)",
        rows.len()
    );
    println!(
        "  mean absolute error: today's estimate {:.1} min, industry formula {:.1} min, forecast {:.1} min",
        mae(|t| t.today),
        mae(|t| t.industry),
        mae(|t| t.forecast.expect("forecast").0)
    );
    let below = rows
        .iter()
        .filter(|(w, t)| *w < t.forecast.expect("forecast").1)
        .count() as f64
        / n;
    let bias = rows
        .iter()
        .map(|(w, t)| w - t.forecast.expect("forecast").0)
        .sum::<f64>()
        / n
        / 60.0;
    println!(
        "  real wait inside the forecast's 20–80 % range: {:.0} % ({:.0} % below it, {:.0} % above; real − forecast {bias:+.1} min on average)",
        inside * 100.0,
        below * 100.0,
        (1.0 - inside - below) * 100.0
    );
}

fn report(d: &Day, cfg: &HallConfig, per_hour: &BTreeMap<u32, (u32, u32)>, date: Date, seed: u64) {
    let hall = &d.hall;
    println!(
        "hallq-day: {} ({date}), seed {seed}, through the core in simulated time",
        cfg.hall.name
    );
    println!("\nhour  taken  finished");
    for (h, (taken, done)) in per_hour {
        println!("{h:02}    {taken:5}  {done:8}");
    }
    println!(
        "\nservice        tickets served no-show  wait p50  wait p90  wait max  service avg  over limit"
    );
    let mut all_waits = Vec::new();
    for s in &cfg.services {
        let tickets: Vec<_> = hall
            .tickets()
            .filter(|t| t.number.starts_with(s.prefix))
            .collect();
        let mut waits: Vec<i64> = tickets
            .iter()
            .filter_map(|t| Some((d.first_call.get(&t.id.0)? - t.issued_ms) / 60_000))
            .collect();
        waits.sort();
        all_waits.extend(waits.iter().copied());
        let q = |p: f64| {
            waits
                .get(((waits.len().max(1) - 1) as f64 * p) as usize)
                .copied()
                .unwrap_or(0)
        };
        let done: Vec<_> = hall
            .tickets()
            .filter(|t| t.service == s.id && t.state == TicketState::Done)
            .collect();
        let avg = done
            .iter()
            .filter_map(|t| Some(t.ended_ms? - t.started_ms?))
            .sum::<i64>()
            / (done.len().max(1) as i64)
            / 60_000;
        let over = done
            .iter()
            .filter(|t| t.service_card == Some(CardLevel::Red))
            .count();
        let no_show = tickets
            .iter()
            .filter(|t| t.state == TicketState::NoShow)
            .count();
        println!(
            "{:<14} {:7} {:6} {:7}  {:5} min {:5} min {:5} min  {:7} min  {:10}",
            s.name,
            tickets.len(),
            done.len(),
            no_show,
            q(0.5),
            q(0.9),
            waits.last().copied().unwrap_or(0),
            avg,
            over
        );
    }
    all_waits.sort();
    let tickets: Vec<_> = hall.tickets().collect();
    let count = |f: &dyn Fn(&hallq_core::Ticket) -> bool| tickets.iter().filter(|t| f(t)).count();
    let (yw, rw, ys, rs) =
        hall.card_counts()
            .iter()
            .fold((0, 0, 0, 0), |acc, ((_, _, kind, level), n)| {
                match (kind, level) {
                    (hallq_core::CardKind::Wait, CardLevel::Yellow) => {
                        (acc.0 + n, acc.1, acc.2, acc.3)
                    }
                    (hallq_core::CardKind::Wait, CardLevel::Red) => {
                        (acc.0, acc.1 + n, acc.2, acc.3)
                    }
                    (hallq_core::CardKind::Service, CardLevel::Yellow) => {
                        (acc.0, acc.1, acc.2 + n, acc.3)
                    }
                    (hallq_core::CardKind::Service, CardLevel::Red) => {
                        (acc.0, acc.1, acc.2, acc.3 + n)
                    }
                }
            });
    let rated: Vec<u8> = tickets.iter().filter_map(|t| t.rating).collect();
    let overtime: u32 = tickets.iter().map(|t| t.overtime_s).sum();
    let last_end = tickets.iter().filter_map(|t| t.ended_ms).max().unwrap_or(0);
    let (_, last_minute) = calendar::local(last_end, d.offset);
    println!(
        "\ntickets {} · finished {} · no-shows {} · put back once {} · transferred {} · priority {} · from bookings {}",
        tickets.len(),
        count(&|t| t.state == TicketState::Done),
        count(&|t| t.state == TicketState::NoShow),
        count(&|t| t.put_back),
        count(&|t| t.transfers > 0),
        count(&|t| t.class.as_ref().is_some_and(|c| c.as_str() != "booking")),
        count(&|t| t.booking.is_some()),
    );
    let missed = hall
        .bookings()
        .filter(|(_, b)| b.state == hallq_core::booking::BookingState::Missed)
        .count();
    println!("bookings missed {missed} · refused {:?}", d.refused);
    println!(
        "wait to first call: p50 {} min, p90 {} min, max {} min",
        all_waits.get(all_waits.len() / 2).copied().unwrap_or(0),
        all_waits
            .get(all_waits.len() * 9 / 10)
            .copied()
            .unwrap_or(0),
        all_waits.last().copied().unwrap_or(0)
    );
    println!("cards: waiting yellow {yw} red {rw} · service yellow {ys} red {rs}");
    println!(
        "ratings {} (avg {:.2}) · overtime after closing {} min in all · last citizen done {:02}:{:02}",
        rated.len(),
        rated.iter().map(|r| f64::from(*r)).sum::<f64>() / rated.len().max(1) as f64,
        overtime / 60,
        last_minute / 60,
        last_minute % 60
    );
}

/// `--weeks`: cases over weeks, per department, for 5 seeds.
fn case_weeks(
    cfg: &HallConfig,
    pattern: &DayPattern,
    date: Date,
    weeks: i64,
    seed: u64,
) -> anyhow::Result<()> {
    let cases = pattern
        .cases
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the day pattern has no [cases]"))?;
    let days = weeks * 7;
    println!(
        "hallq-day --weeks {weeks}: cases behind the counter, {} to {}, seeds {seed}..{}",
        date,
        Date(date.0 + days - 1),
        seed + 4
    );
    println!(
        "  limits: {}",
        cfg.services
            .iter()
            .filter(|s| s.limit_days > 0)
            .map(|s| format!(
                "{} {} working days{}",
                s.name,
                s.limit_days,
                if s.deemed_approval {
                    " (超时默许)"
                } else {
                    ""
                }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  {:<16} {:>6} {:>8} {:>8} {:>12} {:>6} {:>7} {:>9} {:>6} {:>6}",
        "department",
        "seed",
        "accepted",
        "decided",
        "on time %",
        "late",
        "deemed",
        "avg days",
        "yellow",
        "red"
    );
    let mut shares: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in seed..seed + 5 {
        let started = std::time::Instant::now();
        let w = hallq_demo::cases::simulate(
            cfg,
            cases,
            pattern.tickets_per_day,
            &pattern.mix,
            date.0,
            days,
            s,
        )?;
        let cards = w.hall.case_card_counts();
        // What the per-department figures cost (the owner makes them for
        // each `metrics` message, at most once a second).
        let timed = std::time::Instant::now();
        let report = hallq_server::cases::case_report(&w.hall);
        let report_us = timed.elapsed().as_micros();
        // And what they add to the hall's copy for readers (made by the owner).
        let timed = std::time::Instant::now();
        let copy = w.hall.clone();
        let copy_us = timed.elapsed().as_micros();
        drop(copy);
        for f in report {
            let given = |level| {
                cards
                    .iter()
                    .filter(|((d, l), _)| {
                        *l == level
                            && (f.department.is_none()
                                || d.as_ref().map(|d| d.as_str()) == f.department.as_deref())
                    })
                    .map(|(_, n)| *n)
                    .sum::<u32>()
            };
            let name = f
                .department_name
                .split(" / ")
                .next()
                .unwrap_or("")
                .to_owned();
            if let Some(p) = f.on_time_percent {
                shares.entry(name.clone()).or_default().push(p);
            }
            println!(
                "  {:<16} {:>6} {:>8} {:>8} {:>12} {:>6} {:>7} {:>9} {:>6} {:>6}",
                name,
                s,
                f.accepted,
                f.decided,
                f.on_time_percent.map_or("–".into(), |p| format!("{p:.1}")),
                f.late,
                f.deemed,
                f.avg_days.map_or("–".into(), |d| format!("{d:.1}")),
                given(CardLevel::Yellow),
                given(CardLevel::Red),
            );
        }
        eprintln!(
            "  (seed {s}: {} events through the core in {} ms; the figures of {} cases in {report_us} µs; a copy of the hall in {copy_us} µs)",
            w.records.len(),
            started.elapsed().as_millis(),
            w.hall.cases().count()
        );
    }
    println!("  on-time share over the seeds (min–max):");
    for (name, v) in shares {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
        println!("    {name:<14} {lo:.1}–{hi:.1} %");
    }
    Ok(())
}
