//! How each event changes the hall (`apply`): the fold that replays the log.
//! Nothing here decides anything; `decide.rs` has the rules.

use std::sync::Arc;

use crate::Millis;
use crate::booking::{Booking, BookingState};
use crate::calendar::Day;
use crate::event::{CardKind, CardLevel, Event, Record};
use crate::hall::KEEP_DAYS;
use crate::hall::{Hall, Owner, Ticket, TicketState};
use crate::id::{Id, TicketId};

impl Hall {
    /// Folds one record into the state. Records must come in seq order.
    pub fn apply(&mut self, r: &Record) {
        self.seq = r.seq;
        self.clock = self.clock.max(r.at_ms);
        let now = r.at_ms;
        match &r.event {
            Event::DayStarted { day } => self.start_day(*day, now),
            Event::NoticeSet { text, .. } => {
                self.notice.clone_from(text);
                self.notice_seq = r.seq;
            }
            Event::QueueMoved { to, tickets, .. } => {
                for id in tickets {
                    self.dequeue(*id);
                    if let Some(t) = self.tickets.get_mut(id).map(Arc::make_mut) {
                        t.service = to.clone();
                        t.transfers += 1;
                    }
                    self.enqueue(*id, None);
                }
            }
            Event::WindowOpened { .. }
            | Event::WindowClosed { .. }
            | Event::WindowPaused { .. }
            | Event::WindowResumed { .. }
            | Event::WindowProfileSet { .. } => self.apply_window(&r.event, now),
            Event::BookingMade { .. }
            | Event::BookingCheckedIn { .. }
            | Event::BookingMissed { .. }
            | Event::BookingCancelled { .. } => self.apply_booking(&r.event, now),
            Event::CaseAccepted { .. }
            | Event::CaseStep { .. }
            | Event::CaseCard { .. }
            | Event::CaseDeemed { .. }
            | Event::PickupIssued { .. } => self.apply_case(&r.event, now),
            _ => self.apply_ticket(&r.event, now),
        }
        if let Some(t) = r.event.ticket() {
            self.schedule(t);
        }
        if let Some(w) = r.event.window().and_then(|w| self.windows.get_mut(w)) {
            w.changed = r.seq;
        }
        if let Event::QueueMoved { tickets, .. } = &r.event {
            for t in tickets {
                self.schedule(*t);
            }
        }
    }

    /// A ticket's way through the hall — issued, called, no-show, put back,
    /// held, transferred, started, finished, rated — and its cards.
    fn apply_ticket(&mut self, event: &Event, now: Millis) {
        match event {
            Event::TicketIssued { .. } => self.issue_ticket(event, now),
            Event::TicketCalled {
                ticket,
                window,
                recall,
                ..
            } => self.call_ticket(*ticket, window, *recall, now),
            Event::TicketNoShow { ticket, window } => {
                self.release(*ticket, window);
                self.end_ticket(*ticket, TicketState::NoShow, now);
                let day = self.day.unwrap_or(0);
                if let Some(c) = self
                    .tickets
                    .get(ticket)
                    .map(Arc::as_ref)
                    .and_then(|t| t.citizen.clone())
                {
                    self.citizens.entry(c).or_default().no_show(day);
                }
            }
            Event::TicketPutBack {
                ticket,
                window,
                places,
            } => {
                self.release(*ticket, window);
                if let Some(t) = self.tickets.get_mut(ticket).map(Arc::make_mut) {
                    t.put_back = true;
                    t.state = TicketState::Waiting;
                }
                self.enqueue(*ticket, Some(*places));
            }
            Event::TicketHeld { ticket, window } => {
                self.release(*ticket, window);
                if let Some(w) = self.windows.get_mut(window) {
                    w.held.insert(*ticket);
                }
                if let Some(t) = self.tickets.get_mut(ticket).map(Arc::make_mut) {
                    t.state = TicketState::Held;
                }
            }
            Event::TicketTransferred {
                ticket,
                window,
                to_service,
                to_window,
                ..
            } => {
                self.release(*ticket, window);
                if let Some(t) = self.tickets.get_mut(ticket).map(Arc::make_mut) {
                    t.state = TicketState::Waiting;
                    t.transfers += 1;
                    t.started_ms = None;
                    if let Some(s) = to_service {
                        t.service = s.clone();
                    }
                    t.sent_to = to_window.clone();
                }
                self.enqueue(*ticket, None);
            }
            Event::ServiceStarted { ticket, .. } => {
                if let Some(t) = self.tickets.get_mut(ticket).map(Arc::make_mut) {
                    t.state = TicketState::Serving;
                    t.started_ms = Some(now);
                }
            }
            Event::ServiceFinished {
                ticket,
                window,
                overtime_s,
            } => {
                self.release(*ticket, window);
                if let Some(t) = self.tickets.get_mut(ticket).map(Arc::make_mut) {
                    t.overtime_s = *overtime_s;
                }
                self.end_ticket(*ticket, TicketState::Done, now);
                if let Some(w) = self.windows.get_mut(window) {
                    w.served_today += 1;
                }
            }
            Event::TicketRated { ticket, score, .. } => {
                if let Some(t) = self.tickets.get_mut(ticket).map(Arc::make_mut) {
                    t.rating = Some(*score);
                }
            }
            Event::CardIssued {
                ticket,
                kind,
                level,
                service,
                clerk,
                ..
            } => self.give_card(*ticket, *kind, *level, service, clerk),
            _ => unreachable!("not one of apply_ticket's events"),
        }
    }

