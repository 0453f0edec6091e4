//! Weeks of cases behind the counter (承诺件), through the real core: each
//! working day the front desk accepts a share of the case services'
//! tickets; each department takes them up, asks for material now and then
//! (补正), and decides once a case has had its working days of review —
//! as many as it can that day; results go to the pick-up window or by
//! post, and applicants come for them within a few days with a pick-up
//! ticket. The demo seeds its history with it; `hallq-day --weeks` reports
//! the on-time share per department from it.

use std::collections::{BTreeMap, HashMap};

use hallq_core::calendar::{self, Day};
use hallq_core::{CaseAction, CaseState, Command, Hall, HallConfig, Id, Millis, Record};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

/// `[cases]` of the day pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasePattern {
    /// Share of a case service's tickets accepted as a case.
    pub accept_share: f64,
    /// Share of cases that need more material once (补正).
    pub material_share: f64,
    /// The material comes in within this many calendar days.
    pub material_days: u32,
    pub refuse_share: f64,
    /// Share of results sent by post instead of picked up.
    pub express_share: f64,
    /// Applicants come for a ready result within this many days.
    pub pickup_days: u32,
    /// Department id → how it works.
    pub departments: BTreeMap<String, DepartmentPattern>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentPattern {
    /// Typical working days of review a case needs (log-normal around it).
    pub review_days: f64,
    /// Decisions a working day at most.
    pub per_day: u32,
}

/// What the simulation knows of a case beyond the hall's state.
#[derive(Debug, Clone)]
struct Plan {
    /// Working days of review it needs.
    need: u32,
    material_asked: bool,
    /// The day the missing material comes in.
    supplied_on: Option<Day>,
    /// The day the applicant comes for the result.
    pickup_on: Option<Day>,
}

/// The hall and its log after `days` days from `start` (local days).
#[derive(Debug)]
pub struct Weeks {
    pub hall: Hall,
    pub records: Vec<Record>,
}

/// Runs `days` days of cases from `start` with `tickets_per_day` tickets
/// spread by `mix` (service → share), from `seed`.
pub fn simulate(
    config: &HallConfig,
    pattern: &CasePattern,
    tickets_per_day: u32,
    mix: &BTreeMap<String, f64>,
    start: Day,
    days: i64,
    seed: u64,
) -> anyhow::Result<Weeks> {
    let mut sim = Sim {
        hall: Hall::new(config.clone()),
        records: Vec::new(),
        now: 0,
        rng: StdRng::seed_from_u64(seed),
        plans: HashMap::new(),
        next_token: 0,
    };
    let offset = config.hall.utc_offset_minutes;
    let case_services: Vec<(Id, f64, Id)> = config
        .services
        .iter()
        .filter(|s| s.limit_days > 0)
        .filter_map(|s| {
            let window = config.windows.iter().find(|w| w.serves.contains(&s.id))?;
            let rate = f64::from(tickets_per_day)
                * mix.get(s.id.as_str()).copied().unwrap_or(0.0)
                * pattern.accept_share;
            Some((s.id.clone(), rate, window.id.clone()))
        })
        .collect();
    let pickup = config
        .cases
        .service
        .clone()
        .zip(config.pickup_window().map(|w| w.id.clone()));
    let mut windows: Vec<Id> = case_services.iter().map(|(_, _, w)| w.clone()).collect();
    windows.extend(pickup.iter().map(|(_, w)| w.clone()));
    windows.sort();
    windows.dedup();
    for day in start..start + days {
        sim.now = sim.now.max(calendar::at(day, 0, offset) + 1000);
        sim.run(Command::Tick)?;
        if !sim.hall.working_day(day) {
            continue;
        }
        sim.now = calendar::at(day, 9 * 60, offset);
        for w in &windows {
            if !sim.hall.window(w.as_str()).is_some_and(|r| r.open) {
                sim.run(Command::Open {
                    window: w.clone(),
                    clerk: Some(format!("clerk-{w}")),
                })?;
            }
        }
        // Applicants collect their results.
        if let Some((service, window)) = &pickup {
            let due: Vec<String> = sim
                .hall
                .cases()
                .filter(|c| c.state == CaseState::Ready)
                .filter(|c| sim.plans.get(&c.code).and_then(|p| p.pickup_on) <= Some(day))
                .map(|c| c.code.clone())
                .collect();
            for code in due {
                let token = sim.token();
                sim.run(Command::PickUp { case: code, token })?;
                sim.serve(window, service, None)?;
            }
        }
        // The front desk accepts.
        for (service, rate, window) in &case_services {
            let n = poisson(&mut sim.rng, *rate);
            for _ in 0..n {
                let token = sim.token();
                sim.run(Command::IssueTicket {
                    service: service.clone(),
                    token,
                    class: None,
                    citizen: None,
                })?;
                let code = format!("S{:08}", sim.next_token);
                sim.serve(window, service, Some(code.clone()))?;
                let dept = config
                    .service(service.as_str())
                    .and_then(|s| s.department.as_ref())
                    .and_then(|d| pattern.departments.get(d.as_str()));
                let typical = dept.map_or(1.0, |d| d.review_days);
                let need = lognormal(&mut sim.rng, typical).ceil().max(1.0) as u32;
                sim.plans.insert(
                    code,
                    Plan {
                        need,
                        material_asked: false,
                        supplied_on: None,
                        pickup_on: None,
                    },
                );
            }
        }
        // The back office, in the afternoon.
        sim.now = sim.now.max(calendar::at(day, 14 * 60, offset));
        sim.back_office(day, pattern)?;
        sim.now = sim.now.max(calendar::at(day, 17 * 60 + 30, offset));
        for w in &windows {
            sim.run(Command::Close { window: w.clone() })?;
        }
    }
    Ok(Weeks {
        hall: sim.hall,
        records: sim.records,
    })
}

