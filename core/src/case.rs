//! Cases after the counter (前台综合受理、后台分类审批、一个窗口出件).
//!
//! A clerk who accepts an application (受理) finishes the ticket and opens a
//! case; the service's department decides it behind the counter; one window
//! hands out the result, or it goes by express post. Each case has a legal
//! limit in **working days** on the hall's calendar (holidays and 调休 days
//! apply), watched like a wait: a yellow card at a share of the limit, a red
//! card past it, and for a 超时默许 service a deemed approval.
//!
//! The clock: the day of acceptance is day 0; each later working day while
//! the case is with the department (accepted or in review) uses one day. A
//! request for more material (补正) stops it after that day; the day the
//! material comes in is day 0 again. A decision stops it for good.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::calendar::{Date, Day};
use crate::error::CoreError;
use crate::event::{CardLevel, Event};
use crate::hall::{Hall, TicketState};
use crate::id::{Id, TicketId};

/// How many days a delivered case stays in memory (the manager's report of
/// on-time shares reads them); the log keeps it for ever.
pub const CASE_KEEP_DAYS: Day = 92;

/// The most characters of a case code.
pub const MAX_CASE_CODE: usize = 32;
/// The most characters of an idempotency key (a UUID fits).
pub const MAX_CASE_KEY: usize = 64;

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 已受理: accepted at the counter, not yet taken up by the department.
    Accepted,
    /// 审查中.
    InReview,
    /// 待补正: waiting for the applicant's material; the clock stands still.
    NeedsMaterial,
    /// 已办结: approved or refused (or deemed approved).
    Decided,
    /// 待取件: the result waits at the pick-up window.
    Ready,
    /// 已送达: handed out at a window or sent by post.
    Delivered,
}

impl CaseState {
    /// Its name on the wire (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Accepted => "accepted",
            CaseState::InReview => "in_review",
            CaseState::NeedsMaterial => "needs_material",
            CaseState::Decided => "decided",
            CaseState::Ready => "ready",
            CaseState::Delivered => "delivered",
        }
    }

    /// Its name for people.
    pub fn name_zh(self) -> &'static str {
        match self {
            CaseState::Accepted => "已受理",
            CaseState::InReview => "审查中",
            CaseState::NeedsMaterial => "待补正",
            CaseState::Decided => "已办结",
            CaseState::Ready => "待取件",
            CaseState::Delivered => "已送达",
        }
    }

    /// Whether the legal clock runs in this state.
    pub fn clock_runs(self) -> bool {
        matches!(self, CaseState::Accepted | CaseState::InReview)
    }
}

/// What the back office (or the pick-up window) does to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CaseAction {
    /// The department takes the case up (审查).
    Review,
    /// More material is needed (补正); the note says what.
    NeedMaterial,
    /// The material came in; review goes on.
    Supplied,
    Approve,
    /// Refused; the note is the reason, required.
    Refuse,
    /// The result is at the pick-up window.
    Ready,
    /// Handed out at a window (a pick-up ticket finishing does this).
    Deliver {
        window: Id,
    },
    /// Sent by express post.
    Express {
        carrier: String,
        tracking: String,
    },
}

impl CaseAction {
    /// Its name on the wire (as serde writes it).
    pub fn as_str(&self) -> &'static str {
        match self {
            CaseAction::Review => "review",
            CaseAction::NeedMaterial => "need_material",
            CaseAction::Supplied => "supplied",
            CaseAction::Approve => "approve",
            CaseAction::Refuse => "refuse",
            CaseAction::Ready => "ready",
            CaseAction::Deliver { .. } => "deliver",
            CaseAction::Express { .. } => "express",
        }
    }

    /// The state the action leads to from `from`; none when the case's
    /// state does not allow it.
    pub fn next(&self, from: CaseState) -> Option<CaseState> {
        use CaseState as S;
        Some(match (self, from) {
            (CaseAction::Review, S::Accepted) => S::InReview,
            (CaseAction::NeedMaterial, S::Accepted | S::InReview) => S::NeedsMaterial,
            (CaseAction::Supplied, S::NeedsMaterial) => S::InReview,
            (CaseAction::Approve | CaseAction::Refuse, S::Accepted | S::InReview) => S::Decided,
            (CaseAction::Ready, S::Decided) => S::Ready,
            (CaseAction::Deliver { .. }, S::Ready) => S::Delivered,
            (CaseAction::Express { .. }, S::Decided | S::Ready) => S::Delivered,
            _ => return None,
        })
    }
}

/// How the result reached the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Delivery {
    Window {
        window: Id,
        ticket: Option<TicketId>,
    },
    Express {
        carrier: String,
        tracking: String,
    },
}

