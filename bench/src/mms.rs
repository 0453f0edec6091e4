//! `hallq-mms`: the hall simulator checked against queueing theory before
//! anything is built on it (issue 14, part 1).
//!
//! An M/M/s queue run through the real core: one service, `s` windows that
//! serve it, Poisson arrivals (`IssueTicket`), exponential service times;
//! a window that finishes calls the next ticket at once (`CallNext`,
//! `Start`), as a clerk does. The wait is from the ticket to its call.
//! Days of 12 open hours, the first hour of each left out (the queue
//! starts empty every morning), many days.
//!
//! 1. **Erlang C.** 100 calls per 30 minutes, 3-minute handling, 14
//!    windows: the share of citizens called within 20 s (the service
//!    level), the probability of waiting at all and the mean wait, against
//!    the Erlang-C formulas.
//! 2. **The queue-length predictor** on M/M/100 at loads 0.90, 0.95, 0.98:
//!    a delayed citizen with `n` waiting ahead is told `(n + 1) / (s μ)`;
//!    its RASE — the average squared error over delayed citizens divided
//!    by the square of their average wait — against theory (for M/M/s it
//!    is `1 − ρ`: a delayed arrival sees a geometric queue) and the values
//!    Ibrahim & Whitt (2009) report from their own simulation.
//!
//! Run: `cargo run --release -p hallq-bench --bin hallq-mms [-- --days 40]`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;

use clap::Parser;
use hallq_core::calendar::{self, Date};
use hallq_core::forecast::{Model, ServiceTime, forecast};
use hallq_core::{Command, Event, Hall, HallConfig, Id, Millis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Simulated days (12 open hours each) per figure.
    #[arg(long, default_value_t = 40)]
    days: u32,
    /// Days for the forecast's figure (each forecast copies the hall).
    #[arg(long, default_value_t = 3)]
    forecast_days: u32,
    /// Forecast every this many delayed citizens.
    #[arg(long, default_value_t = 20)]
    every: u64,
    /// Runs per forecast.
    #[arg(long, default_value_t = 100)]
    runs: u32,
}

/// One M/M/s system.
#[derive(Debug, Clone, Copy)]
struct Mms {
    /// Arrivals a second.
    lambda: f64,
    /// Mean service time, seconds.
    service_s: f64,
    windows: usize,
}

/// What one citizen went through.
#[derive(Debug, Clone, Copy)]
struct Wait {
    wait_s: f64,
    /// Waiting ahead when the ticket was taken, when every window was busy.
    ahead_if_delayed: Option<u32>,
    /// The core's Monte Carlo forecast when the ticket was taken, for the
    /// sampled ones.
    forecast: Option<Told>,
}

/// A forecast as told: mean, 20th and 80th percentile, in seconds.
#[derive(Debug, Clone, Copy)]
struct Told {
    mean: f64,
    low: f64,
    high: f64,
}

