//! The hall manager's routes, behind HTTP Basic authentication with a
//! `manager` device's id and password from the hall file.

use axum::Json;
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hallq_core::{Command, CoreError, Policy};
use serde::Deserialize;

use super::auth::manager;
use super::{ApiError, AppState, check_hall, json_body, parse_id};

/// `PUT …/windows/{window}/profile`.
#[derive(Debug, Deserialize)]
struct Profile {
    serves: Vec<String>,
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    weights: Vec<u32>,
}

pub(super) async fn set_profile(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((hall, window)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let who = manager(&state, peer.ip(), &headers)?;
    let req: Profile = json_body(&body)?;
    let serves = req
        .serves
        .iter()
        .map(|s| parse_id(s, CoreError::UnknownService))
        .collect::<Result<Vec<_>, _>>()?;
    let cmd = Command::SetProfile {
        window: parse_id(&window, CoreError::UnknownWindow)?,
        serves,
        policy: req.policy,
        weights: req.weights,
    };
    tracing::info!(manager = %who, %window, "work profile set");
    let snap = state
        .engine
        .command(cmd, |v, _| v.snapshot())
        .await
        .ok_or_else(|| state.unavailable())??;
    let w = snap
        .windows
        .into_iter()
        .find(|w| w.view.window.as_str() == window);
    Ok(Json(w).into_response())
}

/// `PUT …/notice`: `{"text": "…"}` (empty clears it).
#[derive(Debug, Deserialize)]
struct NoticeBody {
    text: String,
}

pub(super) async fn set_notice(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hall): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let who = manager(&state, peer.ip(), &headers)?;
    let req: NoticeBody = json_body(&body)?;
    tracing::info!(manager = %who, text = %req.text, "notice set");
    let notice = state
        .engine
        .command(Command::SetNotice { text: req.text }, |v, _| v.notice())
        .await
        .ok_or_else(|| state.unavailable())??;
    Ok(Json(notice).into_response())
}

pub(super) async fn report(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hall): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    manager(&state, peer.ip(), &headers)?;
    let report = state
        .engine
        .query(|v| v.report())
        .await
        .ok_or_else(|| state.unavailable())?;
    Ok(Json(report).into_response())
}
