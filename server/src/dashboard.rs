//! The hall manager's dashboard as data: each service's queue and its
//! recent waits, each window's load, the open cards, the notice, and the
//! day's waiting count and wait time in ten-minute steps for the charts.
//! All of it computed from the hall's state (the core's tickets of the day),
//! so the page, the report and the figures agree.

use hallq_contract::Notice;
use hallq_core::{Millis, Ticket, TicketState};
use serde::Serialize;

use crate::views::{Views, wire_status};

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub hall: String,
    pub name: String,
    pub seq: u64,
    pub at_ms: Millis,
    pub services: Vec<ServiceLoad>,
    pub windows: Vec<WindowLoad>,
    pub cards: Vec<hallq_contract::payload::CardMetric>,
    pub yellow_today: u32,
    pub red_today: u32,
    pub notice: Notice,
    pub series: Series,
    /// Open cases holding a card, most urgent first (限时办结).
    pub case_cards: Vec<crate::cases::CaseInfo>,
    /// On-time figures per department.
    pub cases: Vec<crate::cases::CaseFigures>,
}

/// One service now and over the last half hour and hour.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceLoad {
    pub service: String,
    pub name: String,
    pub waiting: u32,
    pub longest_wait_s: u32,
    /// Waits of the tickets called in the last 30 / 60 minutes.
    pub avg_wait_30m_s: Option<u32>,
    pub p90_wait_30m_s: Option<u32>,
    pub avg_wait_60m_s: Option<u32>,
    pub p90_wait_60m_s: Option<u32>,
    /// What a ticket taken now would be told.
    pub estimate_s: u32,
    /// Tickets issued in the last hour.
    pub arrivals_last_hour: u32,
    pub issued_today: u32,
    pub windows_open: u32,
    /// Open cards on its tickets.
    pub yellow: u32,
    pub red: u32,
}

/// One window now and today.
#[derive(Debug, Clone, Serialize)]
pub struct WindowLoad {
    pub window: String,
    pub name: String,
    pub status: hallq_contract::WindowStatus,
    pub clerk: Option<String>,
    pub pause_reason: Option<String>,
    pub ticket: Option<String>,
    pub service: Option<String>,
    /// Since the call (called) or the start (serving), in seconds.
    pub ticket_s: Option<u32>,
    pub served_today: u32,
    /// Share of today's open time spent serving (0–1).
    pub utilisation: Option<f64>,
    pub avg_service_s: Option<u32>,
    pub serves: Vec<String>,
    pub policy: hallq_core::Policy,
    pub weights: Vec<u32>,
    /// The seq of the window's last change: send it back with an action.
    pub seq: u64,
}

/// The day in ten-minute steps from its first ticket.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub step_ms: Millis,
    /// Start of each step.
    pub at_ms: Vec<Millis>,
    /// Tickets waiting at the end of the step.
    pub waiting: Vec<u32>,
    /// Average wait of the tickets called in the step (null: none called).
    pub avg_wait_s: Vec<Option<u32>>,
}

const STEP_MS: Millis = 600_000;

/// Average and 90th percentile (nearest rank) of some seconds.
pub fn avg_p90(mut xs: Vec<u32>) -> (Option<u32>, Option<u32>) {
    if xs.is_empty() {
        return (None, None);
    }
    xs.sort_unstable();
    let avg = (xs.iter().map(|x| u64::from(*x)).sum::<u64>() / xs.len() as u64) as u32;
    let rank = (xs.len() * 9).div_ceil(10).max(1);
    (Some(avg), Some(xs[rank - 1]))
}

/// A called ticket's wait in seconds.
pub fn wait_s(t: &Ticket) -> Option<u32> {
    t.called_ms
        .map(|c| ((c - t.issued_ms).max(0) / 1000) as u32)
}

