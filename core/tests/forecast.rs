//! The Monte Carlo forecast of waits: the hall run forward through its own
//! rules with drawn service times.

mod common;

use common::{MORNING, id, issue_n, open_windows, serve_next, small_hall};
use hallq_core::forecast::{Model, ServiceTime, forecast};
use hallq_core::{Command, Hall};

/// Service "a" takes 300 s almost exactly; citizens walk up in ≈ 1 s.
fn steady_model(hall: &Hall) -> Model {
    let mut m = Model::from_config(hall.config());
    m.service_time.insert(
        id("a"),
        ServiceTime::LogNormal {
            mu: 300f64.ln(),
            sigma: 0.01,
        },
    );
    m.walk_up_s = 1.0;
    m
}

#[test]
fn each_waiting_ticket_waits_for_those_ahead_and_the_one_at_the_window() {
    let mut hall = Hall::new(small_hall());
    open_windows(&mut hall, MORNING, &["1"]);
    issue_n(&mut hall, MORNING, "a", 4);
    serve_next(&mut hall, MORNING + 10, "1");
    // 100 s into the first citizen's 300.
    let now = MORNING + 100_020;
    let model = steady_model(&hall);
    let f = forecast(&hall, now, &model, 40, 7);
    let mut by_number: Vec<(String, u32, u32, u32)> = f
        .iter()
        .map(|(t, s)| {
            let n = hall.ticket(*t).unwrap().number.clone();
            (n, s.low_s, s.mean_s, s.high_s)
        })
        .collect();
    by_number.sort();
    let means: Vec<u32> = by_number.iter().map(|(_, _, m, _)| *m).collect();
    let want = [200.0, 501.0, 802.0];
    assert_eq!(by_number.len(), 3, "{by_number:?}");
    for (m, w) in means.iter().zip(want) {
        assert!((f64::from(*m) - w).abs() < 15.0, "{by_number:?}");
    }
    for (_, low, mean, high) in &by_number {
        assert!(low <= mean && mean <= high, "{by_number:?}");
    }
    // The same seed, the same forecast.
    assert_eq!(forecast(&hall, now, &model, 40, 7), f);
}

#[test]
fn a_second_open_window_that_serves_the_service_halves_the_wait() {
    let mut hall = Hall::new(small_hall());
    open_windows(&mut hall, MORNING, &["1", "3"]);
    issue_n(&mut hall, MORNING, "a", 8);
    for w in ["1", "3"] {
        serve_next(&mut hall, MORNING + 10, w);
    }
    let model = steady_model(&hall);
    let f = forecast(&hall, MORNING + 20, &model, 40, 7);
    let last = f
        .iter()
        .find(|(t, _)| hall.ticket(**t).unwrap().number == "A008")
        .map(|(_, s)| *s)
        .unwrap();
    // Six waiting, two windows: three rounds of 300 s (the current
    // services end first).
    assert!((f64::from(last.mean_s) - 900.0).abs() < 20.0, "{last:?}");
}

/// Today's bookings check in within their slot and go ahead of ordinary
/// tickets: a ticket late in the queue waits longer for them, by how likely
/// each comes before its turn.
#[test]
fn bookings_to_come_lengthen_the_wait_of_those_behind_them() {
    let mut hall = Hall::new(common::day_hall());
    open_windows(&mut hall, MORNING, &["1"]);
    // A slot at 09:00 (the window is busy till well after it).
    hall.handle(
        MORNING,
        Command::Book {
            token: "bk-1".into(),
            service: id("a"),
            slot_ms: MORNING + 30 * 60_000,
            citizen: "citizen-1".into(),
        },
    )
    .unwrap();
    // Five ordinary tickets (the service's daily cap is six: the booking
    // is the sixth).
    issue_n(&mut hall, MORNING, "a", 5);
    serve_next(&mut hall, MORNING + 10, "1");
    let now = MORNING + 20;
    let mut model = steady_model(&hall);
    model.service_time.insert(
        id("a"),
        hallq_core::forecast::ServiceTime::LogNormal {
            mu: 600f64.ln(),
            sigma: 0.01,
        },
    );
    let last = |model: &Model| {
        forecast(&hall, now, model, 200, 3)
            .iter()
            .find(|(t, _)| hall.ticket(**t).unwrap().number == "A005")
            .map(|(_, s)| *s)
            .unwrap()
    };
    model.booking_show = 0.0;
    let without = last(&model);
    // Four ahead of it, ten minutes each.
    assert!(
        (f64::from(without.mean_s) - 2400.0).abs() < 30.0,
        "{without:?}"
    );
    model.booking_show = 1.0;
    let with = last(&model);
    // The booking comes between 09:00 and 09:30 and goes ahead of A005
    // if it comes before A005 is called (09:10): one time in three.
    assert!(with.mean_s > without.mean_s + 120, "{with:?} {without:?}");
    assert!(with.high_s >= without.mean_s + 550, "{with:?}");
    assert!(with.low_s <= without.mean_s + 50, "{with:?}");
}

/// A calibration puts the wanted share of real waits inside the range, and
/// never narrows it.
#[test]
fn a_calibration_widens_the_range_until_the_share_fits() {
    use hallq_core::forecast::{Calibration, Spread};
    let s = Spread {
        low_s: 500,
        mean_s: 600,
        high_s: 700,
    };
    // Real waits spread ±300 s around the mean: the runs' ±100 s holds
    // a third of them.
    let samples: Vec<(f64, Spread)> = (0..100).map(|i| (300.0 + 6.0 * f64::from(i), s)).collect();
    assert_eq!(Calibration::fit(&samples[..10], 0.7), None, "too few");
    let c = Calibration::fit(&samples, 0.7).unwrap();
    let inside = |c: &Calibration| {
        let r = c.apply(s);
        samples
            .iter()
            .filter(|(w, _)| *w >= f64::from(r.low_s) && *w <= f64::from(r.high_s))
            .count()
    };
    assert!(inside(&Calibration::NONE) < 40);
    assert!((70..=75).contains(&inside(&c)), "{c:?}: {}", inside(&c));
    assert_eq!(c.apply(s).mean_s, 600);
    // Already wide enough: the range stays (plus the pad).
    let tight: Vec<(f64, Spread)> = (0..100).map(|_| (600.0, s)).collect();
    assert_eq!(Calibration::fit(&tight, 0.7).unwrap().widen, 1.0);
}
