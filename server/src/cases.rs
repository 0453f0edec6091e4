//! What the outside sees of cases after the counter: the back office's
//! list by urgency, one case with its history, the citizen's line on the
//! phone page, and the report per department (on-time share, late cases,
//! average working days). Pure functions of the hall at a moment.

use std::collections::BTreeMap;

use hallq_core::calendar::Date;
use hallq_core::case::Delivery;
use hallq_core::{CardLevel, Case, CaseState, Hall};
use serde::Serialize;

use crate::views::Views;

/// A case as the back office sees it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseInfo {
    pub code: String,
    /// The ticket it was accepted from.
    pub number: String,
    pub service: String,
    pub service_name: String,
    pub department: Option<String>,
    pub department_name: Option<String>,
    /// Where and by whom it was accepted (首问负责).
    pub window: String,
    pub window_name: String,
    pub clerk: Option<String>,
    pub state: CaseState,
    pub state_name: &'static str,
    pub accepted_ms: i64,
    pub accepted_date: String,
    pub limit_days: u32,
    pub used_days: u32,
    /// The last working day it may be decided on, while its clock runs.
    pub due_date: Option<String>,
    /// Working days left (negative: late), while its clock runs.
    pub days_left: Option<i64>,
    pub card: Option<CardLevel>,
    pub deemed_approval: bool,
    pub approved: Option<bool>,
    pub deemed: bool,
    pub late: bool,
    /// Why it was refused, or what material is missing.
    pub reason: Option<String>,
    pub delivery: Option<Delivery>,
    /// The pick-up ticket taken with its code, and where that ticket is.
    pub pickup: Option<String>,
    pub steps: Vec<hallq_core::case::Step>,
}

impl CaseInfo {
    /// Whether it is still undecided (a card on it still matters).
    pub fn undecided(&self) -> bool {
        self.approved.is_none()
    }
}

/// A case as the applicant sees it on the phone page of the ticket it was
/// accepted from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CitizenCase {
    pub code: String,
    pub state: CaseState,
    pub state_name: &'static str,
    /// One line for the citizen, Chinese first: "办结，请到 11号窗口 取件".
    pub message: String,
    pub due_date: Option<String>,
    /// Where to pick it up, once ready.
    pub pickup_window: Option<String>,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
}

/// On-time figures of one department (or of the hall).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CaseFigures {
    pub department: Option<String>,
    pub department_name: String,
    pub accepted: u32,
    pub open: u32,
    pub decided: u32,
    pub on_time: u32,
    pub late: u32,
    pub deemed: u32,
    /// Share of decided cases decided within their limit, percent.
    pub on_time_percent: Option<f64>,
    /// Average working days from acceptance to decision.
    pub avg_days: Option<f64>,
    /// Open cases holding a yellow / a red card now.
    pub yellow_open: u32,
    pub red_open: u32,
}

