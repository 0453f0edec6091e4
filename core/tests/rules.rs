//! The foundation rules, told as small hall days.

mod common;

use common::{MORNING, Sim, id, small_hall};
use hallq_core::{Command, CoreError, Event, Hall, TicketState, WindowStatus};

#[test]
fn numbers_count_per_service_and_restart_next_day() {
    let mut sim = Sim::new();
    assert_eq!(sim.take("a"), "A001");
    assert_eq!(sim.take("a"), "A002");
    assert_eq!(sim.take("b"), "B001");
    assert_eq!(sim.take("a"), "A003");
    sim.minutes(24 * 60);
    assert_eq!(sim.take("b"), "B001");
    assert_eq!(sim.take("a"), "A001");
}

#[test]
fn a_new_day_expires_yesterdays_waiting_tickets() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.minutes(24 * 60);
    sim.take("a");
    let states: Vec<_> = sim.hall.tickets().map(|t| t.state).collect();
    assert_eq!(states, [TicketState::Expired, TicketState::Waiting]);
    assert_eq!(sim.hall.queue("a").count(), 1);
}

#[test]
fn service_day_turns_at_local_midnight() {
    let mut sim = Sim::new();
    // 23:50 Beijing time, then 00:10 the next day: 20 minutes apart.
    sim.now = MORNING + (15 * 60 + 20) * 60_000;
    sim.take("a");
    sim.minutes(20);
    assert_eq!(sim.take("a"), "A001");
}

#[test]
fn a_window_calls_the_longest_waiting_ticket_among_its_services() {
    let mut sim = Sim::new();
    sim.take("b");
    sim.minutes(1);
    sim.take("a");
    sim.open("3");
    sim.open("1");
    assert_eq!(sim.call("3").unwrap(), "B001");
    assert_eq!(sim.call("1").unwrap(), "A001");
    assert_eq!(sim.hall.status("3"), Some(WindowStatus::Calling));
}

#[test]
fn a_window_only_calls_its_own_services() {
    let mut sim = Sim::new();
    sim.take("b");
    sim.open("1");
    assert_eq!(sim.call("1"), Err(CoreError::QueueEmpty));
    let only_b = Command::CallNext {
        window: id("1"),
        service: Some(id("b")),
    };
    assert_eq!(
        sim.run(only_b),
        Err(CoreError::ServiceNotServed("b".into()))
    );
}

#[test]
fn call_next_for_one_service() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.take("b");
    sim.open("3");
    let only_b = Command::CallNext {
        window: id("3"),
        service: Some(id("b")),
    };
    sim.run(only_b).unwrap();
    let w = sim.hall.window_view("3").unwrap();
    assert_eq!(w.ticket.as_deref(), Some("B001"));
}

#[test]
fn a_ticket_goes_call_start_finish() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.open("1");
    sim.call("1").unwrap();
    sim.minutes(1);
    sim.win("1", |w| Command::Recall { window: w }).unwrap();
    sim.win("1", |w| Command::Start { window: w }).unwrap();
    assert_eq!(sim.hall.status("1"), Some(WindowStatus::Serving));
    sim.minutes(12);
    sim.win("1", |w| Command::Finish { window: w }).unwrap();
    let t = sim.hall.tickets().next().unwrap();
    assert_eq!(t.state, TicketState::Done);
    assert_eq!(t.recalls, 1);
    assert_eq!(t.ended_ms.unwrap() - t.started_ms.unwrap(), 12 * 60_000);
    assert_eq!(sim.hall.status("1"), Some(WindowStatus::Idle));
    assert_eq!(sim.hall.window("1").unwrap().served_today, 1);
}

#[test]
fn no_show_ends_the_ticket_and_frees_the_window() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.open("1");
    sim.call("1").unwrap();
    sim.win("1", |w| Command::NoShow { window: w }).unwrap();
    assert_eq!(
        sim.hall.tickets().next().unwrap().state,
        TicketState::NoShow
    );
    assert_eq!(sim.hall.status("1"), Some(WindowStatus::Idle));
}

#[test]
fn call_next_while_serving_finishes_the_current_ticket() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.take("a");
    sim.open("1");
    sim.call("1").unwrap();
    sim.win("1", |w| Command::Start { window: w }).unwrap();
    let records = sim
        .run(Command::CallNext {
            window: id("1"),
            service: None,
        })
        .unwrap();
    assert!(matches!(records[0].event, Event::ServiceFinished { .. }));
    assert!(matches!(records[1].event, Event::TicketCalled { .. }));
}

