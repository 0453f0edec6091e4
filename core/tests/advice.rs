//! The rebalancing advisor: candidate changes tried on copies of the hall
//! run forward with the same draws; the one that cuts the waits most is
//! advised when it saves enough.

mod common;

use common::{MORNING, id, issue_n, open_windows, small_hall};
use hallq_core::advice::{Bounds, advise};
use hallq_core::config::Policy;
use hallq_core::forecast::Model;
use hallq_core::{Command, Hall};

/// `n` tickets of `service`, after those the hall has (a millisecond apart).
fn issue(hall: &mut Hall, service: &str, n: usize) {
    let before = hall.tickets().count() as i64;
    issue_n(hall, MORNING + 1 + before, service, n);
}

#[test]
fn an_idle_window_is_told_to_take_the_long_queue_too() {
    let mut hall = Hall::new(small_hall());
    open_windows(&mut hall, MORNING, &["1", "2", "3"]);
    // Twelve for 商事登记 (a, ten minutes each), nobody for b: window 2
    // (b only) sits idle.
    issue(&mut hall, "a", 12);
    let now = MORNING + 1_000;
    let model = Model::from_config(hall.config());
    let advice = advise(&hall, now, &model, &Bounds::default(), 7).expect("advice");
    // Window 2 is b's only counter: it keeps b, and takes a beside it.
    assert_eq!(advice.change.window, id("2"), "{advice:?}");
    assert_eq!(advice.change.serves, vec![id("b"), id("a")]);
    assert_eq!(advice.change.policy, Policy::LongestWait);
    assert!(!advice.change.open && !advice.change.home);
    // Two windows for twelve tickets, then three: about a third less.
    let share = advice.gain_s() / advice.mean_wait_now_s;
    assert!((0.2..0.5).contains(&share), "{advice:?}");
    assert!(advice.per_service[&id("a")].1 < advice.per_service[&id("a")].0);
    // The same seed, the same advice.
    assert_eq!(
        advise(&hall, now, &model, &Bounds::default(), 7),
        Some(advice.clone())
    );

    // Taken: the hall is as good as this advisor can make it.
    for c in advice.change.commands() {
        hall.handle(now, c).unwrap();
    }
    assert_eq!(advise(&hall, now, &model, &Bounds::default(), 7), None);
}

#[test]
fn a_balanced_hall_gets_no_advice_and_a_switched_window_is_switched_back() {
    let mut hall = Hall::new(small_hall());
    open_windows(&mut hall, MORNING, &["1", "2"]);
    issue(&mut hall, "a", 2);
    issue(&mut hall, "b", 2);
    let now = MORNING + 1_000;
    let model = Model::from_config(hall.config());
    assert_eq!(advise(&hall, now, &model, &Bounds::default(), 7), None);
    // With a clerk to spare, the closed window 3 is worth opening.
    let spare = Bounds {
        may_open: true,
        ..Bounds::default()
    };
    let open3 = advise(&hall, now, &model, &spare, 7).expect("advice");
    assert_eq!(open3.change.window, id("3"));
    assert!(open3.change.open);

    // Window 1 was switched to b only; now a's queue is long: one of the
    // two windows is to take a first again (either relieves it as much).
    hall.handle(
        now,
        Command::SetProfile {
            window: id("1"),
            serves: vec![id("b")],
            policy: Policy::LongestWait,
            weights: Vec::new(),
        },
    )
    .unwrap();
    issue(&mut hall, "a", 8);
    let advice = advise(&hall, now + 10, &model, &Bounds::default(), 7).expect("advice");
    assert!(
        ["1", "2"].contains(&advice.change.window.as_str()),
        "{advice:?}"
    );
    assert_eq!(advice.change.serves[0], id("a"), "{advice:?}");
    assert!(advice.gain_s() > 60.0, "{advice:?}");
}
