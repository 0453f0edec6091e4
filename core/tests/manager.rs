//! The hall manager's actions: each with the manager's id in its event,
//! refused when the window (or notice) changed since the manager saw it,
//! and by the same rules as a pad's.

mod common;

use common::{Sim, id};
use hallq_core::{Command, CoreError, Event, ManagerAction, Policy};

fn manage(
    sim: &mut Sim,
    seen: Option<u64>,
    action: ManagerAction,
) -> Result<Vec<Event>, CoreError> {
    sim.run(Command::Manage {
        by: "wang".into(),
        seen,
        action,
    })
    .map(|rs| rs.into_iter().map(|r| r.event).collect())
}

#[test]
fn a_switch_made_on_an_old_picture_is_refused() {
    let mut sim = Sim::new();
    let seen = sim
        .hall
        .windows()
        .find(|(w, _)| w.as_str() == "3")
        .unwrap()
        .1
        .changed;
    // Someone else opens window 3 meanwhile.
    sim.open("3");
    let profile = ManagerAction::Profile {
        window: id("3"),
        serves: vec![id("b")],
        policy: Policy::LongestWait,
        weights: vec![],
    };
    let err = manage(&mut sim, Some(seen), profile.clone()).unwrap_err();
    assert!(matches!(err, CoreError::Stale { .. }), "{err:?}");
    assert_eq!(err.code(), "stale");
    let now = sim
        .hall
        .windows()
        .find(|(w, _)| w.as_str() == "3")
        .unwrap()
        .1
        .changed;
    let events = manage(&mut sim, Some(now), profile).unwrap();
    assert!(
        matches!(&events[..], [Event::WindowProfileSet { by: Some(b), serves, .. }] if b == "wang" && serves == &[id("b")]),
        "{events:?}"
    );
    // Without a seq the action is taken as it stands (scripts).
    let close = manage(&mut sim, None, ManagerAction::Close { window: id("3") }).unwrap();
    assert!(matches!(
        &close[..],
        [Event::WindowClosed { by: Some(_), .. }]
    ));
}

#[test]
fn opening_and_closing_follow_the_counter_rules() {
    let mut sim = Sim::new();
    let open = manage(&mut sim, None, ManagerAction::Open { window: id("1") }).unwrap();
    assert!(
        matches!(&open[..], [Event::WindowOpened { clerk: None, by: Some(b), .. }] if b == "wang")
    );
    assert_eq!(
        manage(&mut sim, None, ManagerAction::Open { window: id("1") }),
        Err(CoreError::WindowAlreadyOpen)
    );
    sim.take("a");
    sim.call("1").unwrap();
    assert_eq!(
        manage(&mut sim, None, ManagerAction::Close { window: id("1") }),
        Err(CoreError::TicketInProgress),
        "not with a citizen at the counter"
    );
    assert!(matches!(
        manage(&mut sim, None, ManagerAction::Open { window: id("9") }),
        Err(CoreError::UnknownWindow(_))
    ));
}

#[test]
fn moving_a_queue_keeps_the_order_and_the_numbers() {
    let mut sim = Sim::new();
    let a1 = sim.take("a");
    sim.minutes(1);
    let b1 = sim.take("b");
    sim.minutes(1);
    let a2 = sim.take("a");
    let moved = manage(
        &mut sim,
        None,
        ManagerAction::MoveQueue {
            from: id("a"),
            to: id("b"),
        },
    )
    .unwrap();
    assert!(
        matches!(&moved[..], [Event::QueueMoved { tickets, by, .. }] if tickets.len() == 2 && by == "wang")
    );
    assert_eq!(sim.ticket(&a1).service, id("b"));
    // Window 2 serves b only: it now calls by issue time across both.
    sim.open("2");
    assert_eq!(sim.call("2").unwrap(), a1);
    sim.win("2", |window| Command::Start { window }).unwrap();
    sim.win("2", |window| Command::Finish { window }).unwrap();
    assert_eq!(sim.call("2").unwrap(), b1);
    assert_eq!(
        manage(
            &mut sim,
            None,
            ManagerAction::MoveQueue {
                from: id("a"),
                to: id("b")
            }
        ),
        Err(CoreError::QueueEmpty)
    );
    assert_eq!(
        manage(
            &mut sim,
            None,
            ManagerAction::MoveQueue {
                from: id("b"),
                to: id("b")
            }
        ),
        Err(CoreError::BadTransfer)
    );
    assert!(matches!(
        manage(
            &mut sim,
            None,
            ManagerAction::MoveQueue {
                from: id("a"),
                to: id("zz")
            }
        ),
        Err(CoreError::UnknownService(_))
    ));
    let _ = a2;
}

#[test]
fn the_notice_is_kept_and_guarded_like_a_window() {
    let mut sim = Sim::new();
    let set = |sim: &mut Sim, seen, text: &str| {
        manage(sim, seen, ManagerAction::Notice { text: text.into() })
    };
    assert!(
        matches!(&set(&mut sim, Some(0), " 今日停止取号 ").unwrap()[..], [Event::NoticeSet { text, .. }] if text == "今日停止取号")
    );
    assert_eq!(sim.hall.notice(), "今日停止取号");
    let seq = sim.hall.notice_seq();
    assert!(seq > 0);
    assert_eq!(
        set(&mut sim, Some(seq), "今日停止取号").unwrap(),
        vec![],
        "the same text again: nothing"
    );
    assert!(matches!(
        set(&mut sim, Some(seq - 1), "x"),
        Err(CoreError::Stale { .. })
    ));
    assert!(matches!(
        set(&mut sim, None, &"长".repeat(201)),
        Err(CoreError::BadText { .. })
    ));
    // The log rebuilds it.
    let mut again = hallq_core::Hall::new(sim.hall.config().clone());
    for r in &sim.log {
        again.apply(r);
    }
    assert_eq!(again.notice(), "今日停止取号");
    assert_eq!(again.notice_seq(), seq);
}