#[test]
fn refused_commands_change_nothing() {
    let mut sim = Sim::new();
    sim.take("a");
    let before = sim.hall.clone();
    let refused = [
        (
            Command::CallNext {
                window: id("1"),
                service: None,
            },
            "window_closed",
        ),
        (Command::Start { window: id("1") }, "window_closed"),
        (
            Command::Open {
                window: id("9"),
                clerk: None,
            },
            "unknown_window",
        ),
        (
            Command::IssueTicket {
                service: id("zz"),
                token: "t".into(),
                class: None,
                citizen: None,
            },
            "unknown_service",
        ),
    ];
    for (cmd, code) in refused {
        assert_eq!(sim.run(cmd).unwrap_err().code(), code);
    }
    sim.open("1");
    let open = sim.hall.clone();
    for (cmd, code) in [
        (Command::Recall { window: id("1") }, "no_current_ticket"),
        (Command::NoShow { window: id("1") }, "no_current_ticket"),
        (Command::Finish { window: id("1") }, "no_current_ticket"),
        (
            Command::Pause {
                window: id("1"),
                reason: " ".into(),
            },
            "reason_required",
        ),
        (Command::Resume { window: id("1") }, "window_not_paused"),
        (
            Command::Open {
                window: id("1"),
                clerk: None,
            },
            "window_open",
        ),
    ] {
        assert_eq!(sim.run(cmd).unwrap_err().code(), code);
        assert_eq!(sim.hall, open);
    }
    assert_ne!(before, open);
}

#[test]
fn a_called_ticket_must_be_handled_before_the_next() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.take("a");
    sim.open("1");
    sim.call("1").unwrap();
    assert_eq!(sim.call("1"), Err(CoreError::TicketCalled));
    assert_eq!(
        sim.win("1", |w| Command::Finish { window: w }).unwrap_err(),
        CoreError::NotStarted
    );
}

#[test]
fn pause_and_close() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.open("1");
    sim.run(Command::Pause {
        window: id("1"),
        reason: "午休".into(),
    })
    .unwrap();
    assert_eq!(sim.hall.status("1"), Some(WindowStatus::Paused));
    assert_eq!(sim.call("1"), Err(CoreError::WindowPaused));
    sim.win("1", |w| Command::Resume { window: w }).unwrap();
    sim.call("1").unwrap();
    assert_eq!(
        sim.win("1", |w| Command::Close { window: w }).unwrap_err(),
        CoreError::TicketInProgress
    );
    sim.win("1", |w| Command::NoShow { window: w }).unwrap();
    sim.win("1", |w| Command::Close { window: w }).unwrap();
    assert_eq!(sim.hall.status("1"), Some(WindowStatus::Closed));
}

#[test]
fn place_and_estimate_follow_the_queue() {
    let mut sim = Sim::new();
    let tokens: Vec<String> = (0..4).map(|_| sim.take("a")).collect();
    assert_eq!(tokens, ["A001", "A002", "A003", "A004"]);
    let last = sim.hall.tickets().last().unwrap().clone();
    let place = sim.hall.place(&last);
    assert_eq!(place.ahead, 3);
    // Windows 1 and 3 serve `a` (both closed, so both count): 3.5 × 10 min / 2.
    assert_eq!(place.estimated_wait_s, 1050);
    sim.open("1");
    sim.call("1").unwrap();
    let place = sim.hall.place(&last);
    assert_eq!(place.ahead, 2);
    // Only window 1 is open now: 2.5 × 10 min.
    assert_eq!(place.estimated_wait_s, 1500);
}

#[test]
fn views_count_waiting_per_window_and_service() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.minutes(5);
    sim.take("b");
    sim.take("b");
    let w3 = sim.hall.window_view("3").unwrap();
    assert_eq!(w3.waiting, 3);
    assert_eq!(w3.status, WindowStatus::Closed);
    let services = sim.hall.service_views(sim.now);
    assert_eq!((services[0].waiting, services[0].longest_wait_s), (1, 300));
    assert_eq!((services[1].waiting, services[1].issued_today), (2, 2));
}

#[test]
fn replay_rebuilds_the_same_hall() {
    let mut sim = Sim::new();
    sim.take("a");
    sim.take("b");
    sim.open("3");
    sim.call("3").unwrap();
    sim.win("3", |w| Command::Start { window: w }).unwrap();
    let rebuilt = Hall::replay(small_hall(), &sim.log);
    assert_eq!(rebuilt, sim.hall);
    assert_eq!(rebuilt.seq(), sim.log.len() as u64);
}