/// Which delayed citizens get a forecast, and with how many runs.
#[derive(Debug, Clone, Copy)]
struct Sample {
    every: u64,
    runs: u32,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "hallq-mms: M/M/s through the real core, {} days of 12 h per figure (the first hour of each left out), seed {}",
        args.days, args.seed
    );

    // 1. Erlang C.
    let m = Mms {
        lambda: 100.0 / 1800.0,
        service_s: 180.0,
        windows: 14,
    };
    let waits = simulate(m, args.days, args.seed, None)?;
    let n = waits.len() as f64;
    let within = waits.iter().filter(|w| w.wait_s <= 20.0).count() as f64 / n;
    let delayed = waits.iter().filter(|w| w.wait_s > 0.0).count() as f64 / n;
    let mean = waits.iter().map(|w| w.wait_s).sum::<f64>() / n;
    let c = erlang_c(m);
    let drain = m.windows as f64 / m.service_s - m.lambda;
    println!();
    println!(
        "1. Erlang C: 100 arrivals / 30 min, 3 min handling, 14 windows ({} citizens)",
        waits.len()
    );
    println!("                          simulated   Erlang C");
    println!(
        "   called within 20 s      {within:>8.3}   {:>8.3}",
        1.0 - c * (-drain * 20.0).exp()
    );
    println!("   waited at all           {delayed:>8.3}   {c:>8.3}");
    println!(
        "   mean wait (s)           {mean:>8.1}   {:>8.1}",
        c / drain
    );

    // 2. The queue-length predictor on M/M/100.
    println!();
    println!("2. Queue-length predictor on M/M/100, RASE over delayed citizens");
    println!("   load   delayed   simulated   theory (1 − ρ)   Ibrahim & Whitt");
    for (rho, reported) in [(0.90, 0.086), (0.95, 0.045), (0.98, 0.020)] {
        let m = Mms {
            lambda: rho * 100.0 / 180.0,
            service_s: 180.0,
            windows: 100,
        };
        let waits = simulate(m, args.days, args.seed, None)?;
        let rate = m.windows as f64 / m.service_s;
        let pairs: Vec<(f64, f64)> = waits
            .iter()
            .filter_map(|w| {
                w.ahead_if_delayed
                    .map(|k| (w.wait_s, f64::from(k + 1) / rate))
            })
            .collect();
        let k = pairs.len() as f64;
        let ase = pairs.iter().map(|(w, p)| (w - p).powi(2)).sum::<f64>() / k;
        let avg = pairs.iter().map(|(w, _)| w).sum::<f64>() / k;
        println!(
            "   {rho:.2}   {:>7}   {:>9.3}   {:>14.3}   {reported:>15.3}",
            pairs.len(),
            ase / avg.powi(2),
            1.0 - rho
        );
    }

    // 3. The core's own forecast against the queue-length predictor.
    println!();
    println!(
        "3. The core's Monte Carlo forecast ({} runs) against the queue-length predictor, M/M/100, {} days",
        args.runs, args.forecast_days
    );
    println!("   load   forecasts   RASE forecast   RASE QL   ratio   inside its 20–80 % range");
    for rho in [0.90, 0.95] {
        let m = Mms {
            lambda: rho * 100.0 / 180.0,
            service_s: 180.0,
            windows: 100,
        };
        let sample = Sample {
            every: args.every,
            runs: args.runs,
        };
        let waits = simulate(m, args.forecast_days, args.seed, Some(sample))?;
        let rate = m.windows as f64 / m.service_s;
        // (real wait, queue-length prediction, forecast)
        let told: Vec<(f64, f64, Told)> = waits
            .iter()
            .filter_map(|w| {
                Some((
                    w.wait_s,
                    f64::from(w.ahead_if_delayed? + 1) / rate,
                    w.forecast?,
                ))
            })
            .collect();
        let k = told.len() as f64;
        let avg = told.iter().map(|t| t.0).sum::<f64>() / k;
        let rase = |pick: fn(&(f64, f64, Told)) -> f64| {
            told.iter().map(|t| (t.0 - pick(t)).powi(2)).sum::<f64>() / k / avg.powi(2)
        };
        let (mc, ql) = (rase(|t| t.2.mean), rase(|t| t.1));
        let inside = told
            .iter()
            .filter(|t| t.0 >= t.2.low && t.0 <= t.2.high)
            .count() as f64
            / k;
        println!(
            "   {rho:.2}   {:>9}   {mc:>13.3}   {ql:>7.3}   {:>5.3}   {:>5.1} %",
            told.len(),
            mc / ql,
            inside * 100.0
        );
    }
    Ok(())
}

