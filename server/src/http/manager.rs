//! The hall manager's routes: a staff session (manager to act, supervisor
//! to watch) or HTTP Basic with a `manager` device's id and password from
//! the hall file (scripts). Every action goes to the core as the manager's
//! (`Command::Manage`), with the seq the manager saw, so an action on a
//! window someone else changed meanwhile is refused (`stale`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use hallq_core::{Command, CoreError, ManagerAction, Policy};
use serde::Deserialize;

use super::session::{Acting, StaffLogin, Watching};
use super::{ApiError, AppState, json_body, parse_id};

/// `PUT …/windows/{window}/profile`.
#[derive(Debug, Deserialize)]
struct Profile {
    serves: Vec<String>,
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    weights: Vec<u32>,
    /// The window's `seq` the manager saw (the dashboard sends it).
    #[serde(default)]
    seen: Option<u64>,
}

pub(super) async fn set_profile(
    State(state): State<AppState>,
    StaffLogin { who, .. }: StaffLogin<Acting>,
    Path((_, window)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: Profile = json_body(&body)?;
    let serves = req
        .serves
        .iter()
        .map(|s| parse_id(s, CoreError::UnknownService))
        .collect::<Result<Vec<_>, _>>()?;
    let action = ManagerAction::Profile {
        window: parse_id(&window, CoreError::UnknownWindow)?,
        serves,
        policy: req.policy,
        weights: req.weights,
    };
    act(&state, who.id, req.seen, action).await?;
    let snap = state
        .engine
        .query(|v| v.snapshot())
        .await
        .ok_or_else(|| state.unavailable())?;
    let w = snap
        .windows
        .into_iter()
        .find(|w| w.view.window.as_str() == window);
    Ok(Json(w).into_response())
}

/// Runs a manager's action; the hall's seq after it.
async fn act(
    state: &AppState,
    by: String,
    seen: Option<u64>,
    action: ManagerAction,
) -> Result<u64, ApiError> {
    tracing::info!(manager = %by, ?seen, ?action, "manager action");
    let cmd = Command::Manage { by, seen, action };
    Ok(state
        .engine
        .command(cmd, |v, _| v.hall.seq())
        .await
        .ok_or_else(|| state.unavailable())??)
}

/// `POST …/manage`: `{"action": "open"|"close"|"profile"|"move_queue"|"notice", …, "seen": n}`.
#[derive(Debug, Deserialize)]
struct Manage {
    #[serde(flatten)]
    action: ManagerAction,
    #[serde(default)]
    seen: Option<u64>,
}

pub(super) async fn manage(
    State(state): State<AppState>,
    StaffLogin { who, .. }: StaffLogin<Acting>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: Manage = json_body(&body)?;
    let seq = act(&state, who.id, req.seen, req.action).await?;
    Ok(Json(serde_json::json!({ "ok": true, "seq": seq })).into_response())
}

/// `PUT …/notice`: `{"text": "…"}` (empty clears it).
#[derive(Debug, Deserialize)]
struct NoticeBody {
    text: String,
    #[serde(default)]
    seen: Option<u64>,
}

pub(super) async fn set_notice(
    State(state): State<AppState>,
    StaffLogin { who, .. }: StaffLogin<Acting>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: NoticeBody = json_body(&body)?;
    act(
        &state,
        who.id,
        req.seen,
        ManagerAction::Notice { text: req.text },
    )
    .await?;
    let notice = state
        .engine
        .query(|v| v.notice())
        .await
        .ok_or_else(|| state.unavailable())?;
    Ok(Json(notice).into_response())
}

pub(super) async fn report(
    State(state): State<AppState>,
    _: StaffLogin<Watching>,
) -> Result<Response, ApiError> {
    let report = state
        .engine
        .query(|v| v.report())
        .await
        .ok_or_else(|| state.unavailable())?;
    Ok(Json(report).into_response())
}
