//! How each event changes the hall (`apply`): the fold that replays the log.
//! Nothing here decides anything; `decide.rs` has the rules.

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
                    if let Some(t) = self.tickets.get_mut(id) {
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
                if let Some(c) = self.tickets.get(ticket).and_then(|t| t.citizen.clone()) {
                    self.citizens.entry(c).or_default().no_show(day);
                }
            }
            Event::TicketPutBack {
                ticket,
                window,
                places,
            } => {
                self.release(*ticket, window);
                if let Some(t) = self.tickets.get_mut(ticket) {
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
                if let Some(t) = self.tickets.get_mut(ticket) {
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
                if let Some(t) = self.tickets.get_mut(ticket) {
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
                if let Some(t) = self.tickets.get_mut(ticket) {
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
                if let Some(t) = self.tickets.get_mut(ticket) {
                    t.overtime_s = *overtime_s;
                }
                self.end_ticket(*ticket, TicketState::Done, now);
                if let Some(w) = self.windows.get_mut(window) {
                    w.served_today += 1;
                }
            }
            Event::TicketRated { ticket, score, .. } => {
                if let Some(t) = self.tickets.get_mut(ticket) {
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
        self.tickets.insert(*ticket, t);
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
        if let Some(t) = self.tickets.get_mut(&ticket) {
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
        if let Some(t) = self.tickets.get_mut(&ticket) {
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
        if let Some(t) = self.tickets.get_mut(&ticket) {
            t.state = state;
            t.ended_ms = Some(now);
        }
    }
}
