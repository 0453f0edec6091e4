//! The hall's state and how each event changes it (`apply`). The rules that
//! decide events are in `decide.rs`; queues in `queue.rs`; cards in
//! `supervision.rs`; bookings and citizens' records in `booking.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::booking::{Booking, BookingState, Citizen};
use crate::calendar::Day;
use crate::config::{HallConfig, Policy};
use crate::event::{CardKind, CardLevel, Event, Record};
use crate::id::{Id, TicketId};
use crate::queue::QueueKey;
use crate::supervision::Deadline;
use crate::{DAY_MS, Millis};

/// Where a ticket is in its life. The last three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Waiting,
    Called,
    Serving,
    /// Parked at a window (`held_by`), to be called back.
    Held,
    Done,
    NoShow,
    /// Still waiting when its service day ended.
    Expired,
}

impl TicketState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TicketState::Done | TicketState::NoShow | TicketState::Expired
        )
    }
}

/// The first clerk who took the ticket stays responsible (首问负责).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub window: Id,
    pub clerk: Option<String>,
}

/// One ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    /// The public handle (URL of the phone page).
    pub token: String,
    /// The service it is queued for now (a transfer may change it).
    pub service: Id,
    /// "A001".
    pub number: String,
    pub class: Option<Id>,
    /// Hashed ID number, when given. Never shown.
    #[serde(skip)]
    pub citizen: Option<String>,
    pub booking: Option<String>,
    /// The service day it was issued on.
    pub day: Day,
    pub state: TicketState,
    /// The window it is (or was last) with.
    pub window: Option<Id>,
    /// A window it was transferred to, waiting there.
    pub sent_to: Option<Id>,
    pub owner: Option<Owner>,
    /// The clerk of the window that last called it.
    pub clerk: Option<String>,
    pub issued_ms: Millis,
    pub called_ms: Option<Millis>,
    pub started_ms: Option<Millis>,
    pub ended_ms: Option<Millis>,
    /// How many times it was called again.
    pub recalls: u32,
    /// Put back once after a no-show.
    pub put_back: bool,
    pub transfers: u32,
    pub overtime_s: u32,
    pub rating: Option<u8>,
    pub wait_card: Option<CardLevel>,
    pub service_card: Option<CardLevel>,
    /// Its key in a queue while waiting.
    #[serde(skip)]
    pub(crate) key: Option<QueueKey>,
    /// Its entries in the hall's deadlines.
    #[serde(skip)]
    pub(crate) scheduled: Vec<Deadline>,
}

/// A window's status, as in CONTRACT.md's WindowState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowStatus {
    Closed,
    Idle,
    Calling,
    Serving,
    Paused,
}

/// A window's live state, work profile included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowRuntime {
    pub open: bool,
    pub paused: Option<String>,
    pub clerk: Option<String>,
    /// The ticket being called or served.
    pub current: Option<TicketId>,
    /// Tickets finished at this window today.
    pub served_today: u32,
    pub serves: Vec<Id>,
    pub policy: Policy,
    pub weights: Vec<u32>,
    /// Calls per service since the profile was set (weighted policy).
    pub calls: BTreeMap<Id, u64>,
    /// Tickets transferred to this window, in order.
    #[serde(skip)]
    pub(crate) direct: BTreeSet<QueueKey>,
    /// Tickets parked here.
    pub held: BTreeSet<TicketId>,
}

/// The whole hall.
#[derive(Debug, Clone, PartialEq)]
pub struct Hall {
    pub(crate) config: HallConfig,
    /// Seq of the last applied record.
    pub(crate) seq: u64,
    pub(crate) day: Option<Day>,
    /// Last number issued per service on `day` (with carry-over: ever).
    pub(crate) numbers: BTreeMap<Id, u32>,
    /// Tickets issued per service on `day`.
    pub(crate) issued: BTreeMap<Id, u32>,
    pub(crate) tickets: BTreeMap<TicketId, Ticket>,
    pub(crate) tokens: HashMap<String, TicketId>,
    /// Numbers of the current day (all of them with carry-over).
    pub(crate) by_number: HashMap<String, TicketId>,
    /// Waiting tickets per service, in calling order.
    pub(crate) queues: BTreeMap<Id, BTreeSet<QueueKey>>,
    pub(crate) windows: BTreeMap<Id, WindowRuntime>,
    pub(crate) next_ticket: u64,
    /// When a card or a booking is next due.
    pub(crate) deadlines: BTreeSet<Deadline>,
    pub(crate) bookings: HashMap<String, Booking>,
    /// Bookings per (service, slot start).
    pub(crate) slots: BTreeMap<(Id, Millis), u32>,
    pub(crate) citizens: HashMap<String, Citizen>,
    /// Cards per (clerk, service, kind, level), all time.
    pub(crate) cards: BTreeMap<(Option<String>, Id, CardKind, CardLevel), u32>,
    /// Yellow and red cards given on the current day.
    pub(crate) cards_today: (u32, u32),
}

