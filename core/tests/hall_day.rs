//! A day in the hall with its full rules, in simulated time: the morning
//! surge, priorities and work profiles, a clerk pausing, a transfer, a hold,
//! no-shows, closing time, bookings arriving on time, late and not at all,
//! ratings and the yellow and red cards of 电子监察.

mod common;

use common::{MORNING, Sim, day_hall, id};
use hallq_core::{
    CardKind, CardLevel, Command, CoreError, Event, Policy, TicketState, WindowStatus,
};

fn day() -> Sim {
    Sim::with(day_hall())
}

fn start(sim: &mut Sim, w: &str) {
    sim.win(w, |window| Command::Start { window }).unwrap();
}

fn finish(sim: &mut Sim, w: &str) {
    sim.win(w, |window| Command::Finish { window }).unwrap();
}

#[test]
fn morning_surge_priorities_and_work_profiles() {
    let mut sim = day();
    sim.at("08:31");
    for _ in 0..3 {
        sim.take("a");
        sim.take("b");
    }
    sim.minutes(1);
    let elderly = sim.take_as("a", Some("elderly"), None).unwrap();
    assert_eq!(elderly, "A004");
    assert_eq!(
        sim.take_as("a", Some("booking"), None),
        Err(CoreError::UnknownClass("booking".into())),
        "a kiosk cannot claim the booking class"
    );
    for w in ["1", "2", "3"] {
        sim.open(w);
    }
    // The elderly citizen came last but is called first; then FIFO.
    assert_eq!(sim.call("1").unwrap(), "A004");
    assert_eq!(
        sim.ticket("A004").owner.as_ref().unwrap().clerk.as_deref(),
        Some("clerk1")
    );
    // Window 2 is strict: its first service (b) while anyone waits for it.
    assert_eq!(sim.call("2").unwrap(), "B001");
    // Window 3 is weighted 2:1 between a and b.
    let mut calls = Vec::new();
    for _ in 0..3 {
        let n = sim.call("3").unwrap();
        calls.push(n[..1].to_owned());
        start(&mut sim, "3");
        finish(&mut sim, "3");
    }
    assert_eq!(calls, ["A", "A", "B"]);
    let places: Vec<u32> = sim
        .hall
        .queue("b")
        .map(|t| sim.hall.place(t).ahead)
        .collect();
    assert_eq!(places, [0]);
}

#[test]
fn the_manager_switches_a_window_at_run_time() {
    let mut sim = day();
    sim.at("09:00");
    sim.take("b");
    sim.open("1");
    assert_eq!(
        sim.call("1"),
        Err(CoreError::QueueEmpty),
        "window 1 serves only a"
    );
    let set = Command::SetProfile {
        window: id("1"),
        serves: vec![id("a"), id("b")],
        policy: Policy::LongestWait,
        weights: vec![],
    };
    sim.run(set).unwrap();
    assert_eq!(sim.call("1").unwrap(), "B001");
    let bad = Command::SetProfile {
        window: id("1"),
        serves: vec![id("a"), id("b")],
        policy: Policy::Weighted,
        weights: vec![1],
    };
    assert_eq!(sim.run(bad).unwrap_err().code(), "bad_profile");
}

