//! 电子监察: waits and services watched against their limits. The core keeps
//! the moments when something falls due (cards, lapsed bookings, the next
//! service day) and tells the edge when to wake it ([`Hall::next_deadline`]);
//! a `Tick` then turns what is due into events.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::Millis;
use crate::event::{CardKind, CardLevel, Event};
use crate::hall::{Hall, TicketState};
use crate::id::TicketId;

/// Something due at a moment; ordered by the moment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline {
    pub at: Millis,
    pub due: Due,
}

/// What falls due.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Due {
    Card {
        ticket: TicketId,
        kind: CardKind,
        level: CardLevel,
    },
    /// A booking nobody checked in for lapses.
    Booking(String),
}

/// Whose a deadline is: a ticket's cards or a booking's lapse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    Ticket(TicketId),
    Booking(String),
}

impl Deadline {
    fn owner(&self) -> Owner {
        match &self.due {
            Due::Card { ticket, .. } => Owner::Ticket(*ticket),
            Due::Booking(b) => Owner::Booking(b.clone()),
        }
    }
}

/// The moments something falls due, in order, and each owner's own: a
/// ticket or a booking rescheduled replaces exactly its entries. Both change
/// here only, together.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Deadlines {
    by_time: BTreeSet<Deadline>,
    by_owner: HashMap<Owner, Vec<Deadline>>,
}

impl Deadlines {
    /// Replaces an owner's deadlines with `new` (all of one owner).
    fn replace(&mut self, owner: Owner, new: Vec<Deadline>) {
        for d in self.by_owner.remove(&owner).unwrap_or_default() {
            self.by_time.remove(&d);
        }
        debug_assert!(new.iter().all(|d| d.owner() == owner));
        if !new.is_empty() {
            self.by_time.extend(new.iter().cloned());
            self.by_owner.insert(owner, new);
        }
    }

    pub(crate) fn first(&self) -> Option<&Deadline> {
        self.by_time.first()
    }

    /// Those due at `now`, earliest first.
    pub(crate) fn due(&self, now: Millis) -> impl Iterator<Item = &Deadline> {
        self.by_time.iter().take_while(move |d| d.at <= now)
    }
}

impl Hall {
    /// When the hall next needs a `Tick` (a card, a lapsed booking, midnight).
    pub fn next_deadline(&self) -> Option<Millis> {
        let due = self.deadlines.first().map(|d| d.at);
        let midnight = self
            .day
            .map(|d| crate::calendar::at(d + 1, 0, self.config.hall.utc_offset_minutes));
        match (due, midnight) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Recomputes a ticket's card deadlines from its state.
    pub(crate) fn schedule(&mut self, id: TicketId) {
        let Some(t) = self.tickets.get(&id).map(Arc::as_ref) else {
            return;
        };
        let rules = &self.config.rules;
        let mut due = Vec::new();
        match t.state {
            TicketState::Waiting => {
                let levels = [
                    (CardLevel::Yellow, rules.wait_yellow_min),
                    (CardLevel::Red, rules.wait_red_min),
                ];
                for (level, min) in levels {
                    if t.wait_card.is_none_or(|c| c < level) {
                        due.push((t.issued_ms + i64::from(min) * 60_000, CardKind::Wait, level));
                    }
                }
            }
            TicketState::Serving => {
                let limit_ms = self
                    .config
                    .service(t.service.as_str())
                    .map_or(0, |s| i64::from(s.limit_min) * 60_000);
                let started = t.started_ms.unwrap_or(t.issued_ms);
                let warn = limit_ms * i64::from(rules.service_warn_percent) / 100;
                for (level, after) in [(CardLevel::Yellow, warn), (CardLevel::Red, limit_ms)] {
                    if t.service_card.is_none_or(|c| c < level) {
                        due.push((started + after, CardKind::Service, level));
                    }
                }
            }
            _ => {}
        }
        let new = due
            .into_iter()
            .map(|(at, kind, level)| Deadline {
                at,
                due: Due::Card {
                    ticket: id,
                    kind,
                    level,
                },
            })
            .collect();
        self.deadlines.replace(Owner::Ticket(id), new);
    }

    pub(crate) fn schedule_booking(&mut self, token: &str) {
        if let Some(b) = self.bookings.get(token) {
            let at = b.slot_ms + i64::from(self.config.booking.slot_min) * 60_000;
            let d = Deadline {
                at,
                due: Due::Booking(token.to_owned()),
            };
            self.deadlines
                .replace(Owner::Booking(token.to_owned()), vec![d]);
        }
    }

    pub(crate) fn unschedule_booking(&mut self, token: &str) {
        self.deadlines
            .replace(Owner::Booking(token.to_owned()), Vec::new());
    }

    /// The events a `Tick` at `now` causes, in the order they fell due.
    pub(crate) fn decide_tick(&self, now: Millis) -> Vec<Event> {
        let mut events = Vec::new();
        let today = self.day_of(now);
        if self.day.is_some_and(|d| d < today) {
            events.push(Event::DayStarted { day: today });
            events.extend(self.decide_case_day(today));
        }
        for d in self.deadlines.due(now) {
            match &d.due {
                Due::Card {
                    ticket,
                    kind,
                    level,
                } => {
                    let Some(t) = self.tickets.get(ticket).map(Arc::as_ref) else {
                        continue;
                    };
                    // A new day expires waiting tickets before their cards matter.
                    if !events.is_empty()
                        && t.state == TicketState::Waiting
                        && !self.config.rules.carry_over
                    {
                        continue;
                    }
                    let window = if *kind == CardKind::Service {
                        t.window.clone()
                    } else {
                        None
                    };
                    let clerk = window
                        .as_ref()
                        .and_then(|w| self.windows.get(w))
                        .and_then(|w| w.clerk.clone());
                    events.push(Event::CardIssued {
                        ticket: *ticket,
                        kind: *kind,
                        level: *level,
                        service: t.service.clone(),
                        window,
                        clerk,
                    });
                }
                Due::Booking(booking) => events.push(Event::BookingMissed {
                    booking: booking.clone(),
                }),
            }
        }
        events
    }
}
