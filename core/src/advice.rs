//! The rebalancing advisor (issue 14, part 5): which one change to the
//! hall's windows would cut the waits most. The hall is copied and run
//! forward — the same runs as the wait forecast ([`crate::forecast`]) —
//! once as it is and once for each candidate change, with the same random
//! draws for every candidate (common random numbers: the differences are
//! the changes', not the dice's). The best candidate that makes no
//! service's wait much longer is advised when it saves enough.
//!
//! Candidates, for the services whose waits are longest in the runs as
//! things stand:
//!
//! - a window puts such a service first (`strict`: it calls it whenever
//!   one waits, its own services otherwise), keeping at most
//!   [`Bounds::max_services`] services;
//! - a window takes such a service beside its own (longest wait first);
//! - a closed window opens with that service first (when the hall says a
//!   clerk is to spare: [`Bounds::may_open`]);
//! - a window the advisor changed goes back to its profile from the hall
//!   file — advised as soon as that costs (almost) nothing: a change is
//!   for a rush, not for the rest of the day.
//!
//! Not proposed: moving a service's waiting tickets to another service
//! (the manager's `move_queue`), which changes what citizens are served
//! for, not only where.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Millis;
use crate::command::Command;
use crate::config::Policy;
use crate::forecast::{Limits, Model, Rng, run};
use crate::hall::{Hall, TicketState};
use crate::id::Id;

/// What the advisor may propose, and when a change is worth it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// Services a window (its clerk) keeps at most.
    pub max_services: usize,
    /// A change must save at least this much mean wait, in seconds …
    pub min_gain_s: f64,
    /// … and at least this share of it.
    pub min_gain_share: f64,
    /// How far ahead the runs look.
    pub horizon_ms: Millis,
    /// Runs per candidate.
    pub runs: u32,
    /// Services to relieve (those with the longest waits).
    pub targets: usize,
    /// Whether opening a closed window may be advised (it needs a clerk to
    /// spare, which the hall knows and the advisor does not).
    pub may_open: bool,
    /// Windows not to change (changed a short while ago).
    pub frozen: Vec<Id>,
    /// No service's predicted mean wait may grow by more than this share
    /// plus [`Bounds::worse_s`] seconds.
    pub worse_share: f64,
    pub worse_s: f64,
    /// A window that is the only one to put its first service first is
    /// never told to put another first.
    pub keep_sole: bool,
    /// A changed window goes back to its own profile when that makes the
    /// mean wait at most this much longer (seconds).
    pub home_cost_s: f64,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            max_services: 3,
            min_gain_s: 60.0,
            min_gain_share: 0.05,
            // The rest of a working day: a change stays for hours, and
            // what it costs later counts (45 minutes measured worse).
            horizon_ms: 4 * 3_600_000,
            runs: 12,
            targets: 2,
            may_open: false,
            frozen: Vec::new(),
            worse_share: 0.5,
            worse_s: 30.0,
            home_cost_s: 15.0,
            keep_sole: true,
        }
    }
}

/// One change to one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub window: Id,
    /// The window is closed now and opens.
    pub open: bool,
    pub serves: Vec<Id>,
    pub policy: Policy,
    pub weights: Vec<u32>,
    /// The change puts the window back to its hall-file profile.
    pub home: bool,
}

impl Change {
    /// The commands that make the change (a manager's, or the advisor's
    /// own when it runs the hall within bounds).
    pub fn commands(&self) -> Vec<Command> {
        let mut out = Vec::new();
        if self.open {
            out.push(Command::Open {
                window: self.window.clone(),
                clerk: None,
            });
        }
        out.push(Command::SetProfile {
            window: self.window.clone(),
            serves: self.serves.clone(),
            policy: self.policy,
            weights: self.weights.clone(),
        });
        out
    }
}

/// What the runs predict for a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    pub change: Change,
    /// Mean wait over the tickets waiting now and those arriving within
    /// the horizon, as things stand and with the change, in seconds.
    pub mean_wait_now_s: f64,
    pub mean_wait_with_s: f64,
    /// Per service, the same (services with tickets in the runs).
    pub per_service: BTreeMap<Id, (f64, f64)>,
}

impl Advice {
    pub fn gain_s(&self) -> f64 {
        self.mean_wait_now_s - self.mean_wait_with_s
    }
}

/// The mean waits of a hall's runs: overall and per service, in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
struct Outcome {
    mean_s: f64,
    per_service: BTreeMap<Id, f64>,
}

/// Runs the hall forward `runs` times and measures every ticket's wait from
/// now (or from its arrival) to its call; a ticket still waiting at the
/// horizon counts as waiting until then.
fn outcome(hall: &Hall, now: Millis, model: &Model, bounds: &Bounds, seed: u64) -> Outcome {
    let end = now + bounds.horizon_ms;
    let limits = Limits {
        end,
        most_arrivals: u64::MAX,
    };
    let mut total = (0.0, 0u64);
    let mut by_service: BTreeMap<Id, (f64, u64)> = BTreeMap::new();
    for r in 0..bounds.runs {
        let mut rng = Rng::new(seed.wrapping_add(u64::from(r)));
        let mut called: Vec<(crate::id::TicketId, Millis)> = Vec::new();
        let after = run(
            hall.working_copy(),
            now,
            model,
            limits,
            &mut rng,
            &mut |t, at| {
                called.push((t, at));
                false
            },
        );
        let mut seen = std::collections::HashSet::new();
        let mut add = |service: &Id, wait_ms: Millis| {
            let s = (wait_ms.max(0) as f64) / 1000.0;
            total.0 += s;
            total.1 += 1;
            let e = by_service.entry(service.clone()).or_default();
            e.0 += s;
            e.1 += 1;
        };
        for (id, at) in called {
            if !seen.insert(id) {
                continue;
            }
            if let Some(t) = after.ticket(id) {
                // Only waits from now on: a ticket is called once more
                // after a no-show put back, and its first call counts.
                let from = t.issued_ms.max(now);
                if t.issued_ms <= end {
                    add(&t.service, at - from);
                }
            }
        }
        for t in after
            .tickets()
            .filter(|t| t.state == TicketState::Waiting && !seen.contains(&t.id))
        {
            if t.issued_ms <= end {
                add(&t.service, end - t.issued_ms.max(now));
            }
        }
    }
    let mean = |(sum, n): (f64, u64)| if n == 0 { 0.0 } else { sum / n as f64 };
    Outcome {
        mean_s: mean(total),
        per_service: by_service.into_iter().map(|(k, v)| (k, mean(v))).collect(),
    }
}

