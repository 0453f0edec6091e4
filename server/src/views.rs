//! What the outside sees of the hall: the JSON of the HTTP API, the
//! contract's WindowState, TicketRef and Metrics, and the manager's report.
//! Pure functions of the hall at a moment.

use std::collections::BTreeMap;

use hallq_contract::payload::{CardMetric, ServiceMetrics, WindowMetrics};
use hallq_contract::{Metrics, TicketRef, WindowState, WindowStatus};
use hallq_core::booking::Booking;
use hallq_core::view::{ServiceView, WindowView};
use hallq_core::{CardKind, CardLevel, Hall, Millis, Ticket, TicketState};
use serde::Serialize;

/// The hall seen at `now`.
#[derive(Debug, Clone, Copy)]
pub struct Views<'a> {
    pub hall: &'a Hall,
    pub now: Millis,
}

impl Views<'_> {
    /// The manager's notice as `notice` carries it.
    pub fn notice(&self) -> hallq_contract::Notice {
        hallq_contract::Notice {
            text: self.hall.notice().to_owned(),
            seq: self.hall.seq(),
            at_ms: self.now,
        }
    }
}

/// A ticket as the HTTP API and the phone page show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TicketInfo {
    /// The opaque handle for `GET …/tickets/{id}`.
    pub id: String,
    pub number: String,
    pub service: String,
    pub service_name: String,
    pub status: TicketState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub issued_ms: Millis,
    pub ahead: u32,
    /// The expected wait from now: the forecast's mean when there is one
    /// (see `wait_range_s`), else the typical time × place ÷ open windows.
    pub estimated_wait_s: u32,
    /// The forecast's range, 20th to 80th percentile, seconds (waiting
    /// tickets, once forecast).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_range_s: Option<[u32; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_name: Option<String>,
    /// Who stays responsible for it (首问负责).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub transfers: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    pub materials: Vec<String>,
    pub limit_min: u32,
    /// The case accepted from this ticket (受理), as its applicant sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<crate::cases::CitizenCase>,
}

/// A booking as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BookingInfo {
    pub id: String,
    pub service: String,
    pub service_name: String,
    pub slot_ms: Millis,
    pub slot_end_ms: Millis,
    pub state: hallq_core::booking::BookingState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketInfo>,
    pub materials: Vec<String>,
}

