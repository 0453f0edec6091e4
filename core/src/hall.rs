//! The hall's state and its rules: `handle` decides, `apply` folds.
//!
//! `handle` first decides every event a command causes without touching the
//! state, then applies them; so a refused command changes nothing, and
//! replaying the stored records through `apply` rebuilds the same state.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;

use crate::command::Command;
use crate::config::HallConfig;
use crate::error::CoreError;
use crate::event::{Event, Record};
use crate::id::{Id, TicketId};
use crate::{DAY_MS, Millis};

/// Where a ticket is in its life. The last three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    Waiting,
    Called,
    Serving,
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

/// One ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    /// The public handle (URL of the phone page).
    pub token: String,
    pub service: Id,
    /// "A001".
    pub number: String,
    /// The service day it was issued on.
    pub day: i64,
    pub state: TicketState,
    /// The window it is (or was last) with.
    pub window: Option<Id>,
    pub issued_ms: Millis,
    pub called_ms: Option<Millis>,
    pub started_ms: Option<Millis>,
    pub ended_ms: Option<Millis>,
    /// How many times it was called again.
    pub recalls: u32,
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

/// A window's live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowRuntime {
    pub open: bool,
    pub paused: Option<String>,
    pub clerk: Option<String>,
    /// The ticket being called or served.
    pub current: Option<TicketId>,
    /// Tickets finished at this window today.
    pub served_today: u32,
}

/// The whole hall.
#[derive(Debug, Clone, PartialEq)]
pub struct Hall {
    config: HallConfig,
    /// Seq of the last applied record.
    seq: u64,
    day: Option<i64>,
    /// Last number issued per service on `day`.
    numbers: BTreeMap<Id, u32>,
    tickets: BTreeMap<TicketId, Ticket>,
    tokens: HashMap<String, TicketId>,
    /// Waiting tickets per service, oldest first; ids ascend, so a ticket's
    /// place is a binary search.
    queues: BTreeMap<Id, VecDeque<TicketId>>,
    windows: BTreeMap<Id, WindowRuntime>,
    next_ticket: u64,
}