#[test]
fn a_clock_set_back_an_hour_does_not_turn_time_back() {
    let mut sim = Sim::new();
    assert_eq!(sim.take("a"), "A001");
    sim.open("1");
    sim.call("1").unwrap();
    let before = sim.log.last().unwrap().at_ms;
    // The wall clock jumps back an hour (NTP corrects a fast clock).
    sim.minutes(-60);
    assert_eq!(
        sim.take("a"),
        "A002",
        "numbering goes on, the day did not restart"
    );
    sim.win("1", |w| Command::Start { window: w }).unwrap();
    sim.win("1", |w| Command::Finish { window: w }).unwrap();
    assert_eq!(sim.call("1").unwrap(), "A002");
    let times: Vec<_> = sim.log.iter().map(|r| r.at_ms).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "the log stays in time order: {times:?}"
    );
    assert_eq!(
        sim.log.last().unwrap().at_ms,
        before,
        "time stood still until the clock catches up"
    );
    let a1 = sim.ticket("A001");
    assert!(a1.ended_ms >= a1.started_ms, "no negative service time");
    assert_eq!(Hall::replay(small_hall(), &sim.log), sim.hall);
    // And when the clock has caught up, time moves again.
    sim.minutes(61);
    sim.take("b");
    assert!(sim.log.last().unwrap().at_ms > before);
}

#[test]
fn free_text_is_limited_and_a_refusal_changes_nothing() {
    let mut sim = Sim::new();
    sim.take("a");
    let seq = sim.hall.seq();
    let long = "长".repeat(hallq_core::command::MAX_REASON_CHARS + 1);
    let err = sim
        .run(Command::Open {
            window: id("1"),
            clerk: Some("x".repeat(hallq_core::command::MAX_CLERK_CHARS + 1)),
        })
        .unwrap_err();
    assert_eq!(err.code(), "bad_text");
    sim.open("1");
    let seq_open = sim.hall.seq();
    assert!(seq_open > seq);
    for cmd in [
        Command::Pause {
            window: id("1"),
            reason: long.clone(),
        },
        Command::Pause {
            window: id("1"),
            reason: "午休\n\u{1b}[2J".into(),
        },
        Command::CallTicket {
            window: id("1"),
            number: "A001".into(),
            reason: Some(long.clone()),
        },
    ] {
        let err = sim.run(cmd).unwrap_err();
        assert_eq!(err.code(), "bad_text", "{err}");
        assert_eq!(
            sim.hall.seq(),
            seq_open,
            "a refused command changed the hall"
        );
    }
    let fits = "长".repeat(hallq_core::command::MAX_REASON_CHARS);
    sim.run(Command::Pause {
        window: id("1"),
        reason: fits,
    })
    .expect("a reason of exactly the limit is fine");
}

#[test]
fn a_hall_file_that_drops_a_service_still_replays_and_shows_old_tickets() {
    let mut sim = Sim::new();
    sim.take("b");
    sim.take("a");
    sim.open("2");
    sim.call("2").unwrap();
    sim.win("2", |w| Command::Start { window: w }).unwrap();
    sim.win("2", |w| Command::Finish { window: w }).unwrap();
    sim.take("b");
    // Service b leaves the hall file (and window 2 with it).
    let mut smaller = small_hall();
    smaller.services.retain(|s| s.id.as_str() != "b");
    smaller.windows.retain(|w| w.id.as_str() != "2");
    for w in &mut smaller.windows {
        w.serves.retain(|s| s.as_str() != "b");
    }
    smaller.validate().unwrap();
    let hall = Hall::replay(smaller, &sim.log);
    for t in hall.tickets() {
        let place = hall.place(t);
        if t.service.as_str() == "b" && t.state == TicketState::Waiting {
            assert_eq!(place.estimated_wait_s, 0, "no estimate without the service");
        }
    }
    assert_eq!(hall.window_views().len(), 2);
    assert_eq!(hall.service_views(sim.now).len(), 1);
    let mut hall = hall;
    // The hall goes on: numbering of the kept service, and calls.
    let r = hall
        .handle(
            sim.now,
            Command::IssueTicket {
                service: id("a"),
                token: "later".into(),
                class: None,
                citizen: None,
            },
        )
        .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(hall.ticket_by_token("later").unwrap().number, "A002");
}