struct Sim {
    hall: Hall,
    records: Vec<Record>,
    now: Millis,
    rng: StdRng,
    plans: HashMap<String, Plan>,
    next_token: u64,
}

impl Sim {
    fn run(&mut self, cmd: Command) -> anyhow::Result<()> {
        let records = self
            .hall
            .handle(self.now, cmd.clone())
            .map_err(|e| anyhow::anyhow!("{cmd:?}: {e}"))?;
        self.records.extend(records);
        // Each step ten seconds on: a morning holds a day's cases (the
        // time at the counter does not matter here).
        self.now += 10_000;
        Ok(())
    }

    fn token(&mut self) -> String {
        self.next_token += 1;
        format!("sim-{}", self.next_token)
    }

    /// Calls the oldest ticket of `service` at `window`, serves it and
    /// finishes it — or accepts it as case `accept`.
    fn serve(&mut self, window: &Id, service: &Id, accept: Option<String>) -> anyhow::Result<()> {
        self.run(Command::CallNext {
            window: window.clone(),
            service: Some(service.clone()),
        })?;
        self.run(Command::Start {
            window: window.clone(),
        })?;
        match accept {
            Some(case) => self.run(Command::Accept {
                window: window.clone(),
                case,
            }),
            None => self.run(Command::Finish {
                window: window.clone(),
            }),
        }
    }

    fn step(&mut self, case: &str, by: &str, note: &str, action: CaseAction) -> anyhow::Result<()> {
        self.run(Command::Case {
            case: case.to_owned(),
            by: by.to_owned(),
            key: None,
            note: note.to_owned(),
            action,
        })
    }