    /// A new ticket: counted, indexed, queued.
    fn issue_ticket(&mut self, event: &Event, now: Millis) {
        let Event::TicketIssued {
            ticket,
            token,
            service,
            number,
            class,
            citizen,
            booking,
        } = event
        else {
            unreachable!("only for TicketIssued")
        };
        *self.numbers.entry(service.clone()).or_insert(0) += 1;
        *self.issued.entry(service.clone()).or_insert(0) += 1;
        self.next_ticket = ticket.0 + 1;
        self.tokens.insert(token.clone(), *ticket);
        self.by_number.insert(number.clone(), *ticket);
        if let Some(c) = citizen {
            self.citizens
                .entry(c.clone())
                .or_default()
                .took_ticket(self.day.unwrap_or(0));
        }
        let t = Ticket {
            id: *ticket,
            token: token.clone(),
            service: service.clone(),
            number: number.clone(),
            class: class.clone(),
            citizen: citizen.clone(),
            booking: booking.clone(),
            day: self.day.unwrap_or(0),
            state: TicketState::Waiting,
            window: None,
            sent_to: None,
            owner: None,
            clerk: None,
            issued_ms: now,
            called_ms: None,
            started_ms: None,
            ended_ms: None,
            recalls: 0,
            put_back: false,
            transfers: 0,
            overtime_s: 0,
            rating: None,
            wait_card: None,
            service_card: None,
        };
        self.tickets.insert(*ticket, Arc::new(t));
        self.enqueue(*ticket, None);
    }

    /// A ticket called (or called again) to a window: the window's current
    /// one, its first caller its owner (首问负责).
    fn call_ticket(&mut self, ticket: TicketId, window: &Id, recall: bool, now: Millis) {
        self.dequeue(ticket);
        let clerk = self.windows.get(window).and_then(|w| w.clerk.clone());
        if let Some(w) = self.windows.get_mut(window) {
            w.current = Some(ticket);
            w.held.remove(&ticket);
        }
        let mut service = None;
        if let Some(t) = self.tickets.get_mut(&ticket).map(Arc::make_mut) {
            if recall {
                t.recalls += 1;
            } else {
                service = Some(t.service.clone());
                t.sent_to = None;
            }
            t.state = TicketState::Called;
            t.window = Some(window.clone());
            t.called_ms = Some(now);
            t.clerk = clerk.clone();
            t.owner.get_or_insert(Owner {
                window: window.clone(),
                clerk,
            });
        }
        if let (Some(s), Some(w)) = (service, self.windows.get_mut(window)) {
            *w.calls.entry(s).or_insert(0) += 1;
        }
    }

    /// A yellow or red card on a ticket, counted for its clerk and service.
    fn give_card(
        &mut self,
        ticket: TicketId,
        kind: CardKind,
        level: CardLevel,
        service: &Id,
        clerk: &Option<String>,
    ) {
        if let Some(t) = self.tickets.get_mut(&ticket).map(Arc::make_mut) {
            match kind {
                CardKind::Wait => t.wait_card = Some(level),
                CardKind::Service => t.service_card = Some(level),
            }
        }
        *self
            .cards
            .entry((clerk.clone(), service.clone(), kind, level))
            .or_insert(0) += 1;
        match level {
            CardLevel::Yellow => self.cards_today.0 += 1,
            CardLevel::Red => self.cards_today.1 += 1,
        }
    }

