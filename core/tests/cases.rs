//! Cases after the counter over simulated weeks: limits in working days
//! across weekends, a holiday and an extra working Saturday; 补正 stopping
//! the clock; yellow then red cards on the right day; 超时默许; the pick-up
//! ticket going first and handing the result out; bad changes refused.

mod common;

use common::{MORNING, Sim, id};
use hallq_core::calendar::Date;
use hallq_core::{
    CardLevel, CaseAction, CaseState, Command, CoreError, Event, Hall, HallConfig, Millis,
};

fn cases_hall() -> HallConfig {
    let c: HallConfig = toml::from_str(include_str!("data/cases-hall.toml")).unwrap();
    c.validate().unwrap();
    c
}

/// Local date of a moment in the hall (UTC+8).
fn date(now: Millis) -> String {
    Date((now + 8 * 3_600_000).div_euclid(hallq_core::DAY_MS)).to_string()
}

/// A hall at Friday 2026-11-27 08:30 with window 1 open.
fn hall() -> Sim {
    let mut sim = Sim::with(cases_hall());
    sim.open("1");
    sim.open("2");
    sim
}

/// Takes a ticket of `service`, serves it at window 1 and accepts it as
/// case `code`.
fn accept(sim: &mut Sim, service: &str, code: &str) -> Result<(), CoreError> {
    sim.take(service);
    sim.call("1").unwrap();
    sim.win("1", |window| Command::Start { window }).unwrap();
    sim.run(Command::Accept {
        window: id("1"),
        case: code.to_owned(),
    })
    .map(|_| ())
}

fn act(sim: &mut Sim, code: &str, action: CaseAction, note: &str) -> Result<Vec<Event>, CoreError> {
    sim.run(Command::Case {
        case: code.to_owned(),
        by: "officer1".to_owned(),
        key: None,
        note: note.to_owned(),
        action,
    })
    .map(|rs| rs.into_iter().map(|r| r.event).collect())
}

/// Moves to 00:00:01 of the next day and ticks, `days` times; the case
/// events with the date they came on.
fn days(sim: &mut Sim, days: i64) -> Vec<(String, Event)> {
    let mut out = Vec::new();
    for _ in 0..days {
        let local = sim.now + 8 * 3_600_000;
        let next = (local.div_euclid(hallq_core::DAY_MS) + 1) * hallq_core::DAY_MS;
        sim.now = next - 8 * 3_600_000 + 1000;
        for e in sim.tick() {
            if matches!(e, Event::CaseCard { .. } | Event::CaseDeemed { .. }) {
                out.push((date(sim.now), e));
            }
        }
    }
    out
}