/// A finished ticket's service time in seconds.
pub fn service_s(t: &Ticket) -> Option<u32> {
    match (t.started_ms, t.ended_ms) {
        (Some(s), Some(e)) if t.state == TicketState::Done => Some(((e - s).max(0) / 1000) as u32),
        _ => None,
    }
}

impl Views<'_> {
    pub fn dashboard(&self) -> Dashboard {
        let now = self.now;
        let cfg = self.hall.config();
        let today: Vec<&Ticket> = self.hall.tickets_today().collect();
        let metrics = self.metrics();
        let services = self
            .hall
            .service_views(now)
            .into_iter()
            .map(|s| {
                let mine = || today.iter().filter(|t| t.service == s.service);
                let called_since = |ms: Millis| {
                    mine()
                        .filter(|t| t.called_ms.is_some_and(|c| c >= now - ms))
                        .filter_map(|t| wait_s(t))
                        .collect::<Vec<_>>()
                };
                let (avg30, p90_30) = avg_p90(called_since(30 * 60_000));
                let (avg60, p90_60) = avg_p90(called_since(60 * 60_000));
                let cards = |level: &str| {
                    metrics
                        .cards
                        .iter()
                        .filter(|c| c.service == s.service.as_str() && c.level == level)
                        .count() as u32
                };
                ServiceLoad {
                    service: s.service.to_string(),
                    name: s.name.clone(),
                    waiting: s.waiting,
                    longest_wait_s: s.longest_wait_s,
                    avg_wait_30m_s: avg30,
                    p90_wait_30m_s: p90_30,
                    avg_wait_60m_s: avg60,
                    p90_wait_60m_s: p90_60,
                    estimate_s: self.hall.estimate_wait_s(&s.service, s.waiting, None),
                    arrivals_last_hour: mine().filter(|t| t.issued_ms >= now - 3_600_000).count()
                        as u32,
                    issued_today: s.issued_today,
                    windows_open: s.windows_open,
                    yellow: cards("yellow"),
                    red: cards("red"),
                }
            })
            .collect();
        let windows = self
            .hall
            .window_views()
            .into_iter()
            .map(|v| {
                let rt = self.hall.window(v.window.as_str()).expect("known window");
                let here = || {
                    today
                        .iter()
                        .filter(|t| t.window.as_ref() == Some(&v.window))
                };
                let done: Vec<u32> = here().filter_map(|t| service_s(t)).collect();
                let current = rt.current.and_then(|id| self.hall.ticket(id));
                let current_serving_ms = current
                    .and_then(|t| t.started_ms)
                    .map_or(0, |s| (now - s).max(0));
                let serving_ms: Millis =
                    done.iter().map(|s| Millis::from(*s) * 1000).sum::<Millis>()
                        + current_serving_ms;
                let open_ms = rt.open_ms_today + rt.opened_ms.map_or(0, |o| (now - o).max(0));
                WindowLoad {
                    window: v.window.to_string(),
                    name: v.name.clone(),
                    status: wire_status(v.status),
                    clerk: v.clerk.clone(),
                    pause_reason: v.pause_reason.clone(),
                    ticket: v.ticket.clone(),
                    service: v.service.as_ref().map(|s| s.to_string()),
                    ticket_s: current
                        .and_then(|t| t.started_ms.or(t.called_ms))
                        .map(|s| ((now - s).max(0) / 1000) as u32),
                    served_today: v.served_today,
                    utilisation: (open_ms > 0)
                        .then(|| (serving_ms as f64 / open_ms as f64).min(1.0)),
                    avg_service_s: avg_p90(done).0,
                    serves: rt.serves.iter().map(|s| s.to_string()).collect(),
                    policy: rt.policy,
                    weights: rt.weights.clone(),
                    seq: rt.changed,
                }
            })
            .collect();
        Dashboard {
            hall: cfg.hall.id.to_string(),
            name: cfg.hall.name.clone(),
            seq: self.hall.seq(),
            at_ms: now,
            services,
            windows,
            yellow_today: metrics.yellow_today,
            red_today: metrics.red_today,
            cards: metrics.cards,
            notice: Notice {
                text: self.hall.notice().to_owned(),
                seq: self.hall.notice_seq(),
                at_ms: now,
            },
            series: series(&today, now),
            case_cards: self
                .cases_by_urgency(None, false)
                .into_iter()
                .filter(|c| c.card.is_some() && c.undecided())
                .take(30)
                .collect(),
            cases: self.case_report(),
        }
    }
}