impl Hall {
    /// An empty hall (before any record). The config must be valid.
    pub fn new(config: HallConfig) -> Hall {
        let queues = config
            .services
            .iter()
            .map(|s| (s.id.clone(), BTreeSet::new()))
            .collect();
        let windows = config
            .windows
            .iter()
            .map(|w| {
                let rt = WindowRuntime {
                    open: false,
                    paused: None,
                    clerk: None,
                    current: None,
                    served_today: 0,
                    serves: w.serves.clone(),
                    policy: w.policy,
                    weights: w.weights.clone(),
                    calls: BTreeMap::new(),
                    direct: BTreeSet::new(),
                    held: BTreeSet::new(),
                };
                (w.id.clone(), rt)
            })
            .collect();
        Hall {
            config,
            seq: 0,
            day: None,
            numbers: BTreeMap::new(),
            issued: BTreeMap::new(),
            tickets: BTreeMap::new(),
            tokens: HashMap::new(),
            by_number: HashMap::new(),
            queues,
            windows,
            next_ticket: 1,
            deadlines: BTreeSet::new(),
            bookings: HashMap::new(),
            slots: BTreeMap::new(),
            citizens: HashMap::new(),
            cards: BTreeMap::new(),
            cards_today: (0, 0),
        }
    }

    /// Rebuilds the hall from its log.
    pub fn replay<'a>(config: HallConfig, records: impl IntoIterator<Item = &'a Record>) -> Hall {
        let mut hall = Hall::new(config);
        for r in records {
            hall.apply(r);
        }
        hall
    }

    pub fn config(&self) -> &HallConfig {
        &self.config
    }

    /// Seq of the last change.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The current service day, once a ticket was issued.
    pub fn day(&self) -> Option<Day> {
        self.day
    }

    pub fn ticket(&self, id: TicketId) -> Option<&Ticket> {
        self.tickets.get(&id)
    }

    pub fn ticket_by_token(&self, token: &str) -> Option<&Ticket> {
        self.tokens.get(token).and_then(|id| self.tickets.get(id))
    }

    /// A ticket of the current day by its number ("A001").
    pub fn ticket_by_number(&self, number: &str) -> Option<&Ticket> {
        self.by_number
            .get(number)
            .and_then(|id| self.tickets.get(id))
    }

    pub fn tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.tickets.values()
    }

    pub fn window(&self, id: &str) -> Option<&WindowRuntime> {
        self.windows.get(id)
    }

    pub fn windows(&self) -> impl Iterator<Item = (&Id, &WindowRuntime)> {
        self.windows.iter()
    }

    pub fn booking(&self, token: &str) -> Option<&Booking> {
        self.bookings.get(token)
    }

    pub fn bookings(&self) -> impl Iterator<Item = (&String, &Booking)> {
        self.bookings.iter()
    }

    /// Waiting tickets of one service, in calling order.
    pub fn queue(&self, service: &str) -> impl Iterator<Item = &Ticket> {
        self.queues
            .get(service)
            .into_iter()
            .flatten()
            .filter_map(|k| self.tickets.get(&k.ticket))
    }

    /// Tickets transferred to a window and waiting there.
    pub fn direct_queue(&self, window: &str) -> impl Iterator<Item = &Ticket> {
        self.windows
            .get(window)
            .into_iter()
            .flat_map(|w| w.direct.iter())
            .filter_map(|k| self.tickets.get(&k.ticket))
    }

    /// How many tickets of a service wait.
    pub fn waiting(&self, service: &str) -> usize {
        self.queues.get(service).map_or(0, |q| q.len())
    }

    /// Tickets issued for a service on the current service day.
    pub fn issued_today(&self, service: &str) -> u32 {
        self.issued.get(service).copied().unwrap_or(0)
    }

    /// Yellow and red cards given on the current day.
    pub fn cards_today(&self) -> (u32, u32) {
        self.cards_today
    }

    /// Tickets that may carry a live card: waiting ones and those at a window.
    pub fn live_tickets(&self) -> impl Iterator<Item = &Ticket> {
        let queued = self.queues.values().flatten();
        let direct = self.windows.values().flat_map(|w| w.direct.iter());
        let current = self
            .windows
            .values()
            .filter_map(|w| w.current)
            .filter_map(|id| self.tickets.get(&id));
        queued
            .chain(direct)
            .filter_map(|k| self.tickets.get(&k.ticket))
            .chain(current)
    }

    /// Cards given, per (clerk, service, kind, level), since the log began.
    pub fn card_counts(&self) -> &BTreeMap<(Option<String>, Id, CardKind, CardLevel), u32> {
        &self.cards
    }

    pub fn status(&self, window: &str) -> Option<WindowStatus> {
        let w = self.windows.get(window)?;
        Some(if !w.open {
            WindowStatus::Closed
        } else if let Some(t) = w.current.and_then(|id| self.tickets.get(&id)) {
            if t.state == TicketState::Serving {
                WindowStatus::Serving
            } else {
                WindowStatus::Calling
            }
        } else if w.paused.is_some() {
            WindowStatus::Paused
        } else {
            WindowStatus::Idle
        })
    }

    /// The service day of a moment, in the hall's local time.
    pub fn day_of(&self, now: Millis) -> Day {
        let offset = i64::from(self.config.hall.utc_offset_minutes) * 60_000;
        (now + offset).div_euclid(DAY_MS)
    }

    /// Folds one record into the state. Records must come in seq order.
    pub fn apply(&mut self, r: &Record) {
        self.seq = r.seq;
        let now = r.at_ms;
        match &r.event {
            Event::DayStarted { day } => self.start_day(*day, now),
            Event::TicketIssued {
                ticket,
                token,
                service,
                number,
                class,
                citizen,
                booking,
            } => {
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
                    key: None,
                    scheduled: Vec::new(),
                };
                self.tickets.insert(*ticket, t);
                self.enqueue(*ticket, None);
            }
            Event::TicketCalled {
                ticket,
                window,
                recall,
                ..
            } => {
                self.dequeue(*ticket);
                let clerk = self.windows.get(window).and_then(|w| w.clerk.clone());
                if let Some(w) = self.windows.get_mut(window) {
                    w.current = Some(*ticket);
                    w.held.remove(ticket);
                }
                let mut service = None;
                if let Some(t) = self.tickets.get_mut(ticket) {
                    if *recall {
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
            } => {
                if let Some(t) = self.tickets.get_mut(ticket) {
                    match kind {
                        CardKind::Wait => t.wait_card = Some(*level),
                        CardKind::Service => t.service_card = Some(*level),
                    }
                }
                *self
                    .cards
                    .entry((clerk.clone(), service.clone(), *kind, *level))
                    .or_insert(0) += 1;
                match level {
                    CardLevel::Yellow => self.cards_today.0 += 1,
                    CardLevel::Red => self.cards_today.1 += 1,
                }
            }
            Event::WindowOpened { window, clerk } => {
                if let Some(w) = self.windows.get_mut(window) {
                    w.open = true;
                    w.clerk = clerk.clone();
                }
            }
            Event::WindowClosed { window } => {
                if let Some(w) = self.windows.get_mut(window) {
                    w.open = false;
                    w.paused = None;
                    w.clerk = None;
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
            } => {
                if let Some(w) = self.windows.get_mut(window) {
                    w.serves = serves.clone();
                    w.policy = *policy;
                    w.weights = weights.clone();
                    w.calls.clear();
                }
            }
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
        }
        if let Some(t) = r.event.ticket() {
            self.schedule(t);
        }
    }

    fn start_day(&mut self, day: Day, now: Millis) {
        self.day = Some(day);
        self.issued.clear();
        self.cards_today = (0, 0);
        for w in self.windows.values_mut() {
            w.served_today = 0;
        }
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