/// One line of a case's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub at_ms: Millis,
    pub state: CaseState,
    pub by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    /// The code on the receipt (受理回执), typed at the kiosk to pick up.
    pub code: String,
    /// The ticket it was accepted from, and that ticket's number.
    pub ticket: TicketId,
    pub number: String,
    /// The ticket's public handle: its phone page follows the case.
    #[serde(skip)]
    pub token: String,
    pub service: Id,
    pub department: Option<Id>,
    /// Where it was accepted, and by whom (首问负责).
    pub window: Id,
    pub clerk: Option<String>,
    /// The applicant's hashed ID number. Never shown.
    #[serde(skip)]
    pub citizen: Option<String>,
    pub accepted_ms: Millis,
    pub accepted_day: Day,
    pub limit_days: u32,
    /// 超时默许: undecided past the limit counts as approved.
    pub deemed_approval: bool,
    pub state: CaseState,
    /// Working days used before the clock last started.
    used_before: u32,
    /// The day the clock last started (its day 0), while it runs.
    running_since: Option<Day>,
    pub card: Option<CardLevel>,
    /// Approved (true) or refused; none while undecided.
    pub approved: Option<bool>,
    /// Approved because the limit passed (超时默许).
    pub deemed: bool,
    /// Why it was refused, or what material is missing.
    pub reason: Option<String>,
    /// The pick-up ticket taken with the code, if any.
    pub pickup: Option<TicketId>,
    pub delivery: Option<Delivery>,
    pub steps: Vec<Step>,
    /// Idempotency keys of the changes already made (the integration route).
    #[serde(skip)]
    keys: BTreeSet<String>,
}

impl Case {
    /// Working days used when it was decided (its clock stopped there).
    pub fn decided_days(&self) -> Option<u32> {
        self.approved.map(|_| self.used_before)
    }

    /// Whether it was decided after its limit.
    pub fn late(&self) -> bool {
        self.deemed || self.decided_days().is_some_and(|d| d > self.limit_days)
    }

    /// Whether the clock runs now.
    pub fn running(&self) -> bool {
        self.running_since.is_some()
    }
}

/// The hall's cases with their look-ups; they change together, here only.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Cases {
    /// Shared with the hall's copies (readers, forecasts): a copy of the
    /// hall copies pointers, and a change copies only the case it changes.
    by_code: BTreeMap<String, Arc<Case>>,
    /// The accepting ticket's token → case code (the phone page).
    by_token: HashMap<String, String>,
    /// A pick-up ticket → its case code.
    by_pickup: HashMap<TicketId, String>,
    /// Cards per (department, level), all time.
    cards: BTreeMap<(Option<Id>, CardLevel), u32>,
}

impl Cases {
    fn get(&self, code: &str) -> Option<&Case> {
        self.by_code.get(code).map(|c| &**c)
    }

    fn insert(&mut self, case: Case) {
        self.by_token.insert(case.token.clone(), case.code.clone());
        self.by_code.insert(case.code.clone(), Arc::new(case));
    }

    /// Whether the ticket with this token has a case not yet delivered.
    pub(crate) fn follows(&self, token: &str) -> bool {
        self.by_token
            .get(token)
            .and_then(|c| self.by_code.get(c))
            .is_some_and(|c| c.state != CaseState::Delivered)
    }

    /// Forgets the cases delivered before `before` (and their look-ups).
    fn forget_delivered(&mut self, before: Millis) {
        let old: Vec<String> = self
            .by_code
            .values()
            .filter(|c| c.state == CaseState::Delivered)
            .filter(|c| c.steps.last().is_some_and(|s| s.at_ms < before))
            .map(|c| c.code.clone())
            .collect();
        for code in old {
            if let Some(c) = self.by_code.remove(&code) {
                self.by_token.remove(&c.token);
                if let Some(t) = c.pickup {
                    self.by_pickup.remove(&t);
                }
            }
        }
    }
}

impl Hall {
    /// A case by its code.
    pub fn case(&self, code: &str) -> Option<&Case> {
        self.cases.get(code)
    }

    /// The case accepted from the ticket with this token.
    pub fn case_by_token(&self, token: &str) -> Option<&Case> {
        self.cases
            .by_token
            .get(token)
            .and_then(|c| self.cases.get(c))
    }

    /// The case a pick-up ticket is for.
    pub fn case_of_pickup(&self, ticket: TicketId) -> Option<&Case> {
        self.cases
            .by_pickup
            .get(&ticket)
            .and_then(|c| self.cases.get(c))
    }

