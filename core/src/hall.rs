//! The hall's state and what can be read of it. How each event changes it
//! is in `apply.rs`, the rules that decide events in `decide.rs`; queues in
//! `queue.rs`; cards in `supervision.rs`; bookings and citizens in `booking.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::booking::{Booking, Citizen};
use crate::calendar::Day;
use crate::case::Cases;
use crate::config::{HallConfig, Policy};
use crate::event::{CardKind, CardLevel, Record};
use crate::id::{Id, TicketId};
use crate::queue::{Line, Queues};
use crate::supervision::Deadlines;
use crate::{DAY_MS, Millis};

/// How many service days before today the hall keeps finished tickets in
/// memory (today's report, last week's, a phone page opened again the next
/// day). Older ones live in the log only.
pub const KEEP_DAYS: Day = 7;

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
    /// Tickets parked here.
    pub held: BTreeSet<TicketId>,
    /// Seq of the last event that changed this window (the manager's
    /// actions are refused as stale against it).
    pub changed: u64,
    /// Since when it is open (or since the day began, if it was open then).
    pub opened_ms: Option<Millis>,
    /// Time open today before `opened_ms` (closed spells left out).
    pub open_ms_today: Millis,
}

/// The whole hall.
#[derive(Debug, Clone, PartialEq)]
pub struct Hall {
    pub(crate) config: HallConfig,
    /// Seq of the last applied record.
    pub(crate) seq: u64,
    /// The latest time of any applied record: the hall's time never runs
    /// backwards past it (see `handle`).
    pub(crate) clock: Millis,
    pub(crate) day: Option<Day>,
    /// Last number issued per service on `day` (with carry-over: ever).
    pub(crate) numbers: BTreeMap<Id, u32>,
    /// Tickets issued per service on `day`.
    pub(crate) issued: BTreeMap<Id, u32>,
    /// Shared with the hall's copies (readers, forecasts): a copy copies
    /// pointers, and a change copies only the ticket it changes.
    pub(crate) tickets: BTreeMap<TicketId, Arc<Ticket>>,
    pub(crate) tokens: HashMap<String, TicketId>,
    /// Numbers of the current day (all of them with carry-over).
    pub(crate) by_number: HashMap<String, TicketId>,
    /// Waiting tickets per service and per window, in calling order.
    pub(crate) queues: Queues,
    pub(crate) windows: BTreeMap<Id, WindowRuntime>,
    pub(crate) next_ticket: u64,
    /// When a card or a booking is next due.
    pub(crate) deadlines: Deadlines,
    pub(crate) bookings: HashMap<String, Booking>,
    /// Bookings per (service, slot start).
    pub(crate) slots: BTreeMap<(Id, Millis), u32>,
    pub(crate) citizens: HashMap<String, Citizen>,
    /// Cards per (clerk, service, kind, level), all time.
    pub(crate) cards: BTreeMap<(Option<String>, Id, CardKind, CardLevel), u32>,
    /// Yellow and red cards given on the current day.
    pub(crate) cards_today: (u32, u32),
    /// The manager's notice for the hall's screens; empty when none.
    pub(crate) notice: String,
    /// Seq of the last change of the notice.
    pub(crate) notice_seq: u64,
    /// Time windows were open, per (service day, window, clerk), for the
    /// spells that have ended (the reports' idle time).
    pub(crate) open_time: BTreeMap<(Day, Id, Option<String>), Millis>,
    /// Cases after the counter.
    pub(crate) cases: Cases,
}