    /// Each department works its cases, oldest first, up to its day's decisions.
    fn back_office(&mut self, day: Day, pattern: &CasePattern) -> anyhow::Result<()> {
        let mut left: HashMap<Option<Id>, u32> = HashMap::new();
        let cases: Vec<(String, CaseState, Option<Id>, u32)> = self
            .hall
            .cases()
            .filter(|c| c.state != CaseState::Delivered)
            .map(|c| {
                let used = self.hall.case_used_days(c, day);
                (c.code.clone(), c.state, c.department.clone(), used)
            })
            .collect();
        for (code, state, dept, used) in cases {
            let Some(plan) = self.plans.get(&code).cloned() else {
                continue;
            };
            let by = format!("officer-{}", dept.as_ref().map_or("hall", |d| d.as_str()));
            let cap = left.entry(dept.clone()).or_insert_with(|| {
                dept.as_ref()
                    .and_then(|d| pattern.departments.get(d.as_str()))
                    .map_or(u32::MAX, |d| d.per_day)
            });
            match state {
                CaseState::Accepted => self.step(&code, &by, "", CaseAction::Review)?,
                CaseState::NeedsMaterial if plan.supplied_on <= Some(day) => {
                    self.step(&code, &by, "", CaseAction::Supplied)?;
                }
                CaseState::InReview => {
                    if !plan.material_asked
                        && used * 2 >= plan.need
                        && self.rng.random::<f64>() < pattern.material_share
                    {
                        let back = self.rng.random_range(1..=pattern.material_days.max(1));
                        let p = self.plans.get_mut(&code).expect("planned");
                        p.material_asked = true;
                        p.supplied_on = Some(day + i64::from(back));
                        self.step(&code, &by, "请补充提交材料原件", CaseAction::NeedMaterial)?;
                    } else if used >= plan.need && *cap > 0 {
                        *cap -= 1;
                        if self.rng.random::<f64>() < pattern.refuse_share {
                            self.step(&code, &by, "不符合法定条件", CaseAction::Refuse)?;
                        } else {
                            self.step(&code, &by, "", CaseAction::Approve)?;
                        }
                    }
                }
                CaseState::Decided => {
                    if self.rng.random::<f64>() < pattern.express_share {
                        let tracking =
                            format!("11{:011}", self.rng.random_range(0..100_000_000_000u64));
                        self.step(
                            &code,
                            &by,
                            "",
                            CaseAction::Express {
                                carrier: "EMS".into(),
                                tracking,
                            },
                        )?;
                    } else {
                        self.step(&code, &by, "", CaseAction::Ready)?;
                        let after = self.rng.random_range(1..=pattern.pickup_days.max(1));
                        if let Some(p) = self.plans.get_mut(&code) {
                            p.pickup_on = Some(day + i64::from(after));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A Poisson draw (Knuth's method; small means).
fn poisson(rng: &mut StdRng, mean: f64) -> u32 {
    let limit = (-mean).exp();
    let (mut k, mut p) = (0, 1.0);
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

/// A log-normal draw with median near `typical` (σ 0.5).
fn lognormal(rng: &mut StdRng, typical: f64) -> f64 {
    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    typical * (0.5 * normal).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_weeks_of_the_demo_hall_decide_most_cases_and_replay() {
        let day = crate::DayPattern::demo();
        let pattern = day.cases.clone().expect("the demo day has cases");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml");
        let config = hallq_server::config::load_hall(&path).unwrap();
        let start = calendar::Date::from_ymd(2026, 11, 2).0; // a Monday
        let w = simulate(
            &config,
            &pattern,
            day.tickets_per_day,
            &day.mix,
            start,
            28,
            7,
        )
        .unwrap();
        let all: Vec<_> = w.hall.cases().collect();
        assert!(all.len() > 500, "{} cases", all.len());
        let decided = all.iter().filter(|c| c.decided_days().is_some()).count();
        assert!(decided * 10 > all.len() * 7, "{decided} of {}", all.len());
        assert!(all.iter().any(|c| c.state == CaseState::Delivered));
        assert!(all.iter().any(|c| c.late()), "some run late");
        assert!(
            w.hall.case_card_counts().values().sum::<u32>() > 0,
            "cards were given"
        );
        // The log is the state: replayed, it gives the same hall.
        assert_eq!(Hall::replay(config, &w.records), w.hall);
    }
}