/// The hall now, for `GET /api/v1/halls/{hall}`.
#[derive(Debug, Clone, Serialize)]
pub struct HallSnapshot {
    pub hall: String,
    pub name: String,
    pub seq: u64,
    pub services: Vec<ServiceInfo>,
    pub windows: Vec<WindowInfo>,
    pub classes: Vec<ClassInfo>,
    /// The hall's zones with the services their windows serve (the kiosk
    /// groups its buttons by them).
    pub zones: Vec<ZoneInfo>,
    /// The back-office departments that decide cases.
    pub departments: Vec<DepartmentInfo>,
    /// Whether the kiosk offers a pick-up ticket with a case code (统一出件).
    pub pickup: bool,
    /// The window results are handed out at, if any.
    pub pickup_window: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DepartmentInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneInfo {
    pub zone: String,
    pub name: String,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassInfo {
    pub id: String,
    pub name: String,
    pub booking_only: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceInfo {
    #[serde(flatten)]
    pub view: ServiceView,
    pub name_en: String,
    pub materials: Vec<String>,
    pub typical_min: u32,
    pub limit_min: u32,
    /// Whether a kiosk can issue a ticket for it now (hours and cut-off).
    pub issuing: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    #[serde(flatten)]
    pub view: WindowView,
    pub serves: Vec<String>,
    pub policy: hallq_core::Policy,
    pub weights: Vec<u32>,
    /// Numbers parked at the window.
    pub held: Vec<String>,
}

/// Per clerk (and window) over the log: the manager's report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClerkReport {
    pub served: u32,
    pub no_shows: u32,
    pub service_s_total: u64,
    pub overtime_s_total: u64,
    /// Ratings 1..=5 → count.
    pub ratings: BTreeMap<u8, u32>,
    pub yellow_cards: u32,
    pub red_cards: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub at_ms: Millis,
    /// Key: clerk id, or `window:{id}` when no clerk had logged in.
    pub clerks: BTreeMap<String, ClerkReport>,
    /// Cards per service: `{service: {"wait_yellow": n, …}}`.
    pub cards_by_service: BTreeMap<String, BTreeMap<String, u32>>,
    /// Tickets transferred, by their owner (首问负责).
    pub transferred_by_owner: BTreeMap<String, u32>,
}

pub fn wire_status(s: hallq_core::WindowStatus) -> WindowStatus {
    match s {
        hallq_core::WindowStatus::Closed => WindowStatus::Closed,
        hallq_core::WindowStatus::Idle => WindowStatus::Idle,
        hallq_core::WindowStatus::Calling => WindowStatus::Calling,
        hallq_core::WindowStatus::Serving => WindowStatus::Serving,
        hallq_core::WindowStatus::Paused => WindowStatus::Paused,
    }
}

impl Views<'_> {
    fn owner_of(t: &Ticket) -> Option<String> {
        t.owner.as_ref().map(|o| {
            o.clerk
                .clone()
                .unwrap_or_else(|| format!("{}号窗口", o.window))
        })
    }

    /// The contract's short form of a ticket; `with_materials` for the pad.
    pub fn ticket_ref(&self, t: &Ticket, with_materials: bool) -> TicketRef {
        let svc = self.hall.config().service(t.service.as_str());
        TicketRef {
            number: t.number.clone(),
            service: Some(t.service.to_string()),
            service_name: svc.map(|s| s.name.clone()),
            materials: match (with_materials, svc) {
                (true, Some(s)) => s.materials.clone(),
                _ => Vec::new(),
            },
            class: t.class.as_ref().map(|c| c.to_string()),
            owner: with_materials.then(|| Self::owner_of(t)).flatten(),
            limit_min: with_materials.then(|| svc.map(|s| s.limit_min)).flatten(),
        }
    }

    /// A service's name, materials and time limit; for a service the hall
    /// file no longer lists (old tickets in the log), its id, none and 0.
    fn service_facts(&self, service: &hallq_core::Id) -> (String, Vec<String>, u32) {
        match self.hall.config().service(service.as_str()) {
            Some(s) => (s.name.clone(), s.materials.clone(), s.limit_min),
            None => (service.to_string(), Vec::new(), 0),
        }
    }

    pub fn ticket_info(&self, t: &Ticket) -> TicketInfo {
        let cfg = self.hall.config();
        let (service_name, materials, limit_min) = self.service_facts(&t.service);
        let place = self.hall.place(t);
        TicketInfo {
            id: t.token.clone(),
            number: t.number.clone(),
            service: t.service.to_string(),
            service_name,
            status: t.state,
            class: t.class.as_ref().map(|c| c.to_string()),
            issued_ms: t.issued_ms,
            ahead: place.ahead,
            estimated_wait_s: place.estimated_wait_s,
            wait_range_s: None,
            window: t.window.as_ref().map(|w| w.to_string()),
            window_name: t
                .window
                .as_ref()
                .and_then(|w| cfg.window(w.as_str()))
                .map(|w| w.name.clone()),
            owner: Self::owner_of(t),
            transfers: t.transfers,
            booking: t.booking.clone(),
            rating: t.rating,
            materials,
            limit_min,
            case: self.citizen_case(&t.token),
        }
    }

    pub fn ticket_by_token(&self, token: &str) -> Option<TicketInfo> {
        self.hall
            .ticket_by_token(token)
            .map(|t| self.ticket_info(t))
    }

    pub fn booking_info(&self, token: &str, b: &Booking) -> BookingInfo {
        let cfg = self.hall.config();
        let (service_name, materials, _) = self.service_facts(&b.service);
        BookingInfo {
            id: token.to_owned(),
            service: b.service.to_string(),
            service_name,
            slot_ms: b.slot_ms,
            slot_end_ms: b.slot_ms + i64::from(cfg.booking.slot_min) * 60_000,
            state: b.state,
            ticket: b
                .ticket
                .and_then(|id| self.hall.ticket(id))
                .map(|t| self.ticket_info(t)),
            materials,
        }
    }

    pub fn snapshot(&self) -> HallSnapshot {
        let cfg = self.hall.config();
        HallSnapshot {
            hall: cfg.hall.id.to_string(),
            name: cfg.hall.name.clone(),
            seq: self.hall.seq(),
            services: self
                .hall
                .service_views(self.now)
                .into_iter()
                .zip(&cfg.services)
                .map(|(view, s)| ServiceInfo {
                    view,
                    name_en: s.name_en.clone(),
                    materials: s.materials.clone(),
                    typical_min: s.typical_min,
                    limit_min: s.limit_min,
                    issuing: self.hall.open_for_tickets(s, self.now),
                })
                .collect(),
            windows: self
                .hall
                .window_views()
                .into_iter()
                .map(|view| {
                    let rt = self
                        .hall
                        .window(view.window.as_str())
                        .expect("known window");
                    WindowInfo {
                        serves: rt.serves.iter().map(|s| s.to_string()).collect(),
                        policy: rt.policy,
                        weights: rt.weights.clone(),
                        held: rt
                            .held
                            .iter()
                            .filter_map(|t| self.hall.ticket(*t))
                            .map(|t| t.number.clone())
                            .collect(),
                        view,
                    }
                })
                .collect(),
            classes: cfg
                .classes
                .iter()
                .map(|c| ClassInfo {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    booking_only: c.booking_only,
                })
                .collect(),
            zones: cfg
                .zones
                .iter()
                .map(|z| {
                    let mut services: Vec<String> = Vec::new();
                    for w in cfg
                        .windows
                        .iter()
                        .filter(|w| w.zone.as_ref() == Some(&z.id))
                    {
                        let rt = self.hall.window(w.id.as_str()).expect("known window");
                        for s in &rt.serves {
                            if !services.iter().any(|x| x == s.as_str()) {
                                services.push(s.to_string());
                            }
                        }
                    }
                    ZoneInfo {
                        zone: z.id.to_string(),
                        name: z.name.clone(),
                        services,
                    }
                })
                .collect(),
            departments: cfg
                .departments
                .iter()
                .map(|d| DepartmentInfo {
                    id: d.id.to_string(),
                    name: d.name.clone(),
                })
                .collect(),
            pickup: cfg.cases.service.is_some(),
            pickup_window: cfg.pickup_window().map(|w| w.id.to_string()),
        }
    }

    pub fn metrics(&self) -> Metrics {
        let services: Vec<ServiceMetrics> = self
            .hall
            .service_views(self.now)
            .into_iter()
            .map(|s| ServiceMetrics {
                service: s.service.to_string(),
                waiting: s.waiting,
                longest_wait_s: s.longest_wait_s,
                issued_today: s.issued_today,
                windows_open: s.windows_open,
            })
            .collect();
        let mut cards = Vec::new();
        for t in self.hall.live_tickets() {
            let (kind, level) = match t.state {
                TicketState::Waiting => (CardKind::Wait, t.wait_card),
                TicketState::Serving => (CardKind::Service, t.service_card),
                _ => continue,
            };
            let Some(level) = level else { continue };
            let at_window = kind == CardKind::Service;
            cards.push(CardMetric {
                ticket: t.number.clone(),
                service: t.service.to_string(),
                kind: kind.as_str().to_owned(),
                level: level.as_str().to_owned(),
                window: t
                    .window
                    .as_ref()
                    .filter(|_| at_window)
                    .map(|w| w.to_string()),
                clerk: t.clerk.clone().filter(|_| at_window),
            });
        }
        // Card events of the day; a red card comes after its yellow one.
        let (yellow_today, red_today) = self.hall.cards_today();
        Metrics {
            seq: self.hall.seq(),
            at_ms: self.now,
            waiting: services.iter().map(|s| s.waiting).sum(),
            services,
            windows: self
                .hall
                .window_views()
                .into_iter()
                .map(|w| WindowMetrics {
                    window: w.window.to_string(),
                    status: wire_status(w.status),
                    waiting: w.waiting,
                    served_today: w.served_today,
                })
                .collect(),
            cards,
            yellow_today,
            red_today,
            cases: self
                .case_report()
                .into_iter()
                .filter(|f| f.department_name != crate::cases::ALL)
                .map(|f| hallq_contract::payload::CaseMetric {
                    department: f.department.unwrap_or_default(),
                    open: f.open,
                    yellow: f.yellow_open,
                    red: f.red_open,
                    decided: f.decided,
                    on_time: f.on_time,
                })
                .collect(),
        }
    }

    /// A window's state without its queues and its clerk's day: what a
    /// sign shows, cheap to make (see `Engine::publish_states`).
    pub fn window_shown(&self, v: &WindowView) -> WindowState {
        let ticket = self
            .hall
            .window(v.window.as_str())
            .and_then(|rt| rt.current)
            .and_then(|id| self.hall.ticket(id))
            .map(|t| self.ticket_ref(t, false));
        WindowState {
            window: v.window.to_string(),
            name: v.name.clone(),
            status: wire_status(v.status),
            ticket,
            waiting: v.waiting,
            seq: self.hall.seq(),
            clerk: v.clerk.clone(),
            pause_reason: v.pause_reason.clone(),
            held: self
                .hall
                .window(v.window.as_str())
                .map(|rt| {
                    rt.held
                        .iter()
                        .filter_map(|t| self.hall.ticket(*t))
                        .map(|t| t.number.clone())
                        .collect()
                })
                .unwrap_or_default(),
            queues: Vec::new(),
            clerk_today: None,
        }
    }

    /// `shown` with the window's queues and its clerk's figures of the day.
    pub fn with_counts(&self, shown: WindowState, v: &WindowView) -> WindowState {
        WindowState {
            queues: self
                .hall
                .window(v.window.as_str())
                .map(|rt| {
                    rt.serves
                        .iter()
                        .map(|s| hallq_contract::payload::ServiceQueue {
                            service: s.to_string(),
                            name: self
                                .hall
                                .config()
                                .service(s.as_str())
                                .map_or_else(|| s.to_string(), |c| c.name.clone()),
                            waiting: self.hall.waiting(s.as_str()) as u32,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            clerk_today: v.clerk.as_deref().map(|c| self.clerk_today(c)),
            ..shown
        }
    }

    /// A clerk's figures on the current service day.
    pub fn clerk_today(&self, clerk: &str) -> hallq_contract::payload::ClerkToday {
        let mut d = hallq_contract::payload::ClerkToday::default();
        let (mut service_s, mut rating_sum) = (0u64, 0u32);
        for t in self
            .hall
            .tickets_today()
            .filter(|t| t.clerk.as_deref() == Some(clerk))
        {
            if t.state == TicketState::Done {
                d.served += 1;
                service_s += t
                    .ended_ms
                    .zip(t.started_ms)
                    .map_or(0, |(e, s)| ((e - s).max(0) / 1000) as u64);
            }
            if let Some(r) = t.rating {
                d.ratings += 1;
                rating_sum += u32::from(r);
            }
            if t.service_card.is_some() {
                d.cards += 1;
            }
        }
        d.avg_service_s = service_s.checked_div(u64::from(d.served)).unwrap_or(0) as u32;
        d.rating_avg_x10 = (rating_sum * 10).checked_div(d.ratings).unwrap_or(0);
        d
    }

    /// The hall's layout for devices (`layout`, retained).
    pub fn layout(&self) -> hallq_contract::Layout {
        use hallq_contract::payload::{LayoutService, LayoutWindow, LayoutZone};
        let cfg = self.hall.config();
        hallq_contract::Layout {
            hall: cfg.hall.id.to_string(),
            name: cfg.hall.name.clone(),
            zones: cfg
                .zones
                .iter()
                .map(|z| LayoutZone {
                    zone: z.id.to_string(),
                    name: z.name.clone(),
                })
                .collect(),
            windows: cfg
                .windows
                .iter()
                .map(|w| LayoutWindow {
                    window: w.id.to_string(),
                    name: w.name.clone(),
                    zone: w.zone.as_ref().map(|z| z.to_string()),
                })
                .collect(),
            services: cfg
                .services
                .iter()
                .map(|s| LayoutService {
                    service: s.id.to_string(),
                    name: s.name.clone(),
                    prefix: s.prefix.to_string(),
                })
                .collect(),
            pause_reasons: cfg.rules.pause_reasons.clone(),
            service_warn_percent: cfg.rules.service_warn_percent,
        }
    }

    /// Per clerk: served, no-shows, time, overtime, ratings, cards.
    pub fn report(&self) -> Report {
        let mut clerks: BTreeMap<String, ClerkReport> = BTreeMap::new();
        let mut transferred_by_owner: BTreeMap<String, u32> = BTreeMap::new();
        let key = |t: &Ticket| {
            t.clerk.clone().unwrap_or_else(|| {
                format!(
                    "window:{}",
                    t.window.as_ref().map(|w| w.as_str()).unwrap_or("-")
                )
            })
        };
        for t in self.hall.tickets() {
            if t.transfers > 0
                && let Some(o) = Self::owner_of(t)
            {
                *transferred_by_owner.entry(o).or_default() += t.transfers;
            }
            if t.window.is_none() {
                continue;
            }
            let r = clerks.entry(key(t)).or_default();
            match t.state {
                TicketState::Done => {
                    r.served += 1;
                    r.service_s_total += t
                        .ended_ms
                        .zip(t.started_ms)
                        .map_or(0, |(e, s)| ((e - s).max(0) / 1000) as u64);
                    r.overtime_s_total += u64::from(t.overtime_s);
                }
                TicketState::NoShow => r.no_shows += 1,
                _ => {}
            }
            if let Some(score) = t.rating {
                *r.ratings.entry(score).or_default() += 1;
            }
        }
        let mut cards_by_service: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for ((clerk, service, kind, level), n) in self.hall.card_counts() {
            let name = format!("{}_{}", kind.as_str(), level.as_str());
            *cards_by_service
                .entry(service.to_string())
                .or_default()
                .entry(name)
                .or_default() += n;
            if let Some(c) = clerk {
                let r = clerks.entry(c.clone()).or_default();
                match level {
                    CardLevel::Yellow => r.yellow_cards += n,
                    CardLevel::Red => r.red_cards += n,
                }
            }
        }
        Report {
            at_ms: self.now,
            clerks,
            cards_by_service,
            transferred_by_owner,
        }
    }
}