impl Views<'_> {
    fn today(&self) -> i64 {
        self.hall.day_of(self.now)
    }

    pub fn case_info(&self, c: &Case) -> CaseInfo {
        let cfg = self.hall.config();
        let today = self.today();
        let used = self.hall.case_used_days(c, today);
        let due = self.hall.case_due_day(c, today);
        CaseInfo {
            code: c.code.clone(),
            number: c.number.clone(),
            service: c.service.to_string(),
            service_name: cfg
                .service(c.service.as_str())
                .map_or_else(|| c.service.to_string(), |s| s.name.clone()),
            department: c.department.as_ref().map(|d| d.to_string()),
            department_name: c
                .department
                .as_ref()
                .and_then(|d| cfg.department(d.as_str()))
                .map(|d| d.name.clone()),
            window: c.window.to_string(),
            window_name: cfg
                .window(c.window.as_str())
                .map_or_else(|| c.window.to_string(), |w| w.name.clone()),
            clerk: c.clerk.clone(),
            state: c.state,
            state_name: c.state.name_zh(),
            accepted_ms: c.accepted_ms,
            accepted_date: Date(c.accepted_day).to_string(),
            limit_days: c.limit_days,
            used_days: used,
            due_date: due.map(|d| Date(d).to_string()),
            days_left: c
                .running()
                .then(|| i64::from(c.limit_days) - i64::from(used)),
            card: c.card,
            deemed_approval: c.deemed_approval,
            approved: c.approved,
            deemed: c.deemed,
            late: c.late() || (c.running() && used > c.limit_days),
            reason: c.reason.clone(),
            delivery: c.delivery.clone(),
            pickup: c
                .pickup
                .and_then(|t| self.hall.ticket(t))
                .map(|t| t.number.clone()),
            steps: c.steps.clone(),
        }
    }

    /// The cases of a department (all, for `None`) not yet delivered, most
    /// urgent first: red, then yellow, then by working days left; cases
    /// whose clock stands still after those whose clock runs.
    pub fn cases_by_urgency(&self, department: Option<&str>, all: bool) -> Vec<CaseInfo> {
        let mut out: Vec<CaseInfo> = self
            .hall
            .cases()
            .filter(|c| all || c.state != CaseState::Delivered)
            .filter(|c| {
                department.is_none_or(|d| c.department.as_ref().is_some_and(|x| x.as_str() == d))
            })
            .map(|c| self.case_info(c))
            .collect();
        out.sort_by_key(|c| {
            (
                std::cmp::Reverse(c.card),
                c.days_left.is_none(),
                c.days_left,
                c.accepted_ms,
            )
        });
        out
    }

    pub fn case(&self, code: &str) -> Option<CaseInfo> {
        self.hall.case(code).map(|c| self.case_info(c))
    }

    /// The applicant's view of the case accepted from this ticket.
    pub fn citizen_case(&self, token: &str) -> Option<CitizenCase> {
        let c = self.hall.case_by_token(token)?;
        let cfg = self.hall.config();
        let window = cfg.pickup_window().map(|w| w.name.clone());
        let due = self
            .hall
            .case_due_day(c, self.today())
            .map(|d| Date(d).to_string());
        let (carrier, tracking) = match &c.delivery {
            Some(Delivery::Express { carrier, tracking }) => {
                (Some(carrier.clone()), Some(tracking.clone()))
            }
            _ => (None, None),
        };
        let message = match c.state {
            CaseState::Accepted | CaseState::InReview => format!(
                "已受理，审批中，承诺 {} 个工作日内办结{} / accepted, being decided within {} working days",
                c.limit_days,
                due.as_ref()
                    .map(|d| format!("（{d} 前）"))
                    .unwrap_or_default(),
                c.limit_days
            ),
            CaseState::NeedsMaterial => format!(
                "请补正材料：{} / more material is needed",
                c.reason.as_deref().unwrap_or("")
            ),
            CaseState::Decided => {
                "已办结，正在准备出件，请留意通知 / decided: the result is being prepared"
                    .to_owned()
            }
            CaseState::Ready => match &window {
                Some(w) => format!(
                    "办结，请到 {w} 取件（凭办件编号在取号机取号）/ ready: pick it up at {w}"
                ),
                None => "办结，请到大厅取件 / ready for pick-up".to_owned(),
            },
            CaseState::Delivered => match (&carrier, &tracking) {
                (Some(c), Some(t)) => format!("已邮寄：{c} {t} / sent by post: {c} {t}"),
                _ => "已取件 / picked up".to_owned(),
            },
        };
        Some(CitizenCase {
            code: c.code.clone(),
            state: c.state,
            state_name: c.state.name_zh(),
            message,
            due_date: due,
            pickup_window: (c.state == CaseState::Ready).then_some(window).flatten(),
            carrier,
            tracking,
        })
    }

    /// On-time figures per department, the hall's whole last.
    pub fn case_report(&self) -> Vec<CaseFigures> {
        case_report(self.hall)
    }
}

/// The name of the hall's whole line in [`case_report`].
pub const ALL: &str = "全部 / all";

/// On-time figures per department over the cases in memory, the hall's
/// whole last (`department: None`, "全部").
pub fn case_report(hall: &Hall) -> Vec<CaseFigures> {
    let cfg = hall.config();
    if hall.cases().next().is_none() {
        return Vec::new();
    }
    let mut by: BTreeMap<Option<String>, (CaseFigures, u32)> = BTreeMap::new();
    let mut all = (CaseFigures::default(), 0u32);
    for c in hall.cases() {
        let dept = c.department.as_ref().map(|d| d.to_string());
        let entry = by.entry(dept.clone()).or_insert_with(|| {
            let name = dept
                .as_deref()
                .and_then(|d| cfg.department(d))
                .map_or_else(|| "未分部门".to_owned(), |d| d.name.clone());
            (
                CaseFigures {
                    department: dept.clone(),
                    department_name: name,
                    ..CaseFigures::default()
                },
                0,
            )
        });
        for (f, days) in [(&mut entry.0, &mut entry.1), (&mut all.0, &mut all.1)] {
            f.accepted += 1;
            match c.decided_days() {
                Some(d) => {
                    f.decided += 1;
                    *days += d;
                    if c.late() {
                        f.late += 1;
                    } else {
                        f.on_time += 1;
                    }
                    f.deemed += u32::from(c.deemed);
                }
                None => {
                    f.open += 1;
                    match c.card {
                        Some(CardLevel::Red) => f.red_open += 1,
                        Some(CardLevel::Yellow) => f.yellow_open += 1,
                        None => {}
                    }
                }
            }
        }
    }
    let finish = |(mut f, days): (CaseFigures, u32)| {
        if f.decided > 0 {
            f.on_time_percent =
                Some((f64::from(f.on_time) * 1000.0 / f64::from(f.decided)).round() / 10.0);
            f.avg_days = Some((f64::from(days) * 10.0 / f64::from(f.decided)).round() / 10.0);
        }
        f
    };
    all.0.department_name = ALL.to_owned();
    let mut out: Vec<CaseFigures> = by.into_values().map(finish).collect();
    out.push(finish(all));
    out
}