    /// A window opened, closed, paused, resumed or given a work profile.
    fn apply_window(&mut self, event: &Event, now: Millis) {
        match event {
            Event::WindowOpened { window, clerk, .. } => {
                if let Some(w) = self.windows.get_mut(window) {
                    w.open = true;
                    w.clerk = clerk.clone();
                    w.opened_ms = Some(now);
                }
            }
            Event::WindowClosed { window, .. } => {
                let day = self.day.unwrap_or_default();
                if let Some(w) = self.windows.get_mut(window) {
                    w.open = false;
                    w.paused = None;
                    let clerk = w.clerk.take();
                    if let Some(since) = w.opened_ms.take() {
                        w.open_ms_today += now - since;
                        *self
                            .open_time
                            .entry((day, window.clone(), clerk))
                            .or_default() += now - since;
                    }
                }
            }
            Event::WindowPaused { window, reason } => {
                if let Some(w) = self.windows.get_mut(window) {
                    w.paused = Some(reason.clone());
                }
            }
            Event::WindowResumed { window } => {
                if let Some(w) = self.windows.get_mut(window) {
                    w.paused = None;
                }
            }
            Event::WindowProfileSet {
                window,
                serves,
                policy,
                weights,
                ..
            } => {
                if let Some(w) = self.windows.get_mut(window) {
                    w.serves = serves.clone();
                    w.policy = *policy;
                    w.weights = weights.clone();
                    w.calls.clear();
                }
            }
            _ => unreachable!("not one of apply_window's events"),
        }
    }

    /// A booking made, checked in or missed.
    fn apply_booking(&mut self, event: &Event, now: Millis) {
        match event {
            Event::BookingMade {
                booking,
                service,
                slot_ms,
                citizen,
            } => {
                *self.slots.entry((service.clone(), *slot_ms)).or_insert(0) += 1;
                self.bookings.insert(
                    booking.clone(),
                    Booking {
                        service: service.clone(),
                        slot_ms: *slot_ms,
                        citizen: citizen.clone(),
                        state: BookingState::Booked,
                        ticket: None,
                    },
                );
                self.schedule_booking(booking);
            }
            Event::BookingCheckedIn {
                booking, ticket, ..
            } => {
                if let Some(b) = self.bookings.get_mut(booking) {
                    b.state = BookingState::CheckedIn;
                    b.ticket = Some(*ticket);
                }
                self.unschedule_booking(booking);
            }
            Event::BookingMissed { booking } => {
                let day = self.day_of(now);
                if let Some(b) = self.bookings.get_mut(booking) {
                    b.state = BookingState::Missed;
                    self.citizens
                        .entry(b.citizen.clone())
                        .or_default()
                        .no_show(day);
                }
                self.unschedule_booking(booking);
            }
            Event::BookingCancelled { booking } => {
                if let Some(b) = self.bookings.get_mut(booking) {
                    b.state = BookingState::Cancelled;
                    if let Some(n) = self.slots.get_mut(&(b.service.clone(), b.slot_ms)) {
                        *n = n.saturating_sub(1);
                    }
                }
                self.unschedule_booking(booking);
            }
            _ => unreachable!("not one of apply_booking's events"),
        }
    }

    fn start_day(&mut self, day: Day, now: Millis) {
        // The open spells so far belong to the day that ends.
        if let Some(ended) = self.day {
            for (id, w) in &self.windows {
                if let Some(since) = w.opened_ms {
                    *self
                        .open_time
                        .entry((ended, id.clone(), w.clerk.clone()))
                        .or_default() += now - since;
                }
            }
        }
        self.day = Some(day);
        self.issued.clear();
        self.cards_today = (0, 0);
        for w in self.windows.values_mut() {
            w.served_today = 0;
            w.open_ms_today = 0;
            if w.opened_ms.is_some() {
                w.opened_ms = Some(now);
            }
        }
        self.forget_finished_days(day);
        self.forget_delivered_cases(now);
        if self.config.rules.carry_over {
            return;
        }
        self.numbers.clear();
        self.by_number.clear();
        let waiting: Vec<TicketId> = self
            .tickets
            .values()
            .filter(|t| matches!(t.state, TicketState::Waiting | TicketState::Held))
            .map(|t| t.id)
            .collect();
        for id in waiting {
            self.dequeue(id);
            for w in self.windows.values_mut() {
                w.held.remove(&id);
            }
            self.end_ticket(id, TicketState::Expired, now);
            self.schedule(id);
        }
    }

    /// Lets go of the finished tickets of service days more than
    /// [`KEEP_DAYS`] before `today`: the log keeps them (and the report of
    /// such a day is made from it), the hall's memory stays the size of a
    /// week, whatever the age of the log. Tickets are kept in issue order,
    /// so the old ones are a prefix; one still open (never, unless a day
    /// did not start) stays.
    fn forget_finished_days(&mut self, today: Day) {
        let old: Vec<TicketId> = self
            .tickets
            .values()
            .take_while(|t| t.day < today - KEEP_DAYS)
            .filter(|t| t.state.is_final())
            // The phone page of a ticket whose case is still open follows it.
            .filter(|t| !self.cases.follows(&t.token))
            .map(|t| t.id)
            .collect();
        for id in old {
            if let Some(t) = self.tickets.remove(&id) {
                self.tokens.remove(&t.token);
                if self.by_number.get(&t.number) == Some(&id) {
                    self.by_number.remove(&t.number);
                }
            }
        }
        // Bookings settled that long ago, the windows' open time of those
        // days, and what no rule reads any more of a citizen: memory stays
        // bounded however long the hall runs (the log keeps it all).
        let offset = self.config.hall.utc_offset_minutes;
        let keep_from = today - KEEP_DAYS;
        self.bookings.retain(|_, b| {
            b.state == crate::booking::BookingState::Booked
                || crate::calendar::local(b.slot_ms, offset).0 >= keep_from
        });
        self.open_time.retain(|(day, _, _), _| *day >= keep_from);
        let rules = &self.config.booking;
        let credit_from = today - i64::from(rules.no_show_days) - i64::from(rules.ban_days);
        self.citizens
            .retain(|_, c| c.forget_before(credit_from, today));
    }