/// Erlang C: the probability that an arrival waits.
fn erlang_c(m: Mms) -> f64 {
    let a = m.lambda * m.service_s;
    let s = m.windows;
    // Erlang B by its recursion, then C from B.
    let mut b = 1.0;
    for k in 1..=s {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / s as f64;
    b / (1.0 - rho + rho * b)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Happening {
    Arrive,
    /// The window's citizen is done.
    Done(usize),
}

/// `days` days of `m` through the core; the waits of those who took their
/// ticket after the first hour.
fn simulate(m: Mms, days: u32, seed: u64, sample: Option<Sample>) -> anyhow::Result<Vec<Wait>> {
    let config = hall(m.windows)?;
    let offset = config.hall.utc_offset_minutes;
    let first = Date::try_from("2026-11-30".to_owned()).map_err(anyhow::Error::msg)?;
    let mut rng = StdRng::seed_from_u64(seed ^ (m.windows as u64) ^ m.lambda.to_bits());
    let windows: Vec<Id> = config.windows.iter().map(|w| w.id.clone()).collect();
    let service = Id::parse("s")?;
    // What the forecast knows: the true service-time law, no walk-ups, no
    // no-shows, and arrivals that cannot overtake (one service, in order).
    let mut model = Model::from_config(&config);
    model.service_time.insert(
        service.clone(),
        ServiceTime::Exponential {
            mean_s: m.service_s,
        },
    );
    model.walk_up_s = 0.0;
    let exp = |rng: &mut StdRng, mean_s: f64| -> Millis {
        let u: f64 = rng.random::<f64>().max(1e-12);
        (-u.ln() * mean_s * 1000.0).round() as Millis
    };
    let mut out = Vec::new();
    for d in 0..days {
        let day = first.0 + i64::from(d);
        let open = calendar::at(day, 8 * 60, offset);
        let (count_from, close) = (open + 3_600_000, open + 12 * 3_600_000);
        let mut hall = Hall::new(config.clone());
        for w in &windows {
            hall.handle(
                open,
                Command::Open {
                    window: w.clone(),
                    clerk: None,
                },
            )?;
        }
        let mut idle: Vec<usize> = (0..windows.len()).rev().collect();
        let mut queue: BinaryHeap<Reverse<(Millis, u64, Happening)>> = BinaryHeap::new();
        let mut order = 0u64;
        let mut push = |q: &mut BinaryHeap<_>, at: Millis, h: Happening| {
            order += 1;
            q.push(Reverse((at, order, h)));
        };
        push(
            &mut queue,
            open + exp(&mut rng, 1.0 / m.lambda),
            Happening::Arrive,
        );
        // Ticket → (taken at, waiting ahead when every window was busy).
        let mut taken: HashMap<u64, (Millis, Option<u32>, Option<Told>)> = HashMap::new();
        let mut delayed_count = 0u64;
        let mut waiting = 0u32;
        let mut i = 0u64;
        while let Some(Reverse((now, _, h))) = queue.pop() {
            let window = match h {
                Happening::Arrive => {
                    if now >= close {
                        continue;
                    }
                    push(
                        &mut queue,
                        now + exp(&mut rng, 1.0 / m.lambda),
                        Happening::Arrive,
                    );
                    i += 1;
                    let records = hall.handle(
                        now,
                        Command::IssueTicket {
                            service: service.clone(),
                            token: format!("t{d}-{i}"),
                            class: None,
                            citizen: None,
                        },
                    )?;
                    let ticket = records
                        .iter()
                        .find_map(|r| match &r.event {
                            Event::TicketIssued { ticket, .. } => Some(ticket.0),
                            _ => None,
                        })
                        .expect("a ticket");
                    let delayed = idle.is_empty().then_some(waiting);
                    let mut told = None;
                    if let (Some(sample), Some(_)) = (sample, delayed) {
                        delayed_count += 1;
                        if delayed_count.is_multiple_of(sample.every) && now >= count_from {
                            let f = forecast(&hall, now, &model, sample.runs, i);
                            told = f.get(&hallq_core::TicketId(ticket)).map(|s| Told {
                                mean: f64::from(s.mean_s),
                                low: f64::from(s.low_s),
                                high: f64::from(s.high_s),
                            });
                        }
                    }
                    taken.insert(ticket, (now, delayed, told));
                    waiting += 1;
                    match idle.pop() {
                        Some(w) => w,
                        None => continue,
                    }
                }
                Happening::Done(w) => {
                    hall.handle(
                        now,
                        Command::Finish {
                            window: windows[w].clone(),
                        },
                    )?;
                    if waiting == 0 {
                        idle.push(w);
                        continue;
                    }
                    w
                }
            };
            // The window calls the next ticket and starts at once.
            let records = hall.handle(
                now,
                Command::CallNext {
                    window: windows[window].clone(),
                    service: None,
                },
            )?;
            hall.handle(
                now,
                Command::Start {
                    window: windows[window].clone(),
                },
            )?;
            waiting -= 1;
            let ticket = records
                .iter()
                .find_map(|r| match &r.event {
                    Event::TicketCalled { ticket, .. } => Some(ticket.0),
                    _ => None,
                })
                .expect("a call");
            let (at, ahead, told) = taken.remove(&ticket).expect("a taken ticket");
            if at >= count_from {
                out.push(Wait {
                    wait_s: (now - at) as f64 / 1000.0,
                    ahead_if_delayed: ahead,
                    forecast: told,
                });
            }
            push(
                &mut queue,
                now + exp(&mut rng, m.service_s),
                Happening::Done(window),
            );
        }
    }
    Ok(out)
}

/// A hall of one service and `windows` windows that serve it, open around
/// the clock, without caps or cards.
fn hall(windows: usize) -> anyhow::Result<HallConfig> {
    let mut text = String::from(
        "[hall]\nid = \"mms\"\nname = \"M/M/s\"\n\n\
         [[services]]\nid = \"s\"\nprefix = \"A\"\nname = \"排队\"\ntypical_min = 3\nlimit_min = 100000\ndaily_cap = 0\nmaterials = []\n",
    );
    for w in 1..=windows {
        text.push_str(&format!(
            "\n[[windows]]\nid = \"{w}\"\nname = \"{w}号窗口\"\nserves = [\"s\"]\n"
        ));
    }
    Ok(hallq_server::config::parse_hall(
        Path::new("mms.toml"),
        &text,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL_CENTRE: Mms = Mms {
        lambda: 100.0 / 1800.0,
        service_s: 180.0,
        windows: 14,
    };

    #[test]
    fn the_erlang_c_formula_gives_the_known_service_level() {
        let c = erlang_c(CALL_CENTRE);
        let drain: f64 = 14.0 / 180.0 - 100.0 / 1800.0;
        let level = 1.0 - c * (-drain * 20.0).exp();
        assert!((level - 0.888).abs() < 0.001, "{level}");
    }

    #[test]
    fn the_core_run_as_m_m_s_waits_as_erlang_c_says() {
        let waits = simulate(CALL_CENTRE, 10, 7, None).unwrap();
        let n = waits.len() as f64;
        assert!(n > 15_000.0, "{n}");
        let delayed = waits.iter().filter(|w| w.wait_s > 0.0).count() as f64 / n;
        let within = waits.iter().filter(|w| w.wait_s <= 20.0).count() as f64 / n;
        assert!((delayed - erlang_c(CALL_CENTRE)).abs() < 0.03, "{delayed}");
        assert!((within - 0.888).abs() < 0.03, "{within}");
        // Nobody is called before an earlier ticket: FIFO with one service.
        assert!(waits.iter().all(|w| w.wait_s >= 0.0));
    }
}