#[test]
fn a_clerk_pauses_transfers_and_holds() {
    let mut sim = day();
    sim.at("09:00");
    let first = sim.take("a");
    sim.take("a");
    sim.take("a");
    sim.open("1");
    sim.open("2");
    assert_eq!(
        sim.run(Command::Pause {
            window: id("1"),
            reason: "".into()
        }),
        Err(CoreError::ReasonRequired)
    );
    sim.run(Command::Pause {
        window: id("1"),
        reason: "系统维护".into(),
    })
    .unwrap();
    assert_eq!(sim.hall.status("1"), Some(WindowStatus::Paused));
    sim.win("1", |window| Command::Resume { window }).unwrap();

    // Consultation at window 1 finds it is a real-estate matter: to service b.
    assert_eq!(sim.call("1").unwrap(), first);
    start(&mut sim, "1");
    sim.take("b");
    let transfer = Command::Transfer {
        window: id("1"),
        to_service: Some(id("b")),
        to_window: None,
        note: "不动产".into(),
    };
    sim.run(transfer).unwrap();
    let t = sim.ticket(&first);
    assert_eq!(
        (t.state, t.service.as_str(), t.transfers),
        (TicketState::Waiting, "b", 1)
    );
    // It keeps its place (taken before B001) and its owner (首问负责).
    assert_eq!(sim.hall.place(t).ahead, 0);
    assert_eq!(sim.call("2").unwrap(), first);
    assert_eq!(
        sim.ticket(&first).owner.as_ref().unwrap().window.as_str(),
        "1"
    );

    // Hold: the citizen steps out to fetch a document.
    sim.win("2", |window| Command::Hold { window }).unwrap();
    assert_eq!(sim.ticket(&first).state, TicketState::Held);
    let other = sim.call("2").unwrap();
    assert_eq!(other, "B001");
    sim.win("2", |window| Command::NoShow { window }).unwrap();
    let back = Command::CallTicket {
        window: id("2"),
        number: first.clone(),
        reason: None,
    };
    sim.run(back.clone()).unwrap();
    assert_eq!(sim.ticket(&first).state, TicketState::Called);

    // Out of order needs a reason; a ticket held elsewhere cannot be taken.
    finish_called(&mut sim, "2");
    let jump = Command::CallTicket {
        window: id("1"),
        number: "A003".into(),
        reason: None,
    };
    assert_eq!(sim.run(jump), Err(CoreError::ReasonRequired));
    let jump = Command::CallTicket {
        window: id("1"),
        number: "A003".into(),
        reason: Some("急诊转来".into()),
    };
    let records = sim.run(jump).unwrap();
    assert!(
        matches!(&records[0].event, Event::TicketCalled { reason: Some(r), .. } if r == "急诊转来")
    );
    sim.win("1", |window| Command::Hold { window }).unwrap();
    let steal = Command::CallTicket {
        window: id("2"),
        number: "A003".into(),
        reason: Some("x".into()),
    };
    assert_eq!(sim.run(steal), Err(CoreError::NotOwner));
    assert_eq!(
        sim.win("1", |window| Command::Close { window })
            .unwrap_err(),
        CoreError::TicketInProgress,
        "a held ticket keeps the window open"
    );

    // Transfer to a window: it waits there, first in line for that window.
    let back = Command::CallTicket {
        window: id("1"),
        number: "A003".into(),
        reason: None,
    };
    sim.run(back).unwrap();
    let to_window = Command::Transfer {
        window: id("1"),
        to_service: None,
        to_window: Some(id("3")),
        note: String::new(),
    };
    sim.run(to_window).unwrap();
    sim.take("a");
    sim.open("3");
    assert_eq!(sim.call("3").unwrap(), "A003");
}

fn finish_called(sim: &mut Sim, w: &str) {
    start(sim, w);
    finish(sim, w);
}

#[test]
fn recalls_are_capped_and_spaced_and_a_no_show_comes_back_once() {
    let mut sim = day();
    sim.at("10:00");
    let first = sim.take("a");
    for _ in 0..3 {
        sim.take("a");
    }
    sim.open("1");
    sim.call("1").unwrap();
    let recall = |sim: &mut Sim| sim.win("1", |window| Command::Recall { window });
    assert_eq!(recall(&mut sim).unwrap_err(), CoreError::RecallTooSoon);
    sim.minutes(1);
    recall(&mut sim).unwrap();
    sim.minutes(1);
    recall(&mut sim).unwrap();
    sim.minutes(1);
    assert_eq!(recall(&mut sim).unwrap_err(), CoreError::RecallLimit);
    // First no-show: back into the queue, behind two.
    sim.win("1", |window| Command::NoShow { window }).unwrap();
    let t = sim.ticket(&first);
    assert_eq!(
        (t.state, sim.hall.place(t).ahead),
        (TicketState::Waiting, 2)
    );
    assert_eq!(sim.call("1").unwrap(), "A002");
    finish_called(&mut sim, "1");
    assert_eq!(sim.call("1").unwrap(), "A003");
    finish_called(&mut sim, "1");
    assert_eq!(sim.call("1").unwrap(), first);
    // Second no-show: it ends.
    sim.win("1", |window| Command::NoShow { window }).unwrap();
    assert_eq!(sim.ticket(&first).state, TicketState::NoShow);
}