/// The candidate changes for the services to relieve.
fn candidates(hall: &Hall, targets: &[Id], bounds: &Bounds) -> Vec<Change> {
    let config = hall.config();
    let mut out = Vec::new();
    for w in &config.windows {
        let Some(rt) = hall.window(w.id.as_str()) else {
            continue;
        };
        if rt.paused.is_some() || (!rt.open && !bounds.may_open) || bounds.frozen.contains(&w.id) {
            continue;
        }
        // The only open window that puts its first service first keeps it
        // first: it is that service's own counter (统一发证, say).
        let sole = rt.open
            && rt.serves.first().is_some_and(|own| {
                !hall.windows().any(|(other, o)| {
                    other != &w.id && o.open && o.paused.is_none() && o.serves.first() == Some(own)
                })
            });
        for s in targets {
            // The service first, the window's own after it.
            let already = rt.open && rt.policy == Policy::Strict && rt.serves.first() == Some(s);
            let kept = sole && bounds.keep_sole;
            if !(already || kept) {
                let mut serves = vec![s.clone()];
                serves.extend(rt.serves.iter().filter(|x| *x != s).cloned());
                serves.truncate(bounds.max_services.max(1));
                out.push(Change {
                    window: w.id.clone(),
                    open: !rt.open,
                    serves,
                    policy: Policy::Strict,
                    weights: Vec::new(),
                    home: false,
                });
            }
            // The service beside the window's own, longest wait first.
            if rt.open && !rt.serves.contains(s) && rt.serves.len() < bounds.max_services {
                let mut serves = rt.serves.clone();
                serves.push(s.clone());
                out.push(Change {
                    window: w.id.clone(),
                    open: false,
                    serves,
                    policy: Policy::LongestWait,
                    weights: Vec::new(),
                    home: false,
                });
            }
        }
        let home = rt.serves != w.serves || rt.policy != w.policy || rt.weights != w.weights;
        if rt.open && home {
            out.push(Change {
                window: w.id.clone(),
                open: false,
                serves: w.serves.clone(),
                policy: w.policy,
                weights: w.weights.clone(),
                home: true,
            });
        }
    }
    out
}

/// The one change that would cut the hall's mean wait most over the
/// horizon, if it saves enough (see [`Bounds`]); `None` when nothing does.
pub fn advise(
    hall: &Hall,
    now: Millis,
    model: &Model,
    bounds: &Bounds,
    seed: u64,
) -> Option<Advice> {
    let waiting = hall.tickets().any(|t| t.state == TicketState::Waiting);
    if !waiting || bounds.runs == 0 {
        return None;
    }
    let base = outcome(hall, now, model, bounds, seed);
    let mut worst: Vec<(&Id, &f64)> = base.per_service.iter().collect();
    worst.sort_by(|a, b| b.1.total_cmp(a.1));
    let targets: Vec<Id> = worst
        .into_iter()
        .filter(|(_, w)| **w > 0.0)
        .take(bounds.targets)
        .map(|(s, _)| s.clone())
        .collect();
    let mut best: Option<(Change, Outcome)> = None;
    // A window back to its own work as soon as that costs (almost)
    // nothing: a change is for a rush, not for the rest of the day.
    let mut home: Option<(Change, Outcome)> = None;
    for change in candidates(hall, &targets, bounds) {
        let mut copy = hall.working_copy();
        if change
            .commands()
            .into_iter()
            .any(|c| copy.handle(now, c).is_err())
        {
            continue;
        }
        let o = outcome(&copy, now, model, bounds, seed);
        // No service pays much for the others.
        let fair = base.per_service.iter().all(|(s, b)| {
            let w = o.per_service.get(s).copied().unwrap_or(0.0);
            w <= b * (1.0 + bounds.worse_share) + bounds.worse_s
        });
        if change.home {
            if o.mean_s <= base.mean_s + bounds.home_cost_s
                && home.as_ref().is_none_or(|(_, b)| o.mean_s < b.mean_s)
            {
                home = Some((change, o));
            }
            continue;
        }
        if fair && best.as_ref().is_none_or(|(_, b)| o.mean_s < b.mean_s) {
            best = Some((change, o));
        }
    }
    let worth = |with: &Outcome| {
        let gain = base.mean_s - with.mean_s;
        gain >= bounds.min_gain_s && gain >= bounds.min_gain_share * base.mean_s
    };
    let (change, with) = match (best, home) {
        (Some(b), _) if worth(&b.1) => b,
        (_, Some(h)) => h,
        _ => return None,
    };
    let per_service = base
        .per_service
        .iter()
        .map(|(s, b)| {
            (
                s.clone(),
                (*b, with.per_service.get(s).copied().unwrap_or(0.0)),
            )
        })
        .collect();
    Some(Advice {
        change,
        mean_wait_now_s: base.mean_s,
        mean_wait_with_s: with.mean_s,
        per_service,
    })
}