    /// Takes a ticket off its window.
    fn release(&mut self, ticket: TicketId, window: &Id) {
        if let Some(w) = self.windows.get_mut(window)
            && w.current == Some(ticket)
        {
            w.current = None;
        }
    }

    fn end_ticket(&mut self, ticket: TicketId, state: TicketState, now: Millis) {
        if let Some(t) = self.tickets.get_mut(&ticket).map(Arc::make_mut) {
            t.state = state;
            t.ended_ms = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::booking::BookingState;
    use crate::command::Command;
    use crate::config::HallConfig;
    use crate::hall::{Hall, KEEP_DAYS};
    use crate::id::Id;
    use crate::{DAY_MS, Record};

    /// Forty days, each with a booking checked in and served, a walk-in
    /// with an ID number; one booking missed on the first day: what stays
    /// in memory is a week's (and the one citizen whose no-show still
    /// counts), and a replay of the log gives the same hall.
    #[test]
    fn old_bookings_open_time_and_idle_citizens_leave_memory() {
        let mut cfg: HallConfig =
            toml::from_str(include_str!("../tests/data/day-hall.toml")).unwrap();
        cfg.hours = None;
        let mut hall = Hall::new(cfg.clone());
        let mut log: Vec<Record> = Vec::new();
        let mut run = |hall: &mut Hall, now, cmd| {
            if let Ok(r) = hall.handle(now, cmd) {
                log.extend(r);
            }
        };
        // 2026-11-27 08:30 China time.
        let first = 1_795_739_400_000;
        let (w, a) = (Id::parse("1").unwrap(), Id::parse("a").unwrap());
        for d in 0..40 {
            let now = first + d * DAY_MS;
            run(&mut hall, now, Command::Tick);
            run(
                &mut hall,
                now,
                Command::Open {
                    window: w.clone(),
                    clerk: Some("li".into()),
                },
            );
            let slot = now + 30 * 60_000;
            run(
                &mut hall,
                now,
                Command::Book {
                    token: format!("bk{d}"),
                    service: a.clone(),
                    slot_ms: slot,
                    citizen: format!("c{d}"),
                },
            );
            if d == 0 {
                // Booked and never came.
                run(
                    &mut hall,
                    now,
                    Command::Book {
                        token: "late".into(),
                        service: a.clone(),
                        slot_ms: slot,
                        citizen: "late".into(),
                    },
                );
            }
            run(
                &mut hall,
                slot,
                Command::CheckIn {
                    booking: format!("bk{d}"),
                    token: format!("t{d}"),
                },
            );
            run(
                &mut hall,
                slot + 1,
                Command::IssueTicket {
                    service: a.clone(),
                    token: format!("w{d}"),
                    class: None,
                    citizen: Some(format!("walk{d}")),
                },
            );
            for k in 0..2 {
                let t = slot + 10_000 * (k + 1);
                run(
                    &mut hall,
                    t,
                    Command::CallNext {
                        window: w.clone(),
                        service: None,
                    },
                );
                run(&mut hall, t + 1_000, Command::Start { window: w.clone() });
                run(&mut hall, t + 2_000, Command::Finish { window: w.clone() });
            }
            run(&mut hall, slot + 3_600_000, Command::Tick);
        }
        let today = hall.day().unwrap();
        assert!(
            hall.bookings().count() <= KEEP_DAYS as usize + 1,
            "{}",
            hall.bookings().count()
        );
        assert!(
            hall.bookings()
                .all(|(_, b)| b.state != BookingState::Booked)
        );
        assert!(
            hall.open_time
                .keys()
                .all(|(d, _, _)| *d >= today - KEEP_DAYS)
        );
        assert!(!hall.open_time.is_empty());
        // Today's walk-in and booker (their quota), and "late", whose
        // no-show of 39 days ago still counts toward a suspension.
        let mut kept: Vec<&String> = hall.citizens.keys().collect();
        kept.sort();
        assert_eq!(kept, ["c39", "late", "walk39"], "{kept:?}");
        assert_eq!(Hall::replay(cfg, &log), hall);
    }
}
