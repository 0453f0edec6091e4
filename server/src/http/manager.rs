//! The hall manager's routes, behind HTTP Basic authentication with a
//! `manager` device's id and password from the hall file.

use axum::Json;
use axum::body::Bytes;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hallq_core::{Command, CoreError, Policy};
use serde::Deserialize;

use super::{ApiError, AppState, check_hall, json_body, parse_id};

/// Checks `Authorization: Basic …` against the manager accounts. Failures
/// count against the address like failed MQTT logins; a locked-out address
/// gets 429 whatever it sends.
pub(super) fn manager(
    state: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    if !state.throttle.allowed(ip, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked_out",
            "登录失败次数过多，请稍后再试 / too many failed logins from this address; try again in a minute",
        ));
    }
    let failed = || {
        if state.throttle.failed(ip, Instant::now()) {
            tracing::warn!(%ip, "too many failed logins: address locked out for a minute");
        }
    };
    let refuse = || {
        let mut r = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "需要值班经理登录 / manager login required",
        );
        r.basic_realm = true;
        r
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(refuse)?;
    let decoded = value
        .strip_prefix("Basic ")
        .and_then(|e| {
            base64::engine::general_purpose::STANDARD
                .decode(e.trim())
                .ok()
        })
        .and_then(|d| String::from_utf8(d).ok());
    let Some((user, password)) = decoded.as_deref().and_then(|t| t.split_once(':')) else {
        failed();
        return Err(refuse());
    };
    match state.managers.get(user) {
        Some(p) if crate::broker::constant_time_eq(p.as_bytes(), password.as_bytes()) => {
            state.throttle.succeeded(ip);
            Ok(user.to_owned())
        }
        _ => {
            tracing::warn!(user, %ip, "manager login refused");
            failed();
            Err(refuse())
        }
    }
}

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