impl Hall {
    /// An empty hall (before any record). The config must be valid.
    pub fn new(config: HallConfig) -> Hall {
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
                    held: BTreeSet::new(),
                    changed: 0,
                    opened_ms: None,
                    open_ms_today: 0,
                };
                (w.id.clone(), rt)
            })
            .collect();
        Hall {
            config,
            seq: 0,
            clock: 0,
            day: None,
            numbers: BTreeMap::new(),
            issued: BTreeMap::new(),
            tickets: BTreeMap::new(),
            tokens: HashMap::new(),
            by_number: HashMap::new(),
            queues: Queues::default(),
            windows,
            next_ticket: 1,
            deadlines: Deadlines::default(),
            bookings: HashMap::new(),
            slots: BTreeMap::new(),
            citizens: HashMap::new(),
            cards: BTreeMap::new(),
            cards_today: (0, 0),
            notice: String::new(),
            notice_seq: 0,
            open_time: BTreeMap::new(),
            cases: Cases::default(),
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

    /// The manager's notice for the hall's screens; empty when none.
    pub fn notice(&self) -> &str {
        &self.notice
    }

    /// How long windows were open on `day`, per (window, clerk), at `now`
    /// (the spells still running count up to `now` on the current day).
    pub fn open_time(&self, day: Day, now: Millis) -> BTreeMap<(Id, Option<String>), Millis> {
        let mut out: BTreeMap<(Id, Option<String>), Millis> = self
            .open_time
            .iter()
            .filter(|((d, _, _), _)| *d == day)
            .map(|((_, w, c), ms)| ((w.clone(), c.clone()), *ms))
            .collect();
        if self.day == Some(day) {
            for (id, w) in &self.windows {
                if let Some(since) = w.opened_ms {
                    *out.entry((id.clone(), w.clerk.clone())).or_default() += (now - since).max(0);
                }
            }
        }
        out
    }

    /// How many tickets the hall holds in memory (today's, and those of
    /// earlier days still open or still wanted).
    pub fn tickets_in_memory(&self) -> usize {
        self.tickets.len()
    }

    /// Seq of the last change of the notice (0: never set).
    pub fn notice_seq(&self) -> u64 {
        self.notice_seq
    }

    /// Seq of the last change.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The time of the latest record: the earliest `now` the hall accepts.
    pub fn clock(&self) -> Millis {
        self.clock
    }

    /// A copy to run forward (the forecast): the same queues, windows,
    /// numbering, bookings and quotas, without the tickets that are done
    /// and the time spent open — what a run never reads. A day's worth of
    /// finished tickets would cost more to copy than the run itself.
    pub(crate) fn working_copy(&self) -> Hall {
        let tickets: BTreeMap<TicketId, Arc<Ticket>> = self
            .tickets
            .iter()
            .filter(|(_, t)| !t.state.is_final())
            .map(|(id, t)| (*id, t.clone()))
            .collect();
        Hall {
            config: self.config.clone(),
            seq: self.seq,
            clock: self.clock,
            day: self.day,
            numbers: self.numbers.clone(),
            issued: self.issued.clone(),
            tokens: tickets.values().map(|t| (t.token.clone(), t.id)).collect(),
            by_number: tickets
                .values()
                .filter(|t| Some(t.day) == self.day)
                .map(|t| (t.number.clone(), t.id))
                .collect(),
            tickets,
            queues: self.queues.clone(),
            windows: self.windows.clone(),
            next_ticket: self.next_ticket,
            deadlines: self.deadlines.clone(),
            bookings: self.bookings.clone(),
            slots: self.slots.clone(),
            citizens: self.citizens.clone(),
            cards: BTreeMap::new(),
            cards_today: self.cards_today,
            notice: String::new(),
            notice_seq: self.notice_seq,
            open_time: BTreeMap::new(),
            cases: Cases::default(),
        }
    }

    /// The current service day, once a ticket was issued.
    pub fn day(&self) -> Option<Day> {
        self.day
    }

    pub fn ticket(&self, id: TicketId) -> Option<&Ticket> {
        self.tickets.get(&id).map(Arc::as_ref)
    }

    pub fn ticket_by_token(&self, token: &str) -> Option<&Ticket> {
        self.tokens
            .get(token)
            .and_then(|id| self.tickets.get(id).map(Arc::as_ref))
    }

    /// A ticket of the current day by its number ("A001").
    pub fn ticket_by_number(&self, number: &str) -> Option<&Ticket> {
        self.by_number
            .get(number)
            .and_then(|id| self.tickets.get(id).map(Arc::as_ref))
    }

    pub fn tickets(&self) -> impl Iterator<Item = &Ticket> {
        self.tickets.values().map(Arc::as_ref)
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
        self.line(Id::parse(service).ok().map(Line::Service))
    }

    /// Tickets transferred to a window and waiting there.
    pub fn direct_queue(&self, window: &str) -> impl Iterator<Item = &Ticket> {
        self.line(Id::parse(window).ok().map(Line::Window))
    }

    fn line(&self, line: Option<Line>) -> impl Iterator<Item = &Ticket> {
        line.and_then(|l| self.queues.line(&l))
            .into_iter()
            .flatten()
            .filter_map(|k| self.tickets.get(&k.ticket).map(Arc::as_ref))
    }

    /// The tickets numbered on the current service day (all of them, with
    /// carry-over): a day's worth, not the whole log.
    pub fn tickets_today(&self) -> impl Iterator<Item = &Ticket> {
        self.by_number
            .values()
            .filter_map(|id| self.tickets.get(id).map(Arc::as_ref))
    }

    /// How many tickets of a service wait.
    pub fn waiting(&self, service: &str) -> usize {
        Id::parse(service).map_or(0, |s| self.queues.len(&Line::Service(s)))
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
        let current = self
            .windows
            .values()
            .filter_map(|w| w.current)
            .filter_map(|id| self.tickets.get(&id).map(Arc::as_ref));
        self.queues
            .all()
            .filter_map(|k| self.tickets.get(&k.ticket).map(Arc::as_ref))
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
        } else if let Some(t) = w
            .current
            .and_then(|id| self.tickets.get(&id).map(Arc::as_ref))
        {
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
}