    /// The cases in memory: those not yet delivered, and those delivered
    /// in the last [`CASE_KEEP_DAYS`] days.
    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.by_code.values().map(|c| &**c)
    }

    /// Case cards given, per (department, level), since the log began.
    pub fn case_card_counts(&self) -> &BTreeMap<(Option<Id>, CardLevel), u32> {
        &self.cases.cards
    }

    /// Whether a day is a working day on the hall's calendar: a day with
    /// opening hours (holidays closed, 调休 days open); without hours,
    /// Monday to Friday.
    pub fn working_day(&self, day: Day) -> bool {
        match &self.config.hours {
            Some(h) => !h.sessions(None, day).is_empty(),
            None => Date(day).weekday() < 5,
        }
    }

    /// Working days in `(from, to]`.
    fn working_days_after(&self, from: Day, to: Day) -> u32 {
        (from + 1..=to).filter(|d| self.working_day(*d)).count() as u32
    }

    /// The working days a case has used by `today`.
    pub fn case_used_days(&self, case: &Case, today: Day) -> u32 {
        case.used_before
            + case
                .running_since
                .map_or(0, |s| self.working_days_after(s, today))
    }

    /// The last working day it may be decided on, while its clock runs.
    pub fn case_due_day(&self, case: &Case, today: Day) -> Option<Day> {
        case.running_since?;
        let used = self.case_used_days(case, today);
        let mut left = case.limit_days.saturating_sub(used);
        let mut day = today;
        while left > 0 {
            day += 1;
            if self.working_day(day) {
                left -= 1;
            }
        }
        Some(day)
    }

    /// The day a case's yellow card falls on: this share of its days used.
    fn yellow_days(&self, limit: u32) -> u32 {
        (limit * self.config.cases.yellow_percent)
            .div_ceil(100)
            .max(1)
    }

    /// The cards and deemed approvals due on a new day `today`.
    pub(crate) fn decide_case_day(&self, today: Day) -> Vec<Event> {
        let mut events = Vec::new();
        for c in self.cases.by_code.values().filter(|c| c.running()) {
            let used = self.case_used_days(c, today);
            let card = |level| Event::CaseCard {
                case: c.code.clone(),
                level,
                department: c.department.clone(),
                window: c.window.clone(),
                clerk: c.clerk.clone(),
                used_days: used,
            };
            if used >= self.yellow_days(c.limit_days) && c.card.is_none() {
                events.push(card(CardLevel::Yellow));
            }
            if used > c.limit_days && c.card != Some(CardLevel::Red) {
                events.push(card(CardLevel::Red));
                if c.deemed_approval {
                    events.push(Event::CaseDeemed {
                        case: c.code.clone(),
                        used_days: used,
                    });
                }
            }
        }
        events
    }

    /// 受理: the serving ticket is finished and a case opened.
    pub(crate) fn decide_accept(
        &self,
        now: Millis,
        window: Id,
        code: String,
    ) -> Result<Vec<Event>, CoreError> {
        check_code(&code, MAX_CASE_CODE)?;
        if self.cases.get(&code).is_some() {
            return Err(CoreError::DuplicateToken);
        }
        let rt = &self.windows[&window];
        let t = rt
            .current
            .and_then(|id| self.tickets.get(&id).map(Arc::as_ref))
            .ok_or(CoreError::NoCurrentTicket)?;
        if t.state != TicketState::Serving {
            return Err(CoreError::NotStarted);
        }
        let svc = self.service(&t.service)?;
        if svc.limit_days == 0 {
            return Err(CoreError::NotACaseService(svc.id.to_string()));
        }
        Ok(vec![
            Event::ServiceFinished {
                ticket: t.id,
                window: window.clone(),
                overtime_s: self.overtime_s(t, now),
            },
            Event::CaseAccepted {
                case: code,
                ticket: t.id,
                service: svc.id.clone(),
                department: svc.department.clone(),
                window,
                clerk: rt.clerk.clone(),
                limit_days: svc.limit_days,
                deemed_approval: svc.deemed_approval,
            },
        ])
    }

    /// A change of a case by `by` (back office, integration, a window).
    pub(crate) fn decide_case(
        &self,
        code: &str,
        by: String,
        key: Option<String>,
        note: String,
        action: CaseAction,
    ) -> Result<Vec<Event>, CoreError> {
        let c = self.cases.get(code).ok_or(CoreError::UnknownCase)?;
        if let Some(k) = &key {
            check_code(k, MAX_CASE_KEY)?;
            if c.keys.contains(k) {
                return Ok(Vec::new());
            }
        }
        let needs_note = matches!(action, CaseAction::Refuse | CaseAction::NeedMaterial);
        if needs_note && note.trim().is_empty() {
            return Err(CoreError::ReasonRequired);
        }
        match &action {
            CaseAction::Deliver { window } if self.config.window(window.as_str()).is_none() => {
                return Err(CoreError::UnknownWindow(window.to_string()));
            }
            CaseAction::Express { carrier, tracking }
                if carrier.trim().is_empty() || tracking.trim().is_empty() =>
            {
                return Err(CoreError::TrackingRequired);
            }
            _ => {}
        }
        if action.next(c.state).is_none() {
            return Err(CoreError::CaseState {
                state: c.state.as_str(),
                action: action.as_str(),
            });
        }
        Ok(vec![Event::CaseStep {
            case: code.to_owned(),
            action,
            by,
            note,
            key,
        }])
    }

    /// A pick-up ticket taken with a case code at the kiosk: before the
    /// ordinary pick-up tickets (the `[cases] class`).
    pub(crate) fn decide_pickup(
        &self,
        now: Millis,
        code: &str,
        token: String,
    ) -> Result<Vec<Event>, CoreError> {
        let service = self
            .config
            .cases
            .service
            .clone()
            .ok_or(CoreError::NoPickup)?;
        let c = self.cases.get(code).ok_or(CoreError::UnknownCase)?;
        match c.state {
            CaseState::Ready => {}
            CaseState::Delivered => return Err(CoreError::CaseDelivered),
            _ => return Err(CoreError::CaseNotReady),
        }
        if let Some(t) = c
            .pickup
            .and_then(|id| self.tickets.get(&id).map(Arc::as_ref))
            && !t.state.is_final()
        {
            return Err(CoreError::PickupTaken(t.number.clone()));
        }
        let svc = self.service(&service)?;
        if !self.open_for_tickets(svc, now) {
            return Err(CoreError::OutsideHours);
        }
        let class = self.config.cases.class.clone();
        let mut events = self.decide_issue(now, svc, token, class, c.citizen.clone(), None)?;
        events.push(Event::PickupIssued {
            case: code.to_owned(),
            ticket: TicketId(self.next_ticket),
        });
        Ok(events)
    }

    /// What finishing a ticket adds for its case: a pick-up ticket
    /// finished hands the result out at that window.
    pub(crate) fn decide_handed_out(&self, ticket: TicketId, window: &Id) -> Option<Event> {
        let c = self.case_of_pickup(ticket)?;
        if c.state != CaseState::Ready {
            return None;
        }
        let by = self.windows[window]
            .clerk
            .clone()
            .unwrap_or_else(|| window.to_string());
        Some(Event::CaseStep {
            case: c.code.clone(),
            action: CaseAction::Deliver {
                window: window.clone(),
            },
            by,
            note: String::new(),
            key: None,
        })
    }

    /// Folds a case event into the state.
    pub(crate) fn apply_case(&mut self, event: &Event, now: Millis) {
        let today = self.day_of(now);
        match event {
            Event::CaseAccepted {
                case,
                ticket,
                service,
                department,
                window,
                clerk,
                limit_days,
                deemed_approval,
            } => {
                let Some(t) = self.tickets.get(ticket).map(Arc::as_ref) else {
                    return;
                };
                let by = clerk.clone().unwrap_or_else(|| window.to_string());
                self.cases.insert(Case {
                    code: case.clone(),
                    ticket: *ticket,
                    number: t.number.clone(),
                    token: t.token.clone(),
                    service: service.clone(),
                    department: department.clone(),
                    window: window.clone(),
                    clerk: clerk.clone(),
                    citizen: t.citizen.clone(),
                    accepted_ms: now,
                    accepted_day: today,
                    limit_days: *limit_days,
                    deemed_approval: *deemed_approval,
                    state: CaseState::Accepted,
                    used_before: 0,
                    running_since: Some(today),
                    card: None,
                    approved: None,
                    deemed: false,
                    reason: None,
                    pickup: None,
                    delivery: None,
                    steps: vec![Step {
                        at_ms: now,
                        state: CaseState::Accepted,
                        by,
                        note: String::new(),
                    }],
                    keys: BTreeSet::new(),
                });
            }
            Event::CaseStep {
                case,
                action,
                by,
                note,
                key,
            } => {
                let Some(c) = self.cases.by_code.get(case) else {
                    return;
                };
                let used = self.case_used_days(c, today);
                let Some(c) = self.cases.by_code.get_mut(case).map(Arc::make_mut) else {
                    return;
                };
                let Some(next) = action.next(c.state) else {
                    return;
                };
                match action {
                    CaseAction::NeedMaterial => {
                        c.used_before = used;
                        c.running_since = None;
                        c.reason = Some(note.clone());
                    }
                    CaseAction::Supplied => {
                        c.running_since = Some(today);
                        c.reason = None;
                    }
                    CaseAction::Approve | CaseAction::Refuse => {
                        c.used_before = used;
                        c.running_since = None;
                        c.approved = Some(*action == CaseAction::Approve);
                        c.reason = (*action == CaseAction::Refuse).then(|| note.clone());
                    }
                    CaseAction::Deliver { window } => {
                        c.delivery = Some(Delivery::Window {
                            window: window.clone(),
                            ticket: c.pickup,
                        });
                    }
                    CaseAction::Express { carrier, tracking } => {
                        c.delivery = Some(Delivery::Express {
                            carrier: carrier.clone(),
                            tracking: tracking.clone(),
                        });
                    }
                    CaseAction::Review | CaseAction::Ready => {}
                }
                c.state = next;
                c.steps.push(Step {
                    at_ms: now,
                    state: next,
                    by: by.clone(),
                    note: note.clone(),
                });
                if let Some(k) = key {
                    c.keys.insert(k.clone());
                }
            }
            Event::CaseCard {
                case,
                level,
                department,
                ..
            } => {
                if let Some(c) = self.cases.by_code.get_mut(case).map(Arc::make_mut) {
                    c.card = Some(c.card.map_or(*level, |l| l.max(*level)));
                }
                *self
                    .cases
                    .cards
                    .entry((department.clone(), *level))
                    .or_default() += 1;
            }
            Event::CaseDeemed { case, used_days } => {
                if let Some(c) = self.cases.by_code.get_mut(case).map(Arc::make_mut) {
                    c.state = CaseState::Decided;
                    c.used_before = *used_days;
                    c.running_since = None;
                    c.approved = Some(true);
                    c.deemed = true;
                    c.steps.push(Step {
                        at_ms: now,
                        state: CaseState::Decided,
                        by: "超时默许".to_owned(),
                        note: "逾期未决，视为同意 / deemed approved".to_owned(),
                    });
                }
            }
            Event::PickupIssued { case, ticket } => {
                if let Some(c) = self.cases.by_code.get_mut(case).map(Arc::make_mut) {
                    c.pickup = Some(*ticket);
                    self.cases.by_pickup.insert(*ticket, case.clone());
                }
            }
            _ => {}
        }
    }

    /// At a day start: delivered cases older than [`CASE_KEEP_DAYS`] leave memory.
    pub(crate) fn forget_delivered_cases(&mut self, now: Millis) {
        self.cases
            .forget_delivered(now - CASE_KEEP_DAYS * crate::DAY_MS);
    }
}

