//! Cases after the counter on the web: the back office's list by urgency
//! and its changes (a `department` login: its own department's cases), the
//! pick-up window's delivery and post (a `clerk` login), and the route an
//! existing approval system pushes its decisions to (HTTP Basic with an
//! `approval` device of the hall file, idempotent by `Idempotency-Key`).

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hallq_core::{CaseAction, Command, CoreError, DeviceRole};
use serde::Deserialize;

use super::session::{CaseStaff, Role, StaffLogin, Who};
use super::{ApiError, AppState, check_hall, json_body};
use crate::cases::CaseInfo;

/// `GET …/cases?department=&all=true`.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    department: Option<String>,
    /// Delivered cases too.
    #[serde(default)]
    all: bool,
}

fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "您的角色无此权限 / your role may not do this",
    )
}

/// The department a login is held to, if any.
fn own_department(who: &Who) -> Option<&str> {
    (who.role == Role::Department)
        .then_some(who.department.as_deref())
        .flatten()
}

pub(super) async fn list(
    State(state): State<AppState>,
    StaffLogin { who, .. }: StaffLogin<CaseStaff>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    if who.role == Role::Clerk {
        return Err(forbidden());
    }
    let department = match (own_department(&who), q.department) {
        (Some(own), Some(asked)) if own != asked => return Err(forbidden()),
        (Some(own), _) => Some(own.to_owned()),
        (None, asked) => asked.filter(|d| !d.is_empty()),
    };
    let (cases, report) = state
        .engine
        .query(move |v| {
            (
                v.cases_by_urgency(department.as_deref(), q.all),
                v.case_report(),
            )
        })
        .await
        .ok_or_else(|| state.unavailable())?;
    Ok(Json(serde_json::json!({ "cases": cases, "report": report })).into_response())
}

pub(super) async fn one(
    State(state): State<AppState>,
    StaffLogin { who, .. }: StaffLogin<CaseStaff>,
    Path((_, code)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let case = state
        .engine
        .query(move |v| v.case(&code))
        .await
        .ok_or_else(|| state.unavailable())?
        .ok_or(CoreError::UnknownCase)?;
    if own_department(&who).is_some_and(|d| case.department.as_deref() != Some(d)) {
        return Err(forbidden());
    }
    Ok(Json(case).into_response())
}

/// `POST …/cases/{code}`: `{"action": "review"|"need_material"|"supplied"|
/// "approve"|"refuse"|"ready"|"deliver"|"express", "note": "…", "window",
/// "carrier", "tracking"}`.
#[derive(Debug, Deserialize)]
pub(super) struct Change {
    #[serde(flatten)]
    action: CaseAction,
    #[serde(default)]
    note: String,
}

/// Whether a role may make a change: the back office decides, the
/// pick-up window hands out and posts, a manager may do all.
fn may(role: Role, action: &CaseAction) -> bool {
    match role {
        Role::Manager => true,
        Role::Department => !matches!(action, CaseAction::Deliver { .. }),
        Role::Clerk => matches!(
            action,
            CaseAction::Deliver { .. } | CaseAction::Express { .. }
        ),
        Role::Supervisor => false,
    }
}

pub(super) async fn change(
    State(state): State<AppState>,
    StaffLogin { who, .. }: StaffLogin<CaseStaff>,
    Path((_, code)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: Change = json_body(&body)?;
    if !may(who.role, &req.action) {
        return Err(forbidden());
    }
    if let Some(own) = own_department(&who) {
        let c = code.clone();
        let dept = state
            .engine
            .query(move |v| v.hall.case(&c).map(|c| c.department.clone()))
            .await
            .ok_or_else(|| state.unavailable())?
            .ok_or(CoreError::UnknownCase)?;
        if dept.as_ref().map(|d| d.as_str()) != Some(own) {
            return Err(forbidden());
        }
    }
    tracing::info!(staff = %who.id, case = %code, action = req.action.as_str(), "case change");
    let info = run(&state, code, who.id, None, req).await?;
    Ok(Json(info).into_response())
}

/// `POST …/integration/cases/{code}`: an approval system's change, with
/// `Idempotency-Key` (required): the same key again changes nothing and
/// answers with the case as it is.
pub(super) async fn integration(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((hall, code)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let system = super::auth::device(&state, peer.ip(), &headers, DeviceRole::Approval)?
        .ok_or_else(|| {
            let mut e = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "需要审批系统账号 / an approval system login is required",
            );
            e.basic_realm = true;
            e
        })?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_idempotency_key",
                "须带 Idempotency-Key / an Idempotency-Key header is required",
            )
        })?;
    let req: Change = json_body(&body)?;
    tracing::info!(%system, case = %code, action = req.action.as_str(), %key, "case change from an approval system");
    let info = run(&state, code, system, Some(key), req).await?;
    Ok(Json(info).into_response())
}

async fn run(
    state: &AppState,
    code: String,
    by: String,
    key: Option<String>,
    req: Change,
) -> Result<CaseInfo, ApiError> {
    let c = code.clone();
    let cmd = Command::Case {
        case: code,
        by,
        key,
        note: req.note,
        action: req.action,
    };
    state
        .engine
        .command(cmd, move |v, _| v.case(&c))
        .await
        .ok_or_else(|| state.unavailable())??
        .ok_or_else(|| CoreError::UnknownCase.into())
}
