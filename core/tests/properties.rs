//! Invariants of the queue core under random days of commands, with the
//! full rules on: priority classes, put-back no-shows, holds, transfers,
//! calls out of order, work profiles, cards and day changes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{MORNING, id};
use hallq_core::{Command, Event, Hall, HallConfig, Id, Policy, TicketId, TicketState};
use proptest::prelude::*;

fn rules_hall() -> HallConfig {
    let c: HallConfig = toml::from_str(include_str!("data/rules-hall.toml")).unwrap();
    c.validate().unwrap();
    c
}

/// One step of a random hall day: minutes to wait, then a command.
fn step() -> impl Strategy<Value = (u8, Command)> {
    let window = prop::sample::select(vec!["1", "2", "3", "9"]).prop_map(id);
    let service = prop::sample::select(vec!["a", "b", "zz"]).prop_map(id);
    let class = prop::option::of(prop::sample::select(vec!["elderly", "booking"]).prop_map(id));
    let number = prop::sample::select(vec!["A001", "A002", "A003", "B001", "B002", "X1"])
        .prop_map(String::from);
    let cmd = prop_oneof![
        5 => (service.clone(), class).prop_map(|(service, class)| Command::IssueTicket { service, token: String::new(), class, citizen: None }),
        4 => (window.clone(), prop::option::of(service.clone())).prop_map(|(window, service)| Command::CallNext { window, service }),
        1 => (window.clone(), number, prop::option::of(Just("急事".to_owned()))).prop_map(|(window, number, reason)| Command::CallTicket { window, number, reason }),
        1 => window.clone().prop_map(|window| Command::Recall { window }),
        2 => window.clone().prop_map(|window| Command::NoShow { window }),
        2 => window.clone().prop_map(|window| Command::Start { window }),
        2 => window.clone().prop_map(|window| Command::Finish { window }),
        1 => window.clone().prop_map(|window| Command::Hold { window }),
        1 => (window.clone(), prop::option::of(service.clone()), prop::option::of(window.clone()))
            .prop_map(|(window, to_service, to_window)| Command::Transfer { window, to_service, to_window, note: String::new() }),
        1 => window.clone().prop_map(|window| Command::Open { window, clerk: Some("c".into()) }),
        1 => window.clone().prop_map(|window| Command::Close { window }),
        1 => (window.clone(), prop::sample::select(vec!["", "午休"])).prop_map(|(window, r)| Command::Pause { window, reason: r.into() }),
        1 => window.clone().prop_map(|window| Command::Resume { window }),
        1 => (window, prop::sample::subsequence(vec!["a", "b"], 1..=2), prop::sample::select(vec![Policy::LongestWait, Policy::Strict]))
            .prop_map(|(window, serves, policy)| Command::SetProfile { window, serves: serves.into_iter().map(id).collect(), policy, weights: vec![] }),
        1 => Just(Command::Tick),
    ];
    // Mostly minutes apart, sometimes a long wait, sometimes a whole night.
    (
        prop_oneof![8 => 0u8..20, 1 => Just(45u8), 1 => Just(200u8)],
        cmd,
    )
}

/// Runs the steps, checking the invariants after every one.
fn run_day(steps: &[(u8, Command)]) -> (Hall, Vec<hallq_core::Record>, i64) {
    let mut hall = Hall::new(rules_hall());
    let mut log = Vec::new();
    let mut now = MORNING;
    for (i, (wait, cmd)) in steps.iter().enumerate() {
        now += if *wait == 200 {
            16 * 60
        } else {
            i64::from(*wait)
        } * 60_000;
        let cmd = match cmd {
            Command::IssueTicket {
                service,
                class,
                citizen,
                ..
            } => Command::IssueTicket {
                service: service.clone(),
                token: format!("t{i}"),
                class: class.clone(),
                citizen: citizen.clone(),
            },
            other => other.clone(),
        };
        let before = hall.clone();
        let call_next_at = match &cmd {
            Command::CallNext {
                window,
                service: None,
            } => Some(window.clone()),
            _ => None,
        };
        match hall.handle(now, cmd) {
            Err(_) => assert_eq!(hall, before, "a refused command changed the hall"),
            Ok(records) => {
                for r in &records {
                    check_transition(&before, &hall, r, call_next_at.as_ref());
                }
                log.extend(records);
            }
        }
        check_places(&hall);
    }
    (hall, log, now)
}