#[test]
fn closing_time_cut_off_and_overtime() {
    let mut sim = day();
    sim.at("08:00");
    assert_eq!(sim.take_as("a", None, None), Err(CoreError::OutsideHours));
    sim.at("11:29");
    let last = sim.take("a");
    sim.at("11:31");
    assert_eq!(
        sim.take_as("a", None, None),
        Err(CoreError::OutsideHours),
        "cut-off 30 minutes before 12:00"
    );
    // The morning ticket is still served (延时服务), its overtime recorded.
    sim.at("11:50");
    sim.open("1");
    sim.call("1").unwrap();
    start(&mut sim, "1");
    sim.at("12:10");
    finish(&mut sim, "1");
    assert_eq!(sim.ticket(&last).overtime_s, 600);
    sim.at("13:30");
    sim.take("b");
    // Saturday and a holiday: closed.
    sim.minutes(24 * 60);
    sim.at("09:00");
    assert_eq!(
        sim.take_as("a", None, None),
        Err(CoreError::OutsideHours),
        "Saturday"
    );
    sim.now = MORNING + 4 * hallq_core::DAY_MS; // Tuesday 2026-12-01, a holiday here
    assert_eq!(
        sim.take_as("a", None, None),
        Err(CoreError::OutsideHours),
        "holiday"
    );
}

#[test]
fn caps_quotas_and_the_next_day() {
    let mut sim = day();
    sim.at("09:00");
    assert!(sim.take_as("a", None, Some("citizen-1")).is_ok());
    assert!(sim.take_as("b", None, Some("citizen-1")).is_ok());
    assert_eq!(
        sim.take_as("a", None, Some("citizen-1")),
        Err(CoreError::QuotaExceeded),
        "2 per ID per day"
    );
    for _ in 0..5 {
        sim.take("a");
    }
    assert_eq!(
        sim.take_as("a", None, None),
        Err(CoreError::DailyCapReached),
        "6 a day for service a"
    );
    // Monday: numbering restarts, yesterday's queue expired, caps and quotas reset.
    sim.now = MORNING + 3 * hallq_core::DAY_MS;
    assert_eq!(sim.take_as("a", None, Some("citizen-1")).unwrap(), "A001");
    assert!(
        sim.hall
            .tickets()
            .filter(|t| t.day < sim.hall.day().unwrap())
            .all(|t| t.state == TicketState::Expired)
    );
}

#[test]
fn carry_over_keeps_the_queue_and_the_numbers() {
    let mut config = day_hall();
    config.rules.carry_over = true;
    let mut sim = Sim::with(config);
    sim.at("09:00");
    sim.take("a");
    sim.now = MORNING + 3 * hallq_core::DAY_MS;
    assert_eq!(sim.take("a"), "A002");
    assert_eq!(sim.hall.queue("a").count(), 2);
}

fn book(sim: &mut Sim, token: &str, slot: &str, citizen: &str) -> Result<(), CoreError> {
    let (h, m) = slot.split_once(':').unwrap();
    let minute: i64 = h.parse::<i64>().unwrap() * 60 + m.parse::<i64>().unwrap();
    let day = (sim.now + 8 * 3_600_000).div_euclid(hallq_core::DAY_MS);
    let slot_ms = day * hallq_core::DAY_MS + minute * 60_000 - 8 * 3_600_000;
    sim.run(Command::Book {
        token: token.into(),
        service: id("a"),
        slot_ms,
        citizen: citizen.into(),
    })
    .map(|_| ())
}

fn check_in(sim: &mut Sim, booking: &str, token: &str) -> Result<String, CoreError> {
    sim.run(Command::CheckIn {
        booking: booking.into(),
        token: token.into(),
    })?;
    Ok(sim.hall.ticket_by_token(token).unwrap().number.clone())
}