fn cards(events: &[(String, Event)]) -> Vec<(String, CardLevel)> {
    events
        .iter()
        .filter_map(|(d, e)| match e {
            Event::CaseCard { level, .. } => Some((d.clone(), *level)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_case_counts_working_days_across_a_weekend_a_holiday_and_an_extra_saturday() {
    let mut sim = hall();
    assert_eq!(date(MORNING), "2026-11-27", "a Friday");
    accept(&mut sim, "permit", "P1").unwrap();
    let c = sim.hall.case("P1").unwrap();
    assert_eq!(
        (c.state, c.limit_days, c.number.as_str()),
        (CaseState::Accepted, 5, "A001")
    );
    assert_eq!(c.department.as_ref().map(|d| d.as_str()), Some("market"));
    assert_eq!(
        c.clerk.as_deref(),
        Some("clerk1"),
        "the accepting clerk owns it"
    );
    // Day 0 is the Friday. Mon 1, Tue 2, (Wed holiday), Thu 3, Fri 4 —
    // 80 % of 5 — then the 调休 Saturday 5 (its last day), (Sunday), Mon 6.
    let today = sim.hall.day().unwrap();
    assert_eq!(
        Date(sim.hall.case_due_day(c, today).unwrap()).to_string(),
        "2026-12-05"
    );
    let events = days(&mut sim, 12);
    assert_eq!(
        cards(&events),
        [
            ("2026-12-04".to_owned(), CardLevel::Yellow),
            ("2026-12-07".to_owned(), CardLevel::Red)
        ]
    );
    let Event::CaseCard {
        department,
        clerk,
        used_days,
        ..
    } = &events[1].1
    else {
        unreachable!()
    };
    assert_eq!(
        (
            department.as_ref().unwrap().as_str(),
            clerk.as_deref(),
            *used_days
        ),
        ("market", Some("clerk1"), 6)
    );
    let c = sim.hall.case("P1").unwrap();
    assert_eq!(c.card, Some(CardLevel::Red));
    assert_eq!(
        c.state,
        CaseState::Accepted,
        "not deemed: it stays undecided"
    );
    // Decided late: it counts as late.
    act(&mut sim, "P1", CaseAction::Review, "").unwrap();
    act(&mut sim, "P1", CaseAction::Approve, "").unwrap();
    let c = sim.hall.case("P1").unwrap();
    assert!(c.late());
    assert_eq!(
        c.decided_days(),
        Some(8),
        "Mon 6, Tue 7, Wed 8 (2026-12-09)"
    );
    assert_eq!(date(sim.now), "2026-12-09");
}

#[test]
fn a_request_for_material_stops_the_clock_until_it_comes_in() {
    let mut sim = hall();
    accept(&mut sim, "permit", "P2").unwrap();
    days(&mut sim, 3); // to Monday 11-30
    act(&mut sim, "P2", CaseAction::Review, "").unwrap();
    assert!(days(&mut sim, 1).is_empty()); // Tuesday 12-01: day 2
    assert_eq!(
        act(&mut sim, "P2", CaseAction::NeedMaterial, " "),
        Err(CoreError::ReasonRequired),
        "补正 says what is missing"
    );
    act(&mut sim, "P2", CaseAction::NeedMaterial, "缺少营业执照副本").unwrap();
    let c = sim.hall.case("P2").unwrap();
    assert_eq!(c.state, CaseState::NeedsMaterial);
    assert_eq!(c.reason.as_deref(), Some("缺少营业执照副本"));
    assert_eq!(sim.hall.case_due_day(c, sim.hall.day().unwrap()), None);
    // A week without the material: no card, the days do not count.
    assert!(days(&mut sim, 6).is_empty(), "the clock stands still");
    assert_eq!(date(sim.now), "2026-12-07");
    act(&mut sim, "P2", CaseAction::Supplied, "").unwrap();
    let c = sim.hall.case("P2").unwrap();
    assert_eq!(sim.hall.case_used_days(c, sim.hall.day().unwrap()), 2);
    // From Monday 12-07 (day 0 again): Tue 3, Wed 4 (yellow), Thu 5, Fri 6 (red).
    let events = days(&mut sim, 7);
    assert_eq!(
        cards(&events),
        [
            ("2026-12-09".to_owned(), CardLevel::Yellow),
            ("2026-12-11".to_owned(), CardLevel::Red)
        ]
    );
}

#[test]
fn a_deemed_approval_case_is_approved_when_its_limit_passes_and_is_picked_up_first() {
    let mut sim = hall();
    accept(&mut sim, "licence", "L1").unwrap();
    // Limit 3: Mon 1, Tue 2, (Wed holiday), Thu 3 — yellow (80 % of 3 is
    // 2.4, so day 3) — then Fri 4: red and deemed approved.
    let events = days(&mut sim, 7);
    assert_eq!(
        cards(&events),
        [
            ("2026-12-03".to_owned(), CardLevel::Yellow),
            ("2026-12-04".to_owned(), CardLevel::Red)
        ]
    );
    assert!(
        matches!(&events[2], (d, Event::CaseDeemed { used_days: 4, .. }) if d == "2026-12-04"),
        "{events:?}"
    );
    let c = sim.hall.case("L1").unwrap();
    assert_eq!(
        (c.state, c.approved, c.deemed, c.late()),
        (CaseState::Decided, Some(true), true, true)
    );
    assert_eq!(
        act(&mut sim, "L1", CaseAction::Approve, ""),
        Err(CoreError::CaseState {
            state: "decided",
            action: "approve"
        }),
        "decided once"
    );
    // Monday morning: the result is ready; two people queue to pick up.
    sim.now = MORNING + 10 * hallq_core::DAY_MS; // Monday 12-07 08:30
    sim.at("09:00");
    assert_eq!(
        sim.run(Command::PickUp {
            case: "L1".into(),
            token: "pick-early".into()
        }),
        Err(CoreError::CaseNotReady)
    );
    act(&mut sim, "L1", CaseAction::Ready, "").unwrap();
    let ordinary = sim.take("issue");
    sim.run(Command::PickUp {
        case: "L1".into(),
        token: "pick-1".into(),
    })
    .unwrap();
    let pickup = sim.hall.ticket_by_token("pick-1").unwrap().clone();
    assert_eq!(pickup.class.as_ref().map(|c| c.as_str()), Some("pickup"));
    assert_eq!(
        sim.run(Command::PickUp {
            case: "L1".into(),
            token: "pick-2".into()
        }),
        Err(CoreError::PickupTaken(pickup.number.clone())),
        "one pick-up ticket at a time"
    );
    assert_eq!(
        sim.run(Command::PickUp {
            case: "NOPE".into(),
            token: "pick-3".into()
        }),
        Err(CoreError::UnknownCase)
    );
    // The case's ticket goes before the ordinary one taken earlier.
    assert_eq!(sim.call("2").unwrap(), pickup.number);
    sim.win("2", |window| Command::Start { window }).unwrap();
    let finished = sim.win("2", |window| Command::Finish { window }).unwrap();
    assert!(finished.iter().any(|r| matches!(
        &r.event,
        Event::CaseStep { action: CaseAction::Deliver { window }, .. } if window.as_str() == "2"
    )));
    let c = sim.hall.case("L1").unwrap();
    assert_eq!(c.state, CaseState::Delivered);
    assert_eq!(sim.call("2").unwrap(), ordinary);
    assert_eq!(
        sim.run(Command::PickUp {
            case: "L1".into(),
            token: "pick-4".into()
        }),
        Err(CoreError::CaseDelivered)
    );
}

#[test]
fn bad_changes_are_refused_with_stable_codes_and_change_nothing() {
    let mut sim = hall();
    sim.take("quick");
    sim.call("1").unwrap();
    sim.win("1", |window| Command::Start { window }).unwrap();
    let before = sim.hall.clone();
    let e = sim
        .run(Command::Accept {
            window: id("1"),
            case: "Q1".into(),
        })
        .unwrap_err();
    assert_eq!(e.code(), "not_a_case_service", "即办件 open no case");
    assert_eq!(sim.hall, before);
    sim.win("1", |window| Command::Finish { window }).unwrap();
    accept(&mut sim, "permit", "P3").unwrap();
    assert_eq!(
        accept(&mut sim, "permit", "P3"),
        Err(CoreError::DuplicateToken),
        "a code is used once"
    );
    sim.win("1", |window| Command::Finish { window }).unwrap();
    for bad in ["", "有中文", "a b", &"x".repeat(33)] {
        assert_eq!(
            accept(&mut sim, "permit", bad).unwrap_err().code(),
            "bad_case_code",
            "{bad:?}"
        );
        sim.win("1", |window| Command::Finish { window }).unwrap();
    }
    let before = sim.hall.clone();
    let refused = [
        (CaseAction::Supplied, "", "case_state"),
        (CaseAction::Ready, "", "case_state"),
        (CaseAction::Refuse, "", "reason_required"),
        (
            CaseAction::Express {
                carrier: "EMS".into(),
                tracking: " ".into(),
            },
            "",
            "tracking_required",
        ),
        (
            CaseAction::Deliver { window: id("9") },
            "",
            "unknown_window",
        ),
    ];
    for (action, note, code) in refused {
        assert_eq!(
            act(&mut sim, "P3", action.clone(), note)
                .unwrap_err()
                .code(),
            code,
            "{action:?}"
        );
    }
    assert_eq!(
        act(&mut sim, "NOPE", CaseAction::Review, "")
            .unwrap_err()
            .code(),
        "unknown_case"
    );
    assert_eq!(sim.hall, before, "nothing changed");
    // A refusal with its reason, then express post with the tracking.
    act(&mut sim, "P3", CaseAction::Review, "").unwrap();
    act(&mut sim, "P3", CaseAction::Refuse, "经营场所不符合要求").unwrap();
    act(
        &mut sim,
        "P3",
        CaseAction::Express {
            carrier: "EMS".into(),
            tracking: "1187654321098".into(),
        },
        "",
    )
    .unwrap();
    let c = sim.hall.case("P3").unwrap();
    assert_eq!(
        (c.state, c.approved, c.late()),
        (CaseState::Delivered, Some(false), false)
    );
    assert_eq!(c.reason.as_deref(), Some("经营场所不符合要求"));
    assert_eq!(c.steps.len(), 4);
}

#[test]
fn a_change_with_a_known_key_is_done_once_and_the_log_replays_to_the_same_cases() {
    let mut sim = hall();
    accept(&mut sim, "permit", "P4").unwrap();
    let review = |key: &str| Command::Case {
        case: "P4".into(),
        by: "approval-system".into(),
        key: Some(key.into()),
        note: String::new(),
        action: CaseAction::Review,
    };
    assert_eq!(sim.run(review("k-1")).unwrap().len(), 1);
    assert!(
        sim.run(review("k-1")).unwrap().is_empty(),
        "the same key again: done already, nothing new"
    );
    assert_eq!(
        sim.run(review("k-2")).unwrap_err().code(),
        "case_state",
        "a new key is a new request"
    );
    days(&mut sim, 14);
    let replayed = Hall::replay(cases_hall(), &sim.log);
    assert_eq!(replayed, sim.hall);
    assert_eq!(
        replayed.case_card_counts().values().sum::<u32>(),
        2,
        "one yellow, one red"
    );
    // Events carry what a reader needs without the state.
    let card = sim
        .log
        .iter()
        .find(|r| matches!(r.event, Event::CaseCard { .. }))
        .unwrap();
    let json = serde_json::to_value(&card.event).unwrap();
    assert_eq!(
        (
            json["type"].as_str(),
            json["level"].as_str(),
            json["department"].as_str()
        ),
        (Some("case_card"), Some("yellow"), Some("market"))
    );
    let step = sim
        .log
        .iter()
        .find(|r| matches!(r.event, Event::CaseStep { .. }))
        .unwrap();
    let json = serde_json::to_value(&step.event).unwrap();
    assert_eq!(
        (json["action"].as_str(), json["key"].as_str()),
        (Some("review"), Some("k-1"))
    );
    let back: Event = serde_json::from_value(json).unwrap();
    assert_eq!(back, step.event);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One step of random weeks: hours to wait, then what happens.
    #[derive(Debug, Clone)]
    enum Step {
        /// A ticket of a case service, served at window 1 and accepted.
        Accept(&'static str),
        /// A change to the `n`th case (modulo how many there are).
        Act(usize, CaseAction, &'static str),
        /// A pick-up ticket for the `n`th case, served at window 2.
        PickUp(usize),
    }

    fn step() -> impl Strategy<Value = (u16, Step)> {
        let action = prop_oneof![
            Just(CaseAction::Review),
            Just(CaseAction::NeedMaterial),
            Just(CaseAction::Supplied),
            Just(CaseAction::Approve),
            Just(CaseAction::Refuse),
            Just(CaseAction::Ready),
            Just(CaseAction::Express {
                carrier: "EMS".into(),
                tracking: "1".into()
            }),
        ];
        let what = prop_oneof![
            2 => prop::sample::select(vec!["permit", "licence"]).prop_map(Step::Accept),
            6 => (0usize..8, action, prop::sample::select(vec!["", "缺材料"]))
                .prop_map(|(n, a, note)| Step::Act(n, a, note)),
            1 => (0usize..8).prop_map(Step::PickUp),
        ];
        (0u16..60, what)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Over random weeks: a case's used days never go back, a card is
        /// never taken back nor given twice, a decision stands, a refused
        /// change changes nothing, and the log replays to the same hall.
        #[test]
        fn cases_keep_their_clock_cards_and_decisions(steps in prop::collection::vec(step(), 1..120)) {
            let mut sim = hall();
            let mut codes: Vec<String> = Vec::new();
            let mut last: std::collections::BTreeMap<String, (u32, Option<CardLevel>, Option<u32>)> =
                Default::default();
            for (i, (hours, s)) in steps.into_iter().enumerate() {
                sim.now += i64::from(hours) * 3_600_000;
                sim.tick();
                match s {
                    Step::Accept(service) => {
                        let code = format!("C{i}");
                        // A ticket may not be issued out of hours: skip then.
                        let before = sim.hall.clone();
                        if sim.take_as(service, None, None).is_ok() {
                            let served = sim.call("1").is_ok()
                                && sim.win("1", |window| Command::Start { window }).is_ok()
                                && sim
                                    .run(Command::Accept { window: id("1"), case: code.clone() })
                                    .is_ok();
                            prop_assert!(served, "a lone ticket is served and accepted");
                            codes.push(code);
                        } else {
                            prop_assert_eq!(&sim.hall, &before);
                        }
                    }
                    Step::Act(n, action, note) if !codes.is_empty() => {
                        let code = codes[n % codes.len()].clone();
                        let before = sim.hall.clone();
                        if act(&mut sim, &code, action, note).is_err() {
                            prop_assert_eq!(&sim.hall, &before, "a refused change changes nothing");
                        }
                    }
                    Step::PickUp(n) if !codes.is_empty() => {
                        let code = codes[n % codes.len()].clone();
                        let token = format!("pick{i}");
                        if sim.run(Command::PickUp { case: code.clone(), token }).is_ok() {
                            sim.call("2").unwrap();
                            sim.win("2", |window| Command::Start { window }).unwrap();
                            sim.win("2", |window| Command::Finish { window }).unwrap();
                            prop_assert_eq!(sim.hall.case(&code).unwrap().state, CaseState::Delivered);
                        }
                    }
                    _ => {}
                }
                let today = sim.hall.day().unwrap_or(0);
                for c in sim.hall.cases() {
                    let used = sim.hall.case_used_days(c, today);
                    if let Some((u, card, decided)) = last.get(&c.code) {
                        prop_assert!(used >= *u, "{} used {} then {}", c.code, u, used);
                        prop_assert!(c.card >= *card, "a card is never taken back");
                        if decided.is_some() {
                            prop_assert_eq!(c.decided_days(), *decided, "a decision stands");
                        }
                    }
                    if c.card == Some(CardLevel::Red) {
                        prop_assert!(c.limit_days < used || c.decided_days().is_some_and(|d| d > c.limit_days) || !c.running(),
                            "red only past the limit");
                    }
                    last.insert(c.code.clone(), (used, c.card, c.decided_days()));
                }
            }
            // Every card once per case and level.
            let mut seen = std::collections::BTreeSet::new();
            for r in &sim.log {
                if let Event::CaseCard { case, level, .. } = &r.event {
                    prop_assert!(seen.insert((case.clone(), *level)), "{case} {level:?} twice");
                }
            }
            prop_assert_eq!(Hall::replay(cases_hall(), &sim.log), sim.hall);
        }
    }
}
