//! Read-only projections of the hall for citizens, devices and managers.

use serde::Serialize;

use crate::Millis;
use crate::hall::{Hall, Ticket, TicketState, WindowStatus};
use crate::id::Id;

/// A citizen's ticket with its live place in line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketPlace {
    /// Tickets of the same service ahead of it (0 once called).
    pub ahead: u32,
    /// Rough wait until it is called, from the service's typical time and the
    /// windows now open for it.
    pub estimated_wait_s: u32,
}

/// A window as devices and the hall screen show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowView {
    pub window: Id,
    pub name: String,
    pub status: WindowStatus,
    /// The number being called or served.
    pub ticket: Option<String>,
    pub service: Option<Id>,
    /// Tickets waiting for the services this window serves.
    pub waiting: u32,
    pub clerk: Option<String>,
    pub pause_reason: Option<String>,
    pub served_today: u32,
}

/// One service's queue now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceView {
    pub service: Id,
    pub prefix: char,
    pub name: String,
    pub waiting: u32,
    /// Wait of the oldest waiting ticket, in seconds.
    pub longest_wait_s: u32,
    pub issued_today: u32,
    /// Open, unpaused windows that serve it.
    pub windows_open: u32,
}

impl Hall {
    /// Services that tickets in the log have but the hall file no longer
    /// lists, each with how many of its tickets are not final yet.
    pub fn services_not_in_config(&self) -> Vec<(Id, u32)> {
        let mut out: std::collections::BTreeMap<Id, u32> = std::collections::BTreeMap::new();
        for t in self.tickets() {
            if self.config().service(t.service.as_str()).is_none() {
                *out.entry(t.service.clone()).or_default() += u32::from(!t.state.is_final());
            }
        }
        out.into_iter().collect()
    }

    /// Place and estimate of a ticket, or `None` for an unknown token.
    pub fn place(&self, ticket: &Ticket) -> TicketPlace {
        if ticket.state != TicketState::Waiting {
            return TicketPlace {
                ahead: 0,
                estimated_wait_s: 0,
            };
        }
        let ahead = self.ahead_of(ticket.id) as u32;
        let servers = ticket.sent_to.is_some().then_some(1);
        TicketPlace {
            ahead,
            estimated_wait_s: self.estimate_wait_s(&ticket.service, ahead, servers),
        }
    }

    /// The expected wait of a ticket of `service` with `ahead` before it:
    /// half a service for the ticket at the window, then one per ticket
    /// ahead, shared by the open windows serving it (or `servers`). A new
    /// ticket has every waiting one ahead. 0 for a service the hall file
    /// no longer lists (no typical time).
    pub fn estimate_wait_s(&self, service: &Id, ahead: u32, servers: Option<u32>) -> u32 {
        let typical_min = self
            .config()
            .service(service.as_str())
            .map_or(0, |s| s.typical_min);
        let open = self.windows_open_for(service);
        let servers = servers.unwrap_or(if open > 0 {
            open
        } else {
            self.windows_serving(service).count().max(1) as u32
        });
        let typical_s = typical_min * 60;
        (2 * ahead + 1) * typical_s / (2 * servers)
    }

    /// Windows whose current work profile includes a service.
    pub fn windows_serving<'a>(&'a self, service: &'a Id) -> impl Iterator<Item = &'a Id> {
        self.windows()
            .filter(move |(_, rt)| rt.serves.contains(service))
            .map(|(id, _)| id)
    }

    fn windows_open_for(&self, service: &Id) -> u32 {
        self.windows_serving(service)
            .filter(|w| {
                self.status(w.as_str())
                    .is_some_and(|s| !matches!(s, WindowStatus::Closed | WindowStatus::Paused))
            })
            .count() as u32
    }

    /// One window's view.
    pub fn window_view(&self, id: &str) -> Option<WindowView> {
        let cfg = self.config().window(id)?;
        let rt = self.window(id)?;
        let current = rt.current.and_then(|t| self.ticket(t));
        let waiting = rt
            .serves
            .iter()
            .map(|s| self.waiting(s.as_str()) as u32)
            .sum::<u32>()
            + self.direct_queue(id).count() as u32;
        Some(WindowView {
            window: cfg.id.clone(),
            name: cfg.name.clone(),
            status: self.status(id)?,
            ticket: current.map(|t| t.number.clone()),
            service: current.map(|t| t.service.clone()),
            waiting,
            clerk: rt.clerk.clone(),
            pause_reason: rt.paused.clone(),
            served_today: rt.served_today,
        })
    }

    /// Every window, in configuration order.
    pub fn window_views(&self) -> Vec<WindowView> {
        self.config()
            .windows
            .iter()
            .filter_map(|w| self.window_view(w.id.as_str()))
            .collect()
    }

    /// Every service's queue, in configuration order.
    pub fn service_views(&self, now: Millis) -> Vec<ServiceView> {
        self.config()
            .services
            .iter()
            .map(|s| {
                let longest_wait_s = self
                    .queue(s.id.as_str())
                    .next()
                    .map(|t| ((now - t.issued_ms).max(0) / 1000) as u32)
                    .unwrap_or(0);
                let waiting = self.waiting(s.id.as_str()) as u32;
                let issued_today = self.issued_today(s.id.as_str());
                ServiceView {
                    service: s.id.clone(),
                    prefix: s.prefix,
                    name: s.name.clone(),
                    waiting,
                    longest_wait_s,
                    issued_today,
                    windows_open: self.windows_open_for(&s.id),
                }
            })
            .collect()
    }
}
