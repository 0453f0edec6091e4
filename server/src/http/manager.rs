//! The hall manager's routes, behind HTTP Basic authentication with a
//! `manager` device's id and password from the hall file.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hallq_core::{Command, CoreError, Policy};
use serde::Deserialize;

use super::{ApiError, AppState, check_hall, json_body, parse_id};

/// Checks `Authorization: Basic …` against the manager accounts.
fn manager(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
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
    let encoded = value.strip_prefix("Basic ").ok_or_else(refuse)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| refuse())?;
    let text = String::from_utf8(decoded).map_err(|_| refuse())?;
    let (user, password) = text.split_once(':').ok_or_else(refuse)?;
    match state.managers.get(user) {
        Some(p) if crate::broker::constant_time_eq(p.as_bytes(), password.as_bytes()) => {
            Ok(user.to_owned())
        }
        _ => {
            tracing::warn!(user, "manager login refused");
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
    Path((hall, window)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let who = manager(&state, &headers)?;
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
        .ok_or_else(ApiError::unavailable)??;
    let w = snap
        .windows
        .into_iter()
        .find(|w| w.view.window.as_str() == window);
    Ok(Json(w).into_response())
}

pub(super) async fn report(
    State(state): State<AppState>,
    Path(hall): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    manager(&state, &headers)?;
    let report = state
        .engine
        .query(|v| v.report())
        .await
        .ok_or_else(ApiError::unavailable)?;
    Ok(Json(report).into_response())
}
