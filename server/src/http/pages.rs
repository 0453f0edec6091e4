//! The staff's web pages, served by the binary itself with every asset
//! embedded (a hall has no internet): the manager's dashboard, its login,
//! and the day report. uPlot (MIT, `server/web/vendor/uplot`) draws the
//! charts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::session::{StaffLogin, Watching};
use super::{ApiError, AppState};

/// An embedded asset with its type; cached for an hour (the page itself
/// is not cached, so a new binary's page fetches its new assets by name).
pub(super) fn asset(body: &'static str, content_type: &'static str, cache: bool) -> Response {
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

/// A citizens' page with the hall's id in its `hallq-hall` meta tag.
fn citizen_page(state: &AppState, html: &'static str) -> Response {
    let body = html.replace("__HALL__", &state.hall);
    let mut r = asset("", HTML, false);
    *r.body_mut() = axum::body::Body::from(body);
    r
}

/// The kiosk (自助取号), a touch screen.
pub(super) async fn kiosk_page(State(state): State<AppState>) -> Response {
    citizen_page(&state, include_str!("../../web/citizen/kiosk.html"))
}

/// The hall screen (综合屏) for a TV.
pub(super) async fn screen_page(State(state): State<AppState>) -> Response {
    citizen_page(&state, include_str!("../../web/citizen/screen.html"))
}

/// The phone page of a ticket, `/t/{id}`; the page itself looks the id up.
pub(super) async fn phone_page(State(state): State<AppState>) -> Response {
    citizen_page(&state, include_str!("../../web/citizen/phone.html"))
}

/// The booking page (网上预约).
pub(super) async fn book_page(State(state): State<AppState>) -> Response {
    citizen_page(&state, include_str!("../../web/citizen/book.html"))
}

/// The citizens' pages' assets.
pub(super) async fn citizen_asset(Path(file): Path<String>) -> Response {
    const JS: &str = "text/javascript; charset=utf-8";
    match file.as_str() {
        "citizen.css" => asset(
            include_str!("../../web/citizen/citizen.css"),
            "text/css; charset=utf-8",
            true,
        ),
        "i18n.js" => asset(include_str!("../../web/citizen/i18n.js"), JS, true),
        "phone.js" => asset(include_str!("../../web/citizen/phone.js"), JS, true),
        "screen.js" => asset(include_str!("../../web/citizen/screen.js"), JS, true),
        "kiosk.js" => asset(include_str!("../../web/citizen/kiosk.js"), JS, true),
        "book.js" => asset(include_str!("../../web/citizen/book.js"), JS, true),
        _ => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

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

/// What the staff pages share (their stream).
pub(super) async fn staff_js() -> Response {
    asset(
        include_str!("../../web/staff.js"),
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

/// The back office's page (后台审批): a department's cases.
pub(super) async fn backoffice_page() -> Response {
    asset(include_str!("../../web/backoffice.html"), HTML, false)
}

pub(super) async fn backoffice_js() -> Response {
    asset(
        include_str!("../../web/backoffice.js"),
        "text/javascript; charset=utf-8",
        true,
    )
}

pub(super) async fn report_page() -> Response {
    asset(include_str!("../../web/report.html"), HTML, false)
}

pub(super) async fn report_js() -> Response {
    asset(
        include_str!("../../web/report.js"),
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
    StaffLogin { who, .. }: StaffLogin<Watching>,
) -> Result<Response, ApiError> {
    let d = state
        .engine
        .query(|v| v.dashboard())
        .await
        .ok_or_else(|| state.unavailable())?;
    let mut body = serde_json::to_value(d).expect("dashboard serializes");
    let devices = state.health.lock().expect("health lock").clone();
    body["devices"] = serde_json::to_value(devices).expect("devices serialize");
    body["me"] = serde_json::to_value(who).expect("who serializes");
    body["advice"] = serde_json::to_value(
        state
            .forecaster
            .as_ref()
            .and_then(|f| f.advice())
            .as_deref(),
    )
    .expect("advice serializes");
    Ok(Json(body).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct DayQuery {
    /// `YYYY-MM-DD`; today when absent.
    date: Option<String>,
    /// `csv` for a download; JSON otherwise.
    format: Option<String>,
}

/// `GET …/learned` (manager or supervisor): what the hall's whole log says
/// about its work — service times, arrivals by weekday and hour, no-shows
/// (see [`hallq_core::learn`]).
pub(super) async fn learned(
    State(state): State<AppState>,
    _: StaffLogin<Watching>,
) -> Result<Response, ApiError> {
    let (today, config) = state
        .engine
        .query(|v| {
            let config = v.hall.config().clone();
            let today = hallq_core::calendar::local(v.now, config.hall.utc_offset_minutes).0;
            (today, config)
        })
        .await
        .ok_or_else(|| state.unavailable())?;
    let log = state.log.clone().ok_or_else(|| state.unavailable())?;
    // A plain thread: the PostgreSQL client runs a runtime of its own.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(crate::report::learned(&log, &config, today));
    });
    let learned = rx.await.map_err(|_| state.unavailable())?.map_err(|e| {
        tracing::error!(error = %e, "cannot read the log to learn from it");
        state.unavailable()
    })?;
    Ok(Json(learned).into_response())
}

/// `GET …/reports/day?date=YYYY-MM-DD[&format=csv]` (manager or supervisor).
pub(super) async fn day_report(
    State(state): State<AppState>,
    _: StaffLogin<Watching>,
    axum::extract::Query(q): axum::extract::Query<DayQuery>,
) -> Result<Response, ApiError> {
    let day = match &q.date {
        Some(d) => Some(crate::report::parse_date(d).ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "bad_date",
                format!("日期格式应为 YYYY-MM-DD / the date must be YYYY-MM-DD, not {d:?}"),
            )
        })?),
        None => None,
    };
    let (report, config) = state
        .engine
        .query(move |v| {
            let today =
                hallq_core::calendar::local(v.now, v.hall.config().hall.utc_offset_minutes).0;
            let day = day.unwrap_or(today);
            if day < today - hallq_core::KEEP_DAYS {
                Err(Box::new((day, v.hall.config().clone())))
            } else {
                Ok(v.day_report(day))
            }
        })
        .await
        .ok_or_else(|| state.unavailable())?
        .map_or_else(|old| (None, Some(old)), |r| (Some(r), None));
    let report = match (report, config, &state.log) {
        (Some(r), _, _) => r,
        // A day the hall no longer holds in memory: from the log.
        (None, Some(old), Some(log)) => {
            let (day, config) = *old;
            let log = log.clone();
            // A plain thread: the PostgreSQL client runs a runtime of its own.
            let (tx, rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let _ = tx.send(crate::report::from_log(&log, config, day));
            });
            rx.await.map_err(|_| state.unavailable())?.map_err(|e| {
                tracing::error!(error = %e, "cannot read the log for an old day's report");
                state.unavailable()
            })?
        }
        _ => return Err(state.unavailable()),
    };
    if q.format.as_deref() == Some("csv") {
        let name = format!("hallq-{}-{}.csv", report.hall, report.date);
        let mut r = crate::report::to_csv(&report).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("ascii name"),
        );
        return Ok(r);
    }
    Ok(Json(report).into_response())
}