/// A case code or key: 1 to `max` letters, digits, `-` or `_`.
fn check_code(code: &str, max: usize) -> Result<(), CoreError> {
    let ok = !code.is_empty()
        && code.len() <= max
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CoreError::BadCaseCode)
    }
}

#[cfg(test)]
mod names {
    use super::*;

    const ALL: [CaseState; 6] = [
        CaseState::Accepted,
        CaseState::InReview,
        CaseState::NeedsMaterial,
        CaseState::Decided,
        CaseState::Ready,
        CaseState::Delivered,
    ];

    /// Every action, one of each.
    fn actions() -> Vec<CaseAction> {
        vec![
            CaseAction::Review,
            CaseAction::NeedMaterial,
            CaseAction::Supplied,
            CaseAction::Approve,
            CaseAction::Refuse,
            CaseAction::Ready,
            CaseAction::Deliver {
                window: Id::parse("11").unwrap(),
            },
            CaseAction::Express {
                carrier: "EMS".into(),
                tracking: "1".into(),
            },
        ]
    }

    #[test]
    fn state_and_action_names_are_serdes() {
        for s in ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for a in actions() {
            assert_eq!(serde_json::to_value(&a).unwrap()["action"], a.as_str());
        }
    }

    #[test]
    fn only_the_allowed_steps_lead_on() {
        use CaseState as S;
        // Nothing leads on from a delivered case, and nothing back to accepted.
        for a in actions() {
            assert_eq!(a.next(S::Delivered), None);
        }
        for s in ALL {
            for a in actions() {
                assert_ne!(a.next(s), Some(S::Accepted), "{a:?} from {s:?}");
            }
        }
        // The clock runs only while the department has it.
        let running: Vec<_> = ALL.into_iter().filter(|s| s.clock_runs()).collect();
        assert_eq!(running, [S::Accepted, S::InReview]);
    }
}