/// The day's waiting count and wait time, step by step.
fn series(today: &[&Ticket], now: Millis) -> Series {
    let Some(first) = today.iter().map(|t| t.issued_ms).min() else {
        return Series {
            step_ms: STEP_MS,
            at_ms: Vec::new(),
            waiting: Vec::new(),
            avg_wait_s: Vec::new(),
        };
    };
    let start = first - first.rem_euclid(STEP_MS);
    let steps = ((now - start) / STEP_MS + 1).clamp(1, 24 * 6) as usize;
    let mut s = Series {
        step_ms: STEP_MS,
        at_ms: Vec::with_capacity(steps),
        waiting: Vec::with_capacity(steps),
        avg_wait_s: Vec::with_capacity(steps),
    };
    for i in 0..steps {
        let from = start + i as Millis * STEP_MS;
        let to = (from + STEP_MS).min(now);
        // Waiting at `to`: issued by then, not yet called (or ended) by then.
        let waiting = today
            .iter()
            .filter(|t| t.issued_ms <= to)
            .filter(|t| t.called_ms.is_none_or(|c| c > to) && t.ended_ms.is_none_or(|e| e > to))
            .count() as u32;
        let waits: Vec<u32> = today
            .iter()
            .filter(|t| t.called_ms.is_some_and(|c| c >= from && c < from + STEP_MS))
            .filter_map(|t| wait_s(t))
            .collect();
        s.at_ms.push(from);
        s.waiting.push(waiting);
        s.avg_wait_s.push(avg_p90(waits).0);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::avg_p90;

    #[test]
    fn averages_and_the_90th_percentile() {
        assert_eq!(avg_p90(vec![]), (None, None));
        assert_eq!(avg_p90(vec![5]), (Some(5), Some(5)));
        assert_eq!(avg_p90((1..=10).collect()), (Some(5), Some(9)));
        assert_eq!(avg_p90((1..=100).rev().collect()), (Some(50), Some(90)));
    }
}

/// What `/metrics` needs beyond the `metrics` topic: every wait and service
/// time of the day (for the histograms) and the outcomes per window and
/// clerk (for the counters).
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// `(service, seconds)` of each ticket called today.
    pub waits: Vec<(String, u32)>,
    /// `(service, seconds)` of each ticket finished today.
    pub services: Vec<(String, u32)>,
    /// `(window, clerk or "", served, no-shows)` today.
    pub outcomes: Vec<(String, String, u32, u32)>,
}

impl Views<'_> {
    pub fn figures(&self) -> Figures {
        let mut f = Figures::default();
        let mut outcomes: std::collections::BTreeMap<(String, String), (u32, u32)> =
            std::collections::BTreeMap::new();
        for t in self.hall.tickets_today() {
            if let Some(w) = wait_s(t) {
                f.waits.push((t.service.to_string(), w));
            }
            if let Some(s) = service_s(t) {
                f.services.push((t.service.to_string(), s));
            }
            let Some(window) = &t.window else { continue };
            let key = (window.to_string(), t.clerk.clone().unwrap_or_default());
            let o = outcomes.entry(key).or_default();
            o.0 += u32::from(t.state == TicketState::Done);
            // A no-show put back in the queue once (hall rule) still was one.
            o.1 += u32::from(t.state == TicketState::NoShow || t.put_back);
        }
        f.outcomes = outcomes
            .into_iter()
            .map(|((w, c), (s, n))| (w, c, s, n))
            .collect();
        f
    }
}
