//! The staff's web pages, served by the binary itself with every asset
//! embedded (a hall has no internet): the manager's dashboard, its login,
//! and the day report. uPlot (MIT, `server/web/vendor/uplot`) draws the
//! charts.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::session::{Need, staff};
use super::{ApiError, AppState, check_hall};

/// An embedded asset with its type; cached for an hour (the page itself
/// is not cached, so a new binary's page fetches its new assets by name).
fn asset(body: &'static str, content_type: &'static str, cache: bool) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if cache { "max-age=3600" } else { "no-cache" }),
    );
    // Everything is our own: no other origin, no inline script.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

const HTML: &str = "text/html; charset=utf-8";

pub(super) async fn dashboard_page() -> Response {
    asset(include_str!("../../web/manager.html"), HTML, false)
}

pub(super) async fn login_page() -> Response {
    asset(include_str!("../../web/login.html"), HTML, false)
}

pub(super) async fn app_js() -> Response {
    asset(
        include_str!("../../web/manager.js"),
        "text/javascript; charset=utf-8",
        true,
    )
}

pub(super) async fn login_js() -> Response {
    asset(
        include_str!("../../web/login.js"),
        "text/javascript; charset=utf-8",
        true,
    )
}

pub(super) async fn app_css() -> Response {
    asset(
        include_str!("../../web/manager.css"),
        "text/css; charset=utf-8",
        true,
    )
}

pub(super) async fn uplot_js() -> Response {
    asset(
        include_str!("../../web/vendor/uplot/uPlot.iife.min.js"),
        "text/javascript; charset=utf-8",
        true,
    )
}

pub(super) async fn uplot_css() -> Response {
    asset(
        include_str!("../../web/vendor/uplot/uPlot.min.css"),
        "text/css; charset=utf-8",
        true,
    )
}

/// `GET …/dashboard`: the dashboard's data (manager or supervisor), with
/// the devices' health and who is asking.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hall): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let who = staff(&state, peer.ip(), &headers, Need::Watch)?;
    let d = state
        .engine
        .query(|v| v.dashboard())
        .await
        .ok_or_else(|| state.unavailable())?;
    let mut body = serde_json::to_value(d).expect("dashboard serializes");
    let devices = state.health.lock().expect("health lock").clone();
    body["devices"] = serde_json::to_value(devices).expect("devices serialize");
    body["me"] = serde_json::to_value(who).expect("who serializes");
    Ok(Json(body).into_response())
}