impl Hall {
    /// An empty hall (before any record). The config must be valid.
    pub fn new(config: HallConfig) -> Hall {
        let queues = config
            .services
            .iter()
            .map(|s| (s.id.clone(), VecDeque::new()))
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
                };
                (w.id.clone(), rt)
            })
            .collect();
        Hall {
            config,
            seq: 0,
            day: None,
            numbers: BTreeMap::new(),
            tickets: BTreeMap::new(),
            tokens: HashMap::new(),
            queues,
            windows,
            next_ticket: 1,
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
    pub fn day(&self) -> Option<i64> {
        self.day
    }

    pub fn ticket(&self, id: TicketId) -> Option<&Ticket> {
        self.tickets.get(&id)
    }

    pub fn ticket_by_token(&self, token: &str) -> Option<&Ticket> {
        self.tokens.get(token).and_then(|id| self.tickets.get(id))
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

    /// Waiting tickets of one service, oldest first.
    pub fn queue(&self, service: &str) -> impl Iterator<Item = &Ticket> {
        self.queues
            .get(service)
            .into_iter()
            .flatten()
            .filter_map(|id| self.tickets.get(id))
    }

    /// How many tickets wait ahead of a waiting ticket of a service.
    pub fn ahead_of(&self, service: &str, ticket: TicketId) -> usize {
        self.queues
            .get(service)
            .map_or(0, |q| q.binary_search(&ticket).unwrap_or_else(|i| i))
    }

    /// How many tickets of a service wait.
    pub fn waiting(&self, service: &str) -> usize {
        self.queues.get(service).map_or(0, VecDeque::len)
    }

    /// Tickets issued for a service on the current service day.
    pub fn issued_today(&self, service: &str) -> u32 {
        self.numbers.get(service).copied().unwrap_or(0)
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
    pub fn day_of(&self, now: Millis) -> i64 {
        let offset = i64::from(self.config.hall.utc_offset_minutes) * 60_000;
        (now + offset).div_euclid(DAY_MS)
    }

    /// Decides what a command causes, applies it, and returns the new records.
    /// On error nothing changed.
    pub fn handle(&mut self, now: Millis, cmd: Command) -> Result<Vec<Record>, CoreError> {
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
        if let Command::IssueTicket { service, token } = cmd {
            return self.decide_issue(now, service, token);
        }
        let window = cmd.window().expect("counter command").clone();
        let rt = self
            .windows
            .get(&window)
            .ok_or_else(|| CoreError::UnknownWindow(window.to_string()))?;
        let current = rt.current.and_then(|id| self.tickets.get(&id));
        if !rt.open && !matches!(cmd, Command::Open { .. }) {
            return Err(CoreError::WindowClosed);
        }
        let ev = |e: Event| Ok(vec![e]);
        match cmd {
            Command::IssueTicket { .. } => unreachable!("handled above"),
            Command::Open { clerk, .. } => {
                if rt.open {
                    return Err(CoreError::WindowAlreadyOpen);
                }
                ev(Event::WindowOpened { window, clerk })
            }
            Command::Close { .. } => {
                if current.is_some() {
                    return Err(CoreError::TicketInProgress);
                }
                ev(Event::WindowClosed { window })
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
                ev(Event::WindowPaused { window, reason })
            }
            Command::Resume { .. } => {
                if rt.paused.is_none() {
                    return Err(CoreError::WindowNotPaused);
                }
                ev(Event::WindowResumed { window })
            }
            Command::CallNext { service, .. } => {
                if rt.paused.is_some() {
                    return Err(CoreError::WindowPaused);
                }
                let mut events = Vec::new();
                if let Some(t) = current {
                    if t.state == TicketState::Called {
                        return Err(CoreError::TicketCalled);
                    }
                    // Serving: the clerk moved on without pressing finish.
                    events.push(Event::ServiceFinished {
                        ticket: t.id,
                        window: window.clone(),
                    });
                }
                let ticket = self.pick_next(&window, service.as_ref())?;
                events.push(Event::TicketCalled {
                    ticket,
                    window,
                    recall: false,
                });
                Ok(events)
            }
            Command::Recall { .. } => match current {
                Some(t) if t.state == TicketState::Called => ev(Event::TicketCalled {
                    ticket: t.id,
                    window,
                    recall: true,
                }),
                Some(_) => Err(CoreError::TicketInProgress),
                None => Err(CoreError::NoCurrentTicket),
            },
            Command::NoShow { .. } => match current {
                Some(t) if t.state == TicketState::Called => ev(Event::TicketNoShow {
                    ticket: t.id,
                    window,
                }),
                Some(_) => Err(CoreError::TicketInProgress),
                None => Err(CoreError::NoCurrentTicket),
            },
            Command::Start { .. } => match current {
                Some(t) if t.state == TicketState::Called => ev(Event::ServiceStarted {
                    ticket: t.id,
                    window,
                }),
                Some(_) => Err(CoreError::TicketInProgress),
                None => Err(CoreError::NoCurrentTicket),
            },
            Command::Finish { .. } => match current {
                Some(t) if t.state == TicketState::Serving => ev(Event::ServiceFinished {
                    ticket: t.id,
                    window,
                }),
                Some(_) => Err(CoreError::NotStarted),
                None => Err(CoreError::NoCurrentTicket),
            },
        }
    }

    fn decide_issue(
        &self,
        now: Millis,
        service: Id,
        token: String,
    ) -> Result<Vec<Event>, CoreError> {
        let svc = self
            .config
            .service(service.as_str())
            .ok_or_else(|| CoreError::UnknownService(service.to_string()))?;
        if token.is_empty() || self.tokens.contains_key(&token) {
            return Err(CoreError::DuplicateToken);
        }
        let today = self.day_of(now);
        let mut events = Vec::new();
        let last = if self.day == Some(today) {
            self.numbers.get(&service).copied().unwrap_or(0)
        } else {
            events.push(Event::DayStarted { day: today });
            0
        };
        events.push(Event::TicketIssued {
            ticket: TicketId(self.next_ticket),
            token,
            service,
            number: format!("{}{:03}", svc.prefix, last + 1),
        });
        Ok(events)
    }

    /// The longest-waiting ticket among the services the window serves.
    fn pick_next(&self, window: &Id, only: Option<&Id>) -> Result<TicketId, CoreError> {
        let w = self.config.window(window.as_str()).expect("known window");
        if let Some(s) = only {
            if self.config.service(s.as_str()).is_none() {
                return Err(CoreError::UnknownService(s.to_string()));
            }
            if !w.serves.contains(s) {
                return Err(CoreError::ServiceNotServed(s.to_string()));
            }
        }
        w.serves
            .iter()
            .filter(|s| only.is_none_or(|o| o == *s))
            .filter_map(|s| self.queues.get(s)?.front())
            .filter_map(|id| self.tickets.get(id))
            .min_by_key(|t| (t.issued_ms, t.id))
            .map(|t| t.id)
            .ok_or(CoreError::QueueEmpty)
    }

    /// Folds one record into the state. Records must come in seq order.
    pub fn apply(&mut self, r: &Record) {
        self.seq = r.seq;
        let now = r.at_ms;
        match &r.event {
            Event::DayStarted { day } => {
                self.day = Some(*day);
                self.numbers.clear();
                for w in self.windows.values_mut() {
                    w.served_today = 0;
                }
                for q in self.queues.values_mut() {
                    for id in q.drain(..) {
                        if let Some(t) = self.tickets.get_mut(&id) {
                            t.state = TicketState::Expired;
                            t.ended_ms = Some(now);
                        }
                    }
                }
            }
            Event::TicketIssued {
                ticket,
                token,
                service,
                number,
            } => {
                let n = self.numbers.entry(service.clone()).or_insert(0);
                *n += 1;
                self.next_ticket = ticket.0 + 1;
                self.tokens.insert(token.clone(), *ticket);
                self.queues
                    .entry(service.clone())
                    .or_default()
                    .push_back(*ticket);
                self.tickets.insert(
                    *ticket,
                    Ticket {
                        id: *ticket,
                        token: token.clone(),
                        service: service.clone(),
                        number: number.clone(),
                        day: self.day.unwrap_or(0),
                        state: TicketState::Waiting,
                        window: None,
                        issued_ms: now,
                        called_ms: None,
                        started_ms: None,
                        ended_ms: None,
                        recalls: 0,
                    },
                );
            }
            Event::TicketCalled {
                ticket,
                window,
                recall,
            } => {
                if let Some(t) = self.tickets.get_mut(ticket) {
                    if *recall {
                        t.recalls += 1;
                    } else if let Some(q) = self.queues.get_mut(&t.service)
                        && let Ok(i) = q.binary_search(ticket)
                    {
                        q.remove(i);
                    }
                    t.state = TicketState::Called;
                    t.window = Some(window.clone());
                    t.called_ms = Some(now);
                }
                if let Some(w) = self.windows.get_mut(window) {
                    w.current = Some(*ticket);
                }
            }
            Event::TicketNoShow { ticket, window } => {
                self.end_ticket(*ticket, window, TicketState::NoShow, now);
            }
            Event::ServiceStarted { ticket, .. } => {
                if let Some(t) = self.tickets.get_mut(ticket) {
                    t.state = TicketState::Serving;
                    t.started_ms = Some(now);
                }
            }
            Event::ServiceFinished { ticket, window } => {
                self.end_ticket(*ticket, window, TicketState::Done, now);
                if let Some(w) = self.windows.get_mut(window) {
                    w.served_today += 1;
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
        }
    }

    fn end_ticket(&mut self, ticket: TicketId, window: &Id, state: TicketState, now: Millis) {
        if let Some(t) = self.tickets.get_mut(&ticket) {
            t.state = state;
            t.ended_ms = Some(now);
        }
        if let Some(w) = self.windows.get_mut(window)
            && w.current == Some(ticket)
        {
            w.current = None;
        }
    }
}