#[test]
fn bookings_on_time_late_and_missed() {
    let mut sim = day();
    sim.at("08:40");
    book(&mut sim, "bk1", "10:00", "zhang").unwrap();
    book(&mut sim, "bk2", "10:00", "li").unwrap();
    assert_eq!(
        book(&mut sim, "bk3", "10:00", "wang"),
        Err(CoreError::SlotFull)
    );
    assert_eq!(
        book(&mut sim, "bk3", "10:10", "wang"),
        Err(CoreError::BadSlot),
        "slots start on the half hour"
    );
    assert_eq!(
        book(&mut sim, "bk3", "12:00", "wang"),
        Err(CoreError::BadSlot),
        "the hall is closed at noon"
    );
    book(&mut sim, "bk3", "11:00", "wang").unwrap();
    book(&mut sim, "bk4", "11:00", "zhao").unwrap();

    sim.take("a");
    sim.at("09:20");
    assert_eq!(check_in(&mut sim, "bk1", "t1"), Err(CoreError::TooEarly));
    sim.at("09:45");
    let on_time = check_in(&mut sim, "bk1", "t1").unwrap();
    assert_eq!(
        sim.ticket(&on_time).class.as_ref().map(|c| c.as_str()),
        Some("booking")
    );
    assert_eq!(
        check_in(&mut sim, "bk1", "t1b"),
        Err(CoreError::BookingClosed),
        "once"
    );
    sim.open("1");
    assert_eq!(
        sim.call("1").unwrap(),
        on_time,
        "the booking class goes first"
    );
    // Late, past the 15-minute grace: an ordinary ticket.
    sim.at("10:20");
    let late = check_in(&mut sim, "bk2", "t2").unwrap();
    assert_eq!(sim.ticket(&late).class, None);
    // 11:00 slot: wang and zhao never come.
    sim.at("11:31");
    let missed: Vec<Event> = sim
        .tick()
        .into_iter()
        .filter(|e| matches!(e, Event::BookingMissed { .. }))
        .collect();
    assert_eq!(missed.len(), 2);
    assert_eq!(
        check_in(&mut sim, "bk3", "t3"),
        Err(CoreError::BookingClosed)
    );
    // Two no-shows within 30 days suspend booking for 30 days.
    sim.now += hallq_core::DAY_MS * 3;
    sim.at("09:00");
    book(&mut sim, "bk5", "10:00", "wang").unwrap();
    sim.at("10:31");
    sim.tick();
    sim.now += 2 * hallq_core::DAY_MS; // Wednesday (Tuesday is a holiday here)
    assert_eq!(
        book(&mut sim, "bk6", "15:00", "wang"),
        Err(CoreError::BookingBanned)
    );
    book(&mut sim, "bk7", "15:00", "zhang").unwrap();
}

#[test]
fn a_finished_ticket_is_rated_once() {
    let mut sim = day();
    sim.at("09:00");
    let n = sim.take("a");
    sim.open("1");
    sim.call("1").unwrap();
    let rate = |sim: &mut Sim, score| {
        sim.run(Command::Rate {
            ticket: n.clone(),
            window: Some(id("1")),
            score,
        })
    };
    assert_eq!(rate(&mut sim, 5), Err(CoreError::NotFinished));
    finish_called(&mut sim, "1");
    assert_eq!(rate(&mut sim, 6), Err(CoreError::BadScore));
    let wrong_window = Command::Rate {
        ticket: n.clone(),
        window: Some(id("2")),
        score: 5,
    };
    assert_eq!(sim.run(wrong_window), Err(CoreError::NotOwner));
    let records = rate(&mut sim, 5).unwrap();
    assert!(
        matches!(&records[0].event, Event::TicketRated { clerk: Some(c), score: 5, .. } if c == "clerk1")
    );
    assert_eq!(rate(&mut sim, 1), Err(CoreError::AlreadyRated));
}

