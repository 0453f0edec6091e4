//! The rules: what each command causes. `decide` never changes the state;
//! `handle` decides, then applies, so a refused command changes nothing.

use crate::calendar::{self, Day};
use crate::command::{Command, ManagerAction};
use crate::config::{Policy, Service};
use crate::error::CoreError;
use crate::event::{Event, Record};
use crate::hall::{Hall, Ticket, TicketState, WindowRuntime};
use crate::id::{Id, TicketId};
use crate::{Millis, booking::BookingState};
use std::sync::Arc;

/// The window a counter command is for, as the hall has it now.
struct Counter<'a> {
    window: Id,
    rt: &'a WindowRuntime,
    /// The ticket being called or served there.
    current: Option<&'a Ticket>,
}

impl Hall {
    /// Decides what a command causes, applies it, and returns the new records
    /// (none for a `Tick` with nothing due). On error nothing changed.
    ///
    /// Time never runs backwards in the hall: a `now` before the last
    /// record's time (a wall clock set back) counts as that time, so the log
    /// stays ordered and the day does not start again.
    pub fn handle(&mut self, now: Millis, cmd: Command) -> Result<Vec<Record>, CoreError> {
        cmd.check_text()?;
        let now = now.max(self.clock());
        let events = self.decide(now, cmd)?;
        let records: Vec<Record> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Record {
                seq: self.seq + 1 + i as u64,
                at_ms: now,
                event,
            })
            .collect();
        for r in &records {
            self.apply(r);
        }
        Ok(records)
    }

    fn decide(&self, now: Millis, cmd: Command) -> Result<Vec<Event>, CoreError> {
        match cmd {
            Command::IssueTicket {
                service,
                token,
                class,
                citizen,
            } => {
                if let Some(c) = &class {
                    let known = self
                        .config
                        .class(c.as_str())
                        .ok_or_else(|| CoreError::UnknownClass(c.to_string()))?;
                    if known.booking_only {
                        return Err(CoreError::UnknownClass(c.to_string()));
                    }
                }
                let svc = self.service(&service)?;
                if !self.open_for_tickets(svc, now) {
                    return Err(CoreError::OutsideHours);
                }
                self.decide_issue(now, svc, token, class, citizen, None)
            }
            Command::Book {
                token,
                service,
                slot_ms,
                citizen,
            } => self.decide_book(now, token, service, slot_ms, citizen),
            Command::CheckIn { booking, token } => self.decide_check_in(now, booking, token),
            Command::CancelBooking { booking } => {
                let b = self
                    .bookings
                    .get(&booking)
                    .ok_or(CoreError::UnknownBooking)?;
                if b.state != BookingState::Booked || now >= b.slot_ms {
                    return Err(CoreError::BookingClosed);
                }
                Ok(vec![Event::BookingCancelled { booking }])
            }
            Command::Rate {
                ticket,
                window,
                score,
            } => self.decide_rate(&ticket, window.as_ref(), score),
            Command::Tick => Ok(self.decide_tick(now)),
            Command::Case {
                case,
                by,
                key,
                note,
                action,
            } => self.decide_case(&case, by, key, note, action),
            Command::PickUp { case, token } => self.decide_pickup(now, &case, token),
            Command::Manage { by, seen, action } => self.decide_manage(now, by, seen, action),
            counter => self.decide_counter(now, counter),
        }
    }

    pub(crate) fn service(&self, id: &Id) -> Result<&Service, CoreError> {
        self.config
            .service(id.as_str())
            .ok_or_else(|| CoreError::UnknownService(id.to_string()))
    }

    /// Whether a kiosk may issue a ticket for a service now: within a session
    /// of the day and before its cut-off.
    pub fn open_for_tickets(&self, service: &Service, now: Millis) -> bool {
        let Some(hours) = &self.config.hours else {
            return true;
        };
        let (day, minute) = calendar::local(now, self.config.hall.utc_offset_minutes);
        hours
            .sessions(service.hours.as_ref(), day)
            .iter()
            .any(|s| s.open_min <= minute && minute + hours.cutoff_min < s.close_min)
    }

    /// Seconds a ticket is being served past the close of the session it
    /// was taken in (延时服务).
    pub(crate) fn overtime_s(&self, t: &Ticket, now: Millis) -> u32 {
        let Some(hours) = &self.config.hours else {
            return 0;
        };
        let offset = self.config.hall.utc_offset_minutes;
        let (day, minute) = calendar::local(t.issued_ms, offset);
        let service = self
            .config
            .service(t.service.as_str())
            .and_then(|s| s.hours.as_ref());
        let close = hours
            .sessions(service, day)
            .iter()
            .find(|s| minute < s.close_min)
            .map(|s| calendar::at(day, s.close_min, offset));
        close.map_or(0, |c| ((now - c).max(0) / 1000) as u32)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn decide_issue(
        &self,
        now: Millis,
        svc: &Service,
        token: String,
        class: Option<Id>,
        citizen: Option<String>,
        booking: Option<String>,
    ) -> Result<Vec<Event>, CoreError> {
        if token.is_empty() || self.tokens.contains_key(&token) {
            return Err(CoreError::DuplicateToken);
        }
        let today = self.day_of(now);
        let mut events = Vec::new();
        let new_day = self.day.is_none_or(|d| d < today);
        if new_day {
            events.push(Event::DayStarted { day: today });
            events.extend(self.decide_case_day(today));
        }
        let issued = if new_day {
            0
        } else {
            self.issued_today(svc.id.as_str())
        };
        if svc.daily_cap > 0 && issued >= svc.daily_cap {
            return Err(CoreError::DailyCapReached);
        }
        let quota = self.config.rules.ticket_quota_per_id;
        if let Some(c) = &citizen
            && quota > 0
            && self
                .citizens
                .get(c)
                .is_some_and(|r| r.tickets_on(today) >= quota)
        {
            return Err(CoreError::QuotaExceeded);
        }
        let restart = new_day && !self.config.rules.carry_over;
        let last = if restart {
            0
        } else {
            self.numbers.get(&svc.id).copied().unwrap_or(0)
        };
        events.push(Event::TicketIssued {
            ticket: TicketId(self.next_ticket),
            token,
            service: svc.id.clone(),
            number: format!("{}{:03}", svc.prefix, last + 1),
            class,
            citizen,
            booking,
        });
        Ok(events)
    }

    fn decide_book(
        &self,
        now: Millis,
        token: String,
        service: Id,
        slot_ms: Millis,
        citizen: String,
    ) -> Result<Vec<Event>, CoreError> {
        let svc = self.service(&service)?;
        if token.is_empty() || self.bookings.contains_key(&token) {
            return Err(CoreError::DuplicateToken);
        }
        let rules = &self.config.booking;
        let today = self.day_of(now);
        if !self.slot_bookable(svc, slot_ms, now) {
            return Err(CoreError::BadSlot);
        }
        if self
            .citizens
            .get(&citizen)
            .and_then(|c| c.banned_until(today, rules))
            .is_some()
        {
            return Err(CoreError::BookingBanned);
        }
        if self
            .slots
            .get(&(service.clone(), slot_ms))
            .copied()
            .unwrap_or(0)
            >= rules.per_slot
        {
            return Err(CoreError::SlotFull);
        }
        Ok(vec![Event::BookingMade {
            booking: token,
            service,
            slot_ms,
            citizen,
        }])
    }

    /// Whether a slot can be booked at `now`: a slot start, ahead of now and
    /// within the horizon, inside the service's opening hours.
    fn slot_bookable(&self, svc: &Service, slot_ms: Millis, now: Millis) -> bool {
        let rules = &self.config.booking;
        let (day, minute) = calendar::local(slot_ms, self.config.hall.utc_offset_minutes);
        let today = self.day_of(now);
        let aligned = slot_ms % 60_000 == 0 && minute % rules.slot_min == 0;
        let ahead = slot_ms > now && day <= today + Day::from(rules.horizon_days);
        let open = self.config.hours.as_ref().is_none_or(|h| {
            h.sessions(svc.hours.as_ref(), day)
                .iter()
                .any(|s| s.open_min <= minute && minute + rules.slot_min <= s.close_min)
        });
        aligned && ahead && open
    }

    /// The slots of `day` that can be booked now for `service`, each with
    /// the places left (full ones included, with 0).
    pub fn free_slots(
        &self,
        service: &Id,
        day: Day,
        now: Millis,
    ) -> Result<Vec<(Millis, u32)>, CoreError> {
        let svc = self.service(service)?;
        let rules = &self.config.booking;
        let offset = self.config.hall.utc_offset_minutes;
        Ok((0..24 * 60)
            .step_by(rules.slot_min as usize)
            .map(|minute| calendar::at(day, minute, offset))
            .filter(|slot| self.slot_bookable(svc, *slot, now))
            .map(|slot| {
                let taken = self
                    .slots
                    .get(&(service.clone(), slot))
                    .copied()
                    .unwrap_or(0);
                (slot, rules.per_slot.saturating_sub(taken))
            })
            .collect())
    }

    fn decide_check_in(
        &self,
        now: Millis,
        booking: String,
        token: String,
    ) -> Result<Vec<Event>, CoreError> {
        let b = self
            .bookings
            .get(&booking)
            .ok_or(CoreError::UnknownBooking)?;
        let rules = &self.config.booking;
        if b.state != BookingState::Booked || now >= b.slot_ms + i64::from(rules.slot_min) * 60_000
        {
            return Err(CoreError::BookingClosed);
        }
        if now < b.slot_ms - i64::from(rules.early_min) * 60_000 {
            return Err(CoreError::TooEarly);
        }
        let late = now > b.slot_ms + i64::from(rules.late_grace_min) * 60_000;
        let class = if late { None } else { rules.class.clone() };
        let svc = self.service(&b.service)?;
        let mut events = self.decide_issue(
            now,
            svc,
            token,
            class,
            Some(b.citizen.clone()),
            Some(booking.clone()),
        )?;
        let ticket = TicketId(self.next_ticket);
        events.push(Event::BookingCheckedIn {
            booking,
            ticket,
            late,
        });
        Ok(events)
    }

    fn decide_rate(
        &self,
        ticket: &str,
        window: Option<&Id>,
        score: u8,
    ) -> Result<Vec<Event>, CoreError> {
        if !(1..=5).contains(&score) {
            return Err(CoreError::BadScore);
        }
        let t = self
            .ticket_by_token(ticket)
            .or_else(|| self.ticket_by_number(ticket))
            .ok_or(CoreError::UnknownTicket)?;
        if t.state != TicketState::Done {
            return Err(CoreError::NotFinished);
        }
        if t.rating.is_some() {
            return Err(CoreError::AlreadyRated);
        }
        if window.is_some_and(|w| t.window.as_ref() != Some(w)) {
            return Err(CoreError::NotOwner);
        }
        Ok(vec![Event::TicketRated {
            ticket: t.id,
            window: t.window.clone().expect("a finished ticket has its window"),
            clerk: t.clerk.clone(),
            score,
        }])
    }

    /// A command at a window: checks the window, then the rules of its kind.
    fn decide_counter(&self, now: Millis, cmd: Command) -> Result<Vec<Event>, CoreError> {
        let window = cmd.window().expect("counter command").clone();
        let rt = self
            .windows
            .get(&window)
            .ok_or_else(|| CoreError::UnknownWindow(window.to_string()))?;
        if !rt.open && !matches!(cmd, Command::Open { .. } | Command::SetProfile { .. }) {
            return Err(CoreError::WindowClosed);
        }
        let at = Counter {
            current: rt
                .current
                .and_then(|id| self.tickets.get(&id).map(Arc::as_ref)),
            window,
            rt,
        };
        match cmd {
            Command::Open { .. }
            | Command::Close { .. }
            | Command::Pause { .. }
            | Command::Resume { .. }
            | Command::SetProfile { .. } => self.decide_window(at, cmd),
            Command::CallNext { .. } | Command::CallTicket { .. } | Command::Recall { .. } => {
                self.decide_call(now, at, cmd)
            }
            _ => self.decide_at_window(now, at, cmd),
        }
    }

    /// At a window: the window itself: open, close, pause, resume, its work profile.
    fn decide_window(&self, at: Counter<'_>, cmd: Command) -> Result<Vec<Event>, CoreError> {
        let Counter {
            window,
            rt,
            current,
        } = at;
        let one = |e: Event| Ok(vec![e]);
        match cmd {
            Command::Open { clerk, .. } => {
                if rt.open {
                    return Err(CoreError::WindowAlreadyOpen);
                }
                one(Event::WindowOpened {
                    window,
                    clerk,
                    by: None,
                })
            }
            Command::Close { .. } => {
                if current.is_some() || !rt.held.is_empty() {
                    return Err(CoreError::TicketInProgress);
                }
                one(Event::WindowClosed { window, by: None })
            }
            Command::Pause { reason, .. } => {
                if reason.trim().is_empty() {
                    return Err(CoreError::ReasonRequired);
                }
                if rt.paused.is_some() {
                    return Err(CoreError::WindowPaused);
                }
                if current.is_some() {
                    return Err(CoreError::TicketInProgress);
                }
                one(Event::WindowPaused { window, reason })
            }
            Command::Resume { .. } => {
                if rt.paused.is_none() {
                    return Err(CoreError::WindowNotPaused);
                }
                one(Event::WindowResumed { window })
            }
            Command::SetProfile {
                serves,
                policy,
                weights,
                ..
            } => {
                if serves.is_empty() {
                    return Err(CoreError::BadProfile("no service"));
                }
                for s in &serves {
                    self.service(s)?;
                }
                if policy == Policy::Weighted
                    && (weights.len() != serves.len() || weights.contains(&0))
                {
                    return Err(CoreError::BadProfile(
                        "one weight of at least 1 per service",
                    ));
                }
                one(Event::WindowProfileSet {
                    window,
                    serves,
                    policy,
                    weights,
                    by: None,
                })
            }
            _ => unreachable!("not one of decide_window's commands"),
        }
    }

    /// The manager's actions: the window's own rules (as a pad's open,
    /// close, or the profile command), refused when the window changed
    /// since the manager saw it; the events carry the manager's id.
    fn decide_manage(
        &self,
        now: Millis,
        by: String,
        seen: Option<u64>,
        action: ManagerAction,
    ) -> Result<Vec<Event>, CoreError> {
        let fresh = |changed: u64| match seen {
            Some(seen) if seen < changed => Err(CoreError::Stale { seen, now: changed }),
            _ => Ok(()),
        };
        let window_changed = |w: &Id| {
            self.windows
                .get(w)
                .map(|rt| rt.changed)
                .ok_or_else(|| CoreError::UnknownWindow(w.to_string()))
        };
        let by_manager = |mut events: Vec<Event>| {
            for e in &mut events {
                if let Event::WindowOpened { by: b, .. }
                | Event::WindowClosed { by: b, .. }
                | Event::WindowProfileSet { by: b, .. } = e
                {
                    *b = Some(by.clone());
                }
            }
            events
        };
        match action {
            ManagerAction::Open { window } => {
                fresh(window_changed(&window)?)?;
                let cmd = Command::Open {
                    window,
                    clerk: None,
                };
                self.decide_counter(now, cmd).map(by_manager)
            }
            ManagerAction::Close { window } => {
                fresh(window_changed(&window)?)?;
                self.decide_counter(now, Command::Close { window })
                    .map(by_manager)
            }
            ManagerAction::Profile {
                window,
                serves,
                policy,
                weights,
            } => {
                fresh(window_changed(&window)?)?;
                let cmd = Command::SetProfile {
                    window,
                    serves,
                    policy,
                    weights,
                };
                self.decide_counter(now, cmd).map(by_manager)
            }
            ManagerAction::MoveQueue { from, to } => {
                self.service(&from)?;
                self.service(&to)?;
                if from == to {
                    return Err(CoreError::BadTransfer);
                }
                let mut waiting: Vec<&Ticket> = self
                    .tickets
                    .values()
                    .map(Arc::as_ref)
                    .filter(|t| {
                        t.service == from && t.state == TicketState::Waiting && t.sent_to.is_none()
                    })
                    .collect();
                if waiting.is_empty() {
                    return Err(CoreError::QueueEmpty);
                }
                waiting.sort_by_key(|t| (t.issued_ms, t.id));
                Ok(vec![Event::QueueMoved {
                    from,
                    to,
                    tickets: waiting.iter().map(|t| t.id).collect(),
                    by,
                }])
            }
            ManagerAction::Notice { text } => {
                fresh(self.notice_seq)?;
                let text = String::from(text.trim());
                if text == self.notice {
                    return Ok(Vec::new());
                }
                Ok(vec![Event::NoticeSet { text, by: Some(by) }])
            }
        }
    }

    /// At a window: calling: the next ticket, a given one, a recall.
    fn decide_call(
        &self,
        now: Millis,
        at: Counter<'_>,
        cmd: Command,
    ) -> Result<Vec<Event>, CoreError> {
        let Counter {
            window,
            rt,
            current,
        } = at;
        let one = |e: Event| Ok(vec![e]);
        let called = || match current {
            Some(t) if t.state == TicketState::Called => Ok(t),
            Some(_) => Err(CoreError::TicketInProgress),
            None => Err(CoreError::NoCurrentTicket),
        };
        match cmd {
            Command::CallNext { service, .. } => {
                let mut events = self.before_call(now, &window, current)?;
                let ticket = self.pick_next(&window, service.as_ref())?;
                events.push(Event::TicketCalled {
                    ticket,
                    window,
                    recall: false,
                    reason: None,
                });
                Ok(events)
            }
            Command::CallTicket { number, reason, .. } => {
                let mut events = self.before_call(now, &window, current)?;
                let t = self
                    .ticket_by_number(&number)
                    .ok_or(CoreError::UnknownTicket)?;
                let reason = reason.filter(|r| !r.trim().is_empty());
                match t.state {
                    TicketState::Held if rt.held.contains(&t.id) => {}
                    TicketState::Held => return Err(CoreError::NotOwner),
                    TicketState::Waiting => {
                        if reason.is_none() {
                            return Err(CoreError::ReasonRequired);
                        }
                        let mine = t.sent_to.as_ref() == Some(&window)
                            || (t.sent_to.is_none() && rt.serves.contains(&t.service));
                        if !mine {
                            return Err(CoreError::ServiceNotServed(t.service.to_string()));
                        }
                    }
                    _ => return Err(CoreError::NotWaiting),
                }
                events.push(Event::TicketCalled {
                    ticket: t.id,
                    window,
                    recall: false,
                    reason,
                });
                Ok(events)
            }
            Command::Recall { .. } => {
                let t = called()?;
                let rules = &self.config.rules;
                if t.recalls >= rules.recall_limit {
                    return Err(CoreError::RecallLimit);
                }
                if t.called_ms
                    .is_some_and(|c| now - c < i64::from(rules.recall_interval_s) * 1000)
                {
                    return Err(CoreError::RecallTooSoon);
                }
                one(Event::TicketCalled {
                    ticket: t.id,
                    window,
                    recall: true,
                    reason: None,
                })
            }
            _ => unreachable!("not one of decide_call's commands"),
        }
    }

    /// At a window: the ticket at the window: no-show, start, finish, hold, transfer.
    fn decide_at_window(
        &self,
        now: Millis,
        at: Counter<'_>,
        cmd: Command,
    ) -> Result<Vec<Event>, CoreError> {
        let Counter {
            window,
            rt: _,
            current,
        } = at;
        let one = |e: Event| Ok(vec![e]);
        let called = || match current {
            Some(t) if t.state == TicketState::Called => Ok(t),
            Some(_) => Err(CoreError::TicketInProgress),
            None => Err(CoreError::NoCurrentTicket),
        };
        match cmd {
            Command::NoShow { .. } => {
                let t = called()?;
                let rules = &self.config.rules;
                if rules.no_show == crate::config::NoShowPolicy::PutBack && !t.put_back {
                    one(Event::TicketPutBack {
                        ticket: t.id,
                        window,
                        places: rules.no_show_put_back_places,
                    })
                } else {
                    one(Event::TicketNoShow {
                        ticket: t.id,
                        window,
                    })
                }
            }
            Command::Start { .. } => one(Event::ServiceStarted {
                ticket: called()?.id,
                window,
            }),
            Command::Finish { .. } => match current {
                Some(t) if t.state == TicketState::Serving => {
                    let handed_out = self.decide_handed_out(t.id, &window);
                    let mut events = vec![Event::ServiceFinished {
                        ticket: t.id,
                        window,
                        overtime_s: self.overtime_s(t, now),
                    }];
                    events.extend(handed_out);
                    Ok(events)
                }
                Some(_) => Err(CoreError::NotStarted),
                None => Err(CoreError::NoCurrentTicket),
            },
            Command::Accept { case, .. } => self.decide_accept(now, window, case),
            Command::Hold { .. } => {
                let t = current.ok_or(CoreError::NoCurrentTicket)?;
                one(Event::TicketHeld {
                    ticket: t.id,
                    window,
                })
            }
            Command::Transfer {
                to_service,
                to_window,
                note,
                ..
            } => {
                let t = current.ok_or(CoreError::NoCurrentTicket)?;
                match (&to_service, &to_window) {
                    (Some(s), None) => {
                        self.service(s)?;
                    }
                    (None, Some(w)) if w != &window => {
                        if !self.windows.contains_key(w) {
                            return Err(CoreError::UnknownWindow(w.to_string()));
                        }
                    }
                    _ => return Err(CoreError::BadTransfer),
                }
                one(Event::TicketTransferred {
                    ticket: t.id,
                    window,
                    to_service,
                    to_window,
                    note,
                })
            }
            _ => unreachable!("not one of decide_at_window's commands"),
        }
    }

    /// Before calling: the window must be free to call; a ticket still being
    /// served is finished first (the clerk moved on without pressing finish).
    fn before_call(
        &self,
        now: Millis,
        window: &Id,
        current: Option<&Ticket>,
    ) -> Result<Vec<Event>, CoreError> {
        if self.windows.get(window).is_some_and(|w| w.paused.is_some()) {
            return Err(CoreError::WindowPaused);
        }
        match current {
            Some(t) if t.state == TicketState::Called => Err(CoreError::TicketCalled),
            Some(t) => Ok(vec![Event::ServiceFinished {
                ticket: t.id,
                window: window.clone(),
                overtime_s: self.overtime_s(t, now),
            }]),
            None => Ok(Vec::new()),
        }
    }
}
