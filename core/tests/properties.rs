//! Invariants of the queue core under random days of commands.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Sim, id, small_hall};
use hallq_core::{Command, Event, Hall, TicketId, TicketState};
use proptest::prelude::*;

/// One step of a random hall day: a command and minutes to wait before it.
fn step() -> impl Strategy<Value = (u8, Command)> {
    let window = prop::sample::select(vec!["1", "2", "3", "9"]).prop_map(id);
    let service = prop::sample::select(vec!["a", "b", "zz"]).prop_map(id);
    let cmd = prop_oneof![
        4 => service.clone().prop_map(|service| Command::IssueTicket { service, token: String::new() }),
        3 => (window.clone(), prop::option::of(service)).prop_map(|(window, service)| Command::CallNext { window, service }),
        1 => window.clone().prop_map(|window| Command::Recall { window }),
        1 => window.clone().prop_map(|window| Command::NoShow { window }),
        2 => window.clone().prop_map(|window| Command::Start { window }),
        2 => window.clone().prop_map(|window| Command::Finish { window }),
        1 => window.clone().prop_map(|window| Command::Open { window, clerk: None }),
        1 => window.clone().prop_map(|window| Command::Close { window }),
        1 => (window.clone(), prop::sample::select(vec!["", "午休"])).prop_map(|(window, r)| Command::Pause { window, reason: r.into() }),
        1 => window.prop_map(|window| Command::Resume { window }),
    ];
    // Mostly minutes apart, sometimes a whole night.
    (prop_oneof![9 => 0u8..20, 1 => Just(200u8)], cmd)
}

fn run_day(steps: &[(u8, Command)]) -> Sim {
    let mut sim = Sim::new();
    for (i, (wait, cmd)) in steps.iter().enumerate() {
        sim.minutes(if *wait == 200 {
            16 * 60
        } else {
            i64::from(*wait)
        });
        let cmd = match cmd {
            Command::IssueTicket { service, .. } => Command::IssueTicket {
                service: service.clone(),
                token: format!("t{i}"),
            },
            other => other.clone(),
        };
        let before = sim.hall.clone();
        let next_in_line = waiting_heads(&sim.hall);
        match sim.run(cmd) {
            Err(_) => assert_eq!(sim.hall, before, "a refused command changed the hall"),
            Ok(records) => {
                for r in &records {
                    if let Event::TicketCalled {
                        ticket,
                        recall: false,
                        ..
                    } = &r.event
                    {
                        let t = sim.hall.ticket(*ticket).unwrap();
                        assert_eq!(
                            next_in_line.get(t.service.as_str()),
                            Some(ticket),
                            "FIFO within a service"
                        );
                    }
                }
            }
        }
        check_places(&sim.hall);
    }
    sim
}

fn waiting_heads(hall: &Hall) -> BTreeMap<String, TicketId> {
    hall.config()
        .services
        .iter()
        .filter_map(|s| Some((s.id.to_string(), hall.queue(s.id.as_str()).next()?.id)))
        .collect()
}

/// Every ticket is in exactly one place: a queue, one window, or ended.
fn check_places(hall: &Hall) {
    let mut at_window = BTreeMap::new();
    for (w, rt) in hall.windows() {
        if let Some(t) = rt.current {
            assert!(
                at_window.insert(t, w.clone()).is_none(),
                "ticket with two windows"
            );
        }
    }
    let queued: Vec<TicketId> = hall
        .config()
        .services
        .iter()
        .flat_map(|s| hall.queue(s.id.as_str()).map(|t| t.id))
        .collect();
    let queued_set: BTreeSet<_> = queued.iter().copied().collect();
    assert_eq!(queued.len(), queued_set.len(), "ticket queued twice");
    for t in hall.tickets() {
        let in_queue = queued_set.contains(&t.id);
        let at = at_window.get(&t.id);
        match t.state {
            TicketState::Waiting => assert!(in_queue && at.is_none(), "{t:?}"),
            TicketState::Called | TicketState::Serving => {
                assert!(!in_queue, "{t:?}");
                assert_eq!(at, t.window.as_ref(), "{t:?}");
            }
            TicketState::Done | TicketState::NoShow | TicketState::Expired => {
                assert!(!in_queue && at.is_none(), "{t:?}")
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn tickets_are_never_lost_or_doubled(steps in prop::collection::vec(step(), 1..150)) {
        run_day(&steps);
    }

    #[test]
    fn no_ticket_is_called_twice(steps in prop::collection::vec(step(), 1..150)) {
        let sim = run_day(&steps);
        let mut called = BTreeSet::new();
        for r in &sim.log {
            if let Event::TicketCalled { ticket, recall: false, .. } = &r.event {
                prop_assert!(called.insert(*ticket), "{ticket:?} called twice");
            }
        }
    }

    #[test]
    fn numbers_are_unique_per_service_and_day(steps in prop::collection::vec(step(), 1..150)) {
        let sim = run_day(&steps);
        let mut seen = BTreeSet::new();
        for t in sim.hall.tickets() {
            prop_assert!(seen.insert((t.day, t.service.clone(), t.number.clone())), "{t:?}");
        }
    }

    #[test]
    fn replaying_the_log_gives_the_same_hall(steps in prop::collection::vec(step(), 1..150)) {
        let sim = run_day(&steps);
        let seqs: Vec<u64> = sim.log.iter().map(|r| r.seq).collect();
        let expected: Vec<u64> = (1..=sim.log.len() as u64).collect();
        prop_assert_eq!(seqs, expected);
        prop_assert_eq!(Hall::replay(small_hall(), &sim.log), sim.hall);
    }
}