#[test]
fn long_waits_and_long_services_get_cards() {
    let mut sim = day();
    sim.at("09:00");
    let waiting = sim.take("a");
    let served = sim.take("b");
    sim.open("2");
    assert_eq!(sim.call("2").unwrap(), served);
    start(&mut sim, "2");
    // b's limit is 20 minutes: yellow at 16, red past 20.
    assert_eq!(sim.hall.next_deadline(), Some(sim.now + 16 * 60_000));
    sim.minutes(16);
    let cards = |events: Vec<Event>| -> Vec<(String, CardKind, CardLevel)> {
        events
            .into_iter()
            .filter_map(|e| match e {
                Event::CardIssued {
                    ticket,
                    kind,
                    level,
                    ..
                } => Some((ticket.0.to_string(), kind, level)),
                _ => None,
            })
            .collect()
    };
    let first = cards(sim.tick());
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].1, first[0].2),
        (CardKind::Service, CardLevel::Yellow)
    );
    sim.minutes(5);
    assert_eq!(
        cards(sim.tick())
            .iter()
            .map(|c| (c.1, c.2))
            .collect::<Vec<_>>(),
        [(CardKind::Service, CardLevel::Red)]
    );
    sim.minutes(10);
    // A waits since 09:00: yellow at 30 minutes.
    assert_eq!(
        cards(sim.tick())
            .iter()
            .map(|c| (c.1, c.2))
            .collect::<Vec<_>>(),
        [(CardKind::Wait, CardLevel::Yellow)]
    );
    assert_eq!(sim.ticket(&waiting).wait_card, Some(CardLevel::Yellow));
    assert!(sim.tick().is_empty(), "a card is given once");
    sim.minutes(30);
    assert_eq!(
        cards(sim.tick())
            .iter()
            .map(|c| (c.1, c.2))
            .collect::<Vec<_>>(),
        [(CardKind::Wait, CardLevel::Red)]
    );
    // Counted per clerk and service.
    let counts = sim.hall.card_counts();
    assert_eq!(
        counts.get(&(
            Some("clerk2".into()),
            id("b"),
            CardKind::Service,
            CardLevel::Red
        )),
        Some(&1)
    );
    assert_eq!(
        counts.get(&(None, id("a"), CardKind::Wait, CardLevel::Red)),
        Some(&1)
    );
    // Replaying gives the same hall, cards included.
    assert_eq!(hallq_core::Hall::replay(day_hall(), &sim.log), sim.hall);
}

/// Free slots follow the hours, the horizon and the places taken; a
/// booking called off before its slot frees its place and leaves the
/// citizen's credit alone; after the slot it cannot be.
#[test]
fn free_slots_and_cancelled_bookings() {
    let mut sim = day();
    sim.at("08:10");
    let today = (sim.now + 8 * 3_600_000).div_euclid(hallq_core::DAY_MS);
    let slots = sim.hall.free_slots(&id("a"), today, sim.now).unwrap();
    assert!(!slots.is_empty());
    assert!(
        slots.iter().all(|(ms, _)| *ms > sim.now),
        "only slots still ahead"
    );
    let nine = slots[0].0;
    assert!(slots.iter().all(|(_, free)| *free == 2));
    book(&mut sim, "b1", "09:00", "c1").unwrap();
    let left = |sim: &Sim| {
        sim.hall
            .free_slots(&id("a"), today, sim.now)
            .unwrap()
            .into_iter()
            .find(|(ms, _)| {
                let (_, m) = hallq_core::calendar::local(*ms, 480);
                m == 9 * 60
            })
            .map(|(_, f)| f)
    };
    assert_eq!(left(&sim), Some(1));
    sim.run(Command::CancelBooking {
        booking: "b1".into(),
    })
    .unwrap();
    assert_eq!(left(&sim), Some(2), "the place is free again");
    assert_eq!(
        sim.hall.booking("b1").unwrap().state,
        hallq_core::booking::BookingState::Cancelled
    );
    assert_eq!(
        sim.run(Command::CancelBooking {
            booking: "b1".into()
        }),
        Err(CoreError::BookingClosed),
        "once"
    );
    book(&mut sim, "b2", "09:00", "c1").unwrap();
    sim.at("09:05");
    assert_eq!(
        sim.run(Command::CancelBooking {
            booking: "b2".into()
        }),
        Err(CoreError::BookingClosed),
        "not after the slot began"
    );
    assert_eq!(
        sim.run(Command::CancelBooking {
            booking: "nope".into()
        }),
        Err(CoreError::UnknownBooking)
    );
    // Far beyond the horizon: nothing to book.
    assert!(
        sim.hall
            .free_slots(&id("a"), today + 400, sim.now)
            .unwrap()
            .is_empty()
    );
    let _ = nine;
}