/// What one event may do, judged against the hall before the command.
fn check_transition(
    before: &Hall,
    after: &Hall,
    r: &hallq_core::Record,
    call_next_at: Option<&Id>,
) {
    if let Some(t) = r.event.ticket()
        && let Some(old) = before.ticket(t)
    {
        assert!(
            !old.state.is_final() || matches!(r.event, Event::TicketRated { .. }),
            "a final ticket changed: {r:?}"
        );
    }
    let Event::TicketCalled {
        ticket,
        window,
        recall: false,
        ..
    } = &r.event
    else {
        return;
    };
    let old = before.ticket(*ticket).expect("called ticket existed");
    assert!(
        matches!(old.state, TicketState::Waiting | TicketState::Held),
        "called twice: {old:?}"
    );
    if call_next_at != Some(window) {
        return;
    }
    // Call-next: tickets sent to this window first; else the head of the
    // called ticket's service, with no better class waiting at the window.
    let rt = before.window(window.as_str()).unwrap();
    if let Some(first) = before.direct_queue(window.as_str()).next() {
        assert_eq!(first.id, *ticket, "a ticket sent to the window waits");
        return;
    }
    let head = before.queue(old.service.as_str()).next().unwrap();
    assert_eq!(head.id, *ticket, "FIFO within the service and class");
    let rank = |class: Option<&Id>| before.config().rank(class);
    for s in &rt.serves {
        if let Some(h) = before.queue(s.as_str()).next() {
            assert!(
                rank(old.class.as_ref()) <= rank(h.class.as_ref()),
                "a higher class was passed over"
            );
        }
    }
    let _ = after;
}

/// Every ticket is in exactly one place: a queue, one window, held at one
/// window, or ended.
fn check_places(hall: &Hall) {
    let mut at_window = BTreeMap::new();
    let mut held = BTreeMap::new();
    let mut queued: BTreeMap<TicketId, usize> = BTreeMap::new();
    for (w, rt) in hall.windows() {
        if let Some(t) = rt.current {
            assert!(
                at_window.insert(t, w.clone()).is_none(),
                "ticket with two windows"
            );
        }
        for t in &rt.held {
            assert!(held.insert(*t, w.clone()).is_none(), "ticket held twice");
        }
        for t in hall.direct_queue(w.as_str()) {
            *queued.entry(t.id).or_default() += 1;
        }
    }
    for s in &hall.config().services {
        for t in hall.queue(s.id.as_str()) {
            *queued.entry(t.id).or_default() += 1;
        }
    }
    for t in hall.tickets() {
        let q = queued.get(&t.id).copied().unwrap_or(0);
        let (at, h) = (at_window.get(&t.id), held.get(&t.id));
        match t.state {
            TicketState::Waiting => assert!(q == 1 && at.is_none() && h.is_none(), "{t:?}"),
            TicketState::Called | TicketState::Serving => {
                assert!(q == 0 && h.is_none(), "{t:?}");
                assert_eq!(at, t.window.as_ref(), "{t:?}");
            }
            TicketState::Held => assert!(q == 0 && at.is_none() && h == t.window.as_ref(), "{t:?}"),
            TicketState::Done | TicketState::NoShow | TicketState::Expired => {
                assert!(q == 0 && at.is_none() && h.is_none(), "{t:?}")
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn tickets_are_never_lost_doubled_or_called_out_of_turn(steps in prop::collection::vec(step(), 1..200)) {
        run_day(&steps);
    }

    #[test]
    fn numbers_are_unique_per_day(steps in prop::collection::vec(step(), 1..200)) {
        let (hall, _, _) = run_day(&steps);
        let mut seen = BTreeSet::new();
        for t in hall.tickets() {
            prop_assert!(seen.insert((t.day, t.number.clone())), "{t:?}");
        }
    }

    #[test]
    fn replaying_the_log_gives_the_same_hall(steps in prop::collection::vec(step(), 1..200)) {
        let (hall, log, _) = run_day(&steps);
        let seqs: Vec<u64> = log.iter().map(|r| r.seq).collect();
        let expected: Vec<u64> = (1..=log.len() as u64).collect();
        prop_assert_eq!(seqs, expected);
        prop_assert_eq!(Hall::replay(rules_hall(), &log), hall);
    }

    #[test]
    fn every_ticket_ends_in_one_final_state_when_the_day_ends(steps in prop::collection::vec(step(), 1..200)) {
        let (mut hall, _, end) = run_day(&steps);
        // Finish what is at the counters.
        let now = end + 60_000;
        let windows: Vec<Id> = hall.windows().map(|(w, _)| w.clone()).collect();
        for w in &windows {
            let _ = hall.handle(now, Command::Start { window: w.clone() });
            let _ = hall.handle(now, Command::Finish { window: w.clone() });
        }
        hall.handle(now + hallq_core::DAY_MS, Command::Tick).unwrap();
        for t in hall.tickets() {
            prop_assert!(t.state.is_final(), "{t:?}");
        }
    }
}
