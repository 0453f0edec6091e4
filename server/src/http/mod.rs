//! The HTTP and WebSocket API of CONTRACT.md: thin routes over the owner.
//! Citizens' routes (tickets, bookings, ratings) are in `citizen.rs`, the
//! manager's (work profiles, report; HTTP Basic with a manager device's
//! credentials) in `manager.rs`.

pub mod auth;
mod cases;
mod citizen;
mod city;
mod digests;
mod manager;
mod pages;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hallq_core::CoreError;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use serde_json::json;
use tokio::sync::{broadcast, watch};

use crate::bridge::DeviceHealth;
use crate::engine::EngineHandle;
use crate::stream::{Line, text};

/// Where the event log is, for what is read from it directly.
#[derive(Debug, Clone)]
pub enum LogSource {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

/// What every route needs.
#[derive(Clone)]
pub struct AppState {
    pub hall: String,
    /// Where the hall's pages are: "" on a server with one hall, else
    /// `/h/{hall}` (its API is under `/api/v1/halls/{hall}` either way).
    pub prefix: String,
    /// Whether this node runs the hall now (see [`crate::lease`]).
    pub lease: Arc<crate::lease::Lease>,
    /// Waiting tickets' forecast waits; none in tests that drive the
    /// router alone.
    pub forecaster: Option<crate::forecaster::Forecaster>,
    pub engine: EngineHandle,
    pub stream: broadcast::Sender<Arc<Line>>,
    /// The stream for public followers, coalesced.
    pub public: broadcast::Sender<Arc<Vec<String>>>,
    pub health: DeviceHealth,
    /// Hashes ID numbers (HMAC-SHA256 with the hall's secret): only the hash
    /// is kept, compared and logged.
    pub id_key: Arc<ring::hmac::Key>,
    /// Devices that log in over HTTP (managers, kiosks).
    pub accounts: Arc<auth::Accounts>,
    /// The public routes' rate limits.
    pub limits: Arc<auth::Limits>,
    /// Failed logins per address, shared with the MQTT broker.
    pub throttle: Arc<crate::throttle::LoginThrottle>,
    /// Why the event log refuses writes, while it does.
    pub storage: watch::Receiver<Option<String>>,
    /// Staff accounts and their web sessions.
    pub sessions: Arc<session::Sessions>,
    /// Served over HTTPS (the session cookie is then `Secure`).
    pub https: bool,
    /// The kiosks' ticket printers.
    pub printing: Arc<crate::print::Printing>,
    /// The event log's file (`hall.db`): reports of days no longer in
    /// memory are made from it.
    pub log: Option<LogSource>,
    /// The hall's signed digests of its log; none in tests that drive the
    /// router alone.
    pub digests: Option<Arc<crate::digest::Digests>>,
}

impl AppState {
    /// 503 for a command that got no answer: the log refusing writes, or
    /// the owner gone.
    fn unavailable(&self) -> ApiError {
        if self.storage.borrow().is_some() {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_failed",
                "存储故障，未办理，请稍后重试 / cannot store: not done, try again",
            )
        } else {
            ApiError::unavailable()
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("hall", &self.hall)
            .finish_non_exhaustive()
    }
}

/// Histogram buckets for waits and service times, in seconds: 30 s to 2 h.
const WAIT_BUCKETS: [f64; 12] = [
    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0,
];

/// The largest request body any route takes (bytes).
pub const MAX_BODY: usize = 16 * 1024;

pub use city::city;

/// One hall's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/halls/{hall}", get(hall_snapshot))
        .route("/api/v1/halls/{hall}/tickets", post(citizen::take_ticket))
        .route("/api/v1/halls/{hall}/tickets/{id}", get(citizen::ticket))
        .route(
            "/api/v1/halls/{hall}/tickets/{id}/rating",
            post(citizen::rate),
        )
        .route("/api/v1/halls/{hall}/bookings", post(citizen::book))
        .route(
            "/api/v1/halls/{hall}/bookings/{id}",
            get(citizen::booking).delete(citizen::cancel_booking),
        )
        .route(
            "/api/v1/halls/{hall}/services/{service}/slots",
            get(citizen::slots),
        )
        .route("/book", get(pages::book_page))
        .route(
            "/api/v1/halls/{hall}/bookings/{id}/check-in",
            post(citizen::check_in),
        )
        .route(
            "/api/v1/halls/{hall}/windows/{window}/profile",
            put(manager::set_profile),
        )
        .route("/api/v1/halls/{hall}/report", get(manager::report))
        .route(
            "/api/v1/halls/{hall}/notice",
            get(notice).put(manager::set_notice),
        )
        .route("/api/v1/halls/{hall}/manage", post(manager::manage))
        .route("/api/v1/halls/{hall}/dashboard", get(pages::dashboard))
        .route("/manager", get(pages::dashboard_page))
        .route("/kiosk", get(pages::kiosk_page))
        .route("/screen", get(pages::screen_page))
        .route("/t/{id}", get(pages::phone_page))
        .route("/assets/{file}", get(pages::citizen_asset))
        .route("/manager/login", get(pages::login_page))
        .route("/manager/report", get(pages::report_page))
        .route("/backoffice", get(pages::backoffice_page))
        .route("/backoffice.js", get(pages::backoffice_js))
        .route("/manager/report.js", get(pages::report_js))
        .route("/api/v1/halls/{hall}/reports/day", get(pages::day_report))
        .route("/api/v1/halls/{hall}/learned", get(pages::learned))
        .route("/api/v1/halls/{hall}/cases", get(cases::list))
        .route(
            "/api/v1/halls/{hall}/cases/{code}",
            get(cases::one).post(cases::change),
        )
        .route(
            "/api/v1/halls/{hall}/integration/cases/{code}",
            post(cases::integration),
        )
        .route("/api/v1/halls/{hall}/digests", get(digests::list))
        .route("/api/v1/halls/{hall}/digests/key", get(digests::key))
        .route("/api/v1/halls/{hall}/digests/today", get(digests::today))
        .route("/manager/app.js", get(pages::app_js))
        .route("/manager/login.js", get(pages::login_js))
        .route("/manager/staff.js", get(pages::staff_js))
        .route("/manager/app.css", get(pages::app_css))
        .route("/manager/uplot.js", get(pages::uplot_js))
        .route("/manager/uplot.css", get(pages::uplot_css))
        .route("/api/v1/login", post(session::login))
        .route("/api/v1/logout", post(session::logout))
        .route("/api/v1/me", get(session::me))
        .route("/api/v1/halls/{hall}/stream", get(stream))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "没有这个地址 / no such path",
            )
        })
        // Every body the API takes is a few hundred bytes.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            only_where_it_runs,
        ))
        .with_state(state)
}

/// On a node that does not run the hall now (another holds its lease),
/// every route of the hall answers 503 `standby` with the node that runs
/// it, so that a kiosk, a phone or a load balancer goes there.
async fn only_where_it_runs(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if state.lease.held() {
        return next.run(req).await;
    }
    let holder = state.lease.holder();
    let body = json!({
        "ok": false,
        "error": {
            "code": "standby",
            "message": "本节点现不负责该大厅，请换一个节点 / this node does not run this hall now: try another",
        },
        "runs_on": holder,
    });
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    r
}

/// A JSON error that never shows internals.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Ask for Basic credentials (401 from the manager's routes).
    basic_realm: bool,
    /// Seconds, with 429.
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            basic_realm: false,
            retry_after: None,
        }
    }

    fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "服务暂不可用 / service unavailable",
        )
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        use CoreError as E;
        let status = match e {
            E::UnknownService(_)
            | E::UnknownClass(_)
            | E::BadSlot
            | E::BadScore
            | E::BadProfile(_)
            | E::BadTransfer
            | E::BadCaseCode
            | E::TrackingRequired
            | E::NotACaseService(_) => StatusCode::UNPROCESSABLE_ENTITY,
            E::UnknownTicket | E::UnknownBooking | E::UnknownWindow(_) | E::UnknownCase => {
                StatusCode::NOT_FOUND
            }
            E::BookingBanned | E::NotOwner => StatusCode::FORBIDDEN,
            E::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::CONFLICT,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

/// Reads a JSON body, or answers 400 `bad_request`.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("请求格式错误 / bad request: {e}"),
        )
    })
}

/// An id from a request, or 422 with the given error.
fn parse_id(s: &str, err: impl FnOnce(String) -> CoreError) -> Result<hallq_core::Id, ApiError> {
    hallq_core::Id::parse(s).map_err(|_| err(s.to_owned()).into())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut r = (self.status, Json(body)).into_response();
        if self.basic_realm {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"hallq\""),
            );
        }
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, auth::retry_after(secs));
        }
        r
    }
}

/// Axum's own refusals (a body over the limit, a wrong content type) are
/// plain text; every error of this API is JSON.
async fn json_errors(r: Response) -> Response {
    let plain = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE && plain {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("请求过大 / request body over {MAX_BODY} bytes"),
        )
        .into_response();
    }
    r
}

fn check_hall(state: &AppState, hall: &str) -> Result<(), ApiError> {
    if hall == state.hall {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_hall",
            format!("没有这个大厅 / unknown hall {hall}"),
        ))
    }
}

async fn hall_snapshot(
    State(state): State<AppState>,
    Path(hall): Path<String>,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let snap = state
        .engine
        .query(|v| v.snapshot())
        .await
        .ok_or_else(|| state.unavailable())?;
    let devices = state.health.lock().expect("health lock").clone();
    let mut body = serde_json::to_value(snap).expect("snapshot serializes");
    body["devices"] = serde_json::to_value(devices).expect("devices serialize");
    Ok(Json(body).into_response())
}

/// `GET …/notice`: the manager's notice, as the `notice` topic has it.
async fn notice(
    State(state): State<AppState>,
    Path(hall): Path<String>,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let notice = state
        .engine
        .query(|v| v.notice())
        .await
        .ok_or_else(|| state.unavailable())?;
    Ok(Json(notice).into_response())
}

/// The stream: public without a login; with a manager's Basic credentials
/// (wrong ones are refused, not downgraded) the staff form of each line.
async fn stream(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path(hall): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    // The staff form for a manager's, supervisor's or back office's session
    // or a manager's Basic login; a wrong login is refused, not downgraded.
    let back_office = state
        .sessions
        .who(&headers)
        .is_some_and(|w| w.role == session::Role::Department && w.for_hall(&state.hall));
    let staff = if back_office {
        true
    } else if state.sessions.who(&headers).is_some() || headers.contains_key(header::AUTHORIZATION)
    {
        session::staff(&state, peer.ip(), &headers, session::Need::Watch)?;
        true
    } else {
        false
    };
    Ok(ws
        .max_message_size(4 * 1024)
        .on_upgrade(move |socket| follow(socket, state, staff)))
}

/// Sends a snapshot, then the changes, until the client goes: staff every
/// line, the public the coalesced batches (see [`crate::stream::spawn_public`]).
async fn follow(mut socket: WebSocket, state: AppState, staff: bool) {
    let mut lines = staff.then(|| state.stream.subscribe());
    let mut batches = (!staff).then(|| state.public.subscribe());
    if !send_snapshot(&mut socket, &state, None).await {
        return;
    }
    loop {
        let next = async {
            match (&mut lines, &mut batches) {
                (Some(rx), _) => rx.recv().await.map(|l| vec![l.staff.clone()]),
                (_, Some(rx)) => rx.recv().await.map(|b| b.to_vec()),
                _ => Err(broadcast::error::RecvError::Closed),
            }
        };
        tokio::select! {
            got = next => match got {
                Ok(texts) => {
                    for text in texts {
                        // Staff-only lines have no public form.
                        if !text.is_empty() && socket.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                }
                // Too slow a client: tell it, and give it a fresh snapshot.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    if !send_snapshot(&mut socket, &state, Some(n)).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// The hall as it is now (after `lagged`, when the follower missed some).
async fn send_snapshot(socket: &mut WebSocket, state: &AppState, missed: Option<u64>) -> bool {
    let Some(snap) = state.engine.query(|v| v.snapshot()).await else {
        return false;
    };
    if let Some(n) = missed {
        let lagged = json!({"type": "lagged", "data": {"missed": n}}).to_string();
        if socket.send(Message::text(lagged)).await.is_err() {
            return false;
        }
    }
    socket
        .send(Message::text(text("snapshot", &snap)))
        .await
        .is_ok()
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let families = hall_metrics(&state, false)
        .await
        .ok_or_else(|| state.unavailable())?;
    Ok(prometheus_text(&families))
}

/// Prometheus's text form of these metrics.
fn prometheus_text(families: &[prometheus::proto::MetricFamily]) -> Response {
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(families, &mut buf)
        .expect("encodes");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], buf).into_response()
}

/// The hall's metrics; with `labelled`, each carries `hall="{id}"` (a
/// server with several halls gives them all on one page). `None` when the
/// owner is gone.
async fn hall_metrics(
    state: &AppState,
    labelled: bool,
) -> Option<Vec<prometheus::proto::MetricFamily>> {
    let (m, f) = state.engine.query(|v| (v.metrics(), v.figures())).await?;
    let registry = if labelled {
        Registry::new_custom(
            None,
            Some(std::collections::HashMap::from([(
                "hall".to_owned(),
                state.hall.clone(),
            )])),
        )
        .expect("valid label")
    } else {
        Registry::new()
    };
    let gauge = |name: &str, help: &str, labels: &[&str]| {
        let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
        registry
            .register(Box::new(g.clone()))
            .expect("unique metric");
        g
    };
    let waiting = gauge(
        "hallq_waiting_tickets",
        "Tickets waiting, per service",
        &["service"],
    );
    let longest = gauge(
        "hallq_longest_wait_seconds",
        "Wait of the oldest waiting ticket",
        &["service"],
    );
    let issued = gauge(
        "hallq_tickets_issued_today",
        "Tickets issued this service day",
        &["service"],
    );
    let open = gauge(
        "hallq_windows_open",
        "Open, unpaused windows serving the service",
        &["service"],
    );
    for s in &m.services {
        waiting
            .with_label_values(&[&s.service])
            .set(s.waiting.into());
        longest
            .with_label_values(&[&s.service])
            .set(s.longest_wait_s.into());
        issued
            .with_label_values(&[&s.service])
            .set(s.issued_today.into());
        open.with_label_values(&[&s.service])
            .set(s.windows_open.into());
    }
    let cases = gauge(
        "hallq_cases_open",
        "Cases not yet decided, per department",
        &["department"],
    );
    let case_cards = gauge(
        "hallq_cases_carded",
        "Undecided cases holding a yellow or a red card, per department",
        &["department", "level"],
    );
    let decided = gauge(
        "hallq_cases_decided",
        "Cases decided (in memory: the last 92 days), per department and timeliness",
        &["department", "timely"],
    );
    for c in &m.cases {
        let d = c.department.as_str();
        cases.with_label_values(&[d]).set(c.open.into());
        case_cards
            .with_label_values(&[d, "yellow"])
            .set(c.yellow.into());
        case_cards.with_label_values(&[d, "red"]).set(c.red.into());
        decided
            .with_label_values(&[d, "on_time"])
            .set(c.on_time.into());
        decided
            .with_label_values(&[d, "late"])
            .set((c.decided - c.on_time).into());
    }
    let served = gauge(
        "hallq_window_served_today",
        "Tickets finished at the window today",
        &["window"],
    );
    let status = gauge(
        "hallq_window_status",
        "1 for the window's current status",
        &["window", "status"],
    );
    for w in &m.windows {
        served
            .with_label_values(&[&w.window])
            .set(w.served_today.into());
        status
            .with_label_values(&[&w.window, w.status.as_str()])
            .set(1);
    }
    gauge("hallq_seq", "Seq of the hall's last event", &[])
        .with_label_values(&[] as &[&str])
        .set(m.seq as i64);
    let cards = gauge(
        "hallq_open_cards",
        "Yellow and red cards on tickets still waiting or being served",
        &["service", "level"],
    );
    for s in &m.services {
        for level in ["yellow", "red"] {
            cards.with_label_values(&[&s.service, level]).set(0);
        }
    }
    for c in &m.cards {
        cards.with_label_values(&[&c.service, &c.level]).inc();
    }
    let devices = gauge(
        "hallq_devices_online",
        "Devices that said they are online (their own status topic), by role",
        &["role", "online"],
    );
    for d in state.health.lock().expect("health lock").values() {
        let online = if d.online { "true" } else { "false" };
        devices.with_label_values(&[&d.role, online]).inc();
    }
    // Histograms and counters of the service day (they start again at the
    // day's first event, which Prometheus's rate() takes as a reset).
    let histogram = |name: &str, help: &str| {
        let h = HistogramVec::new(
            HistogramOpts::new(name, help).buckets(WAIT_BUCKETS.to_vec()),
            &["service"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(h.clone()))
            .expect("unique metric");
        h
    };
    let waits = histogram(
        "hallq_wait_seconds",
        "Wait from ticket to call, of the tickets called this service day",
    );
    for (service, s) in &f.waits {
        waits.with_label_values(&[service]).observe(f64::from(*s));
    }
    let services = histogram(
        "hallq_service_seconds",
        "Service time from start to finish, of the tickets finished this service day",
    );
    for (service, s) in &f.services {
        services
            .with_label_values(&[service])
            .observe(f64::from(*s));
    }
    let counter = |name: &str, help: &str| {
        let c =
            IntCounterVec::new(Opts::new(name, help), &["window", "clerk"]).expect("valid metric");
        registry
            .register(Box::new(c.clone()))
            .expect("unique metric");
        c
    };
    let served = counter(
        "hallq_served_total",
        "Tickets finished this service day, per window and clerk",
    );
    let no_shows = counter(
        "hallq_no_shows_total",
        "Tickets marked no-show this service day, per window and clerk",
    );
    for (window, clerk, s, n) in &f.outcomes {
        served
            .with_label_values(&[window, clerk])
            .inc_by(u64::from(*s));
        no_shows
            .with_label_values(&[window, clerk])
            .inc_by(u64::from(*n));
    }
    // Where a pad command's time goes in the server, over the last
    // commands the owner kept (see `engine::Stages`): quantiles, as a
    // summary has them, in seconds from the broker handing it over.
    let stages = GaugeVec::new(
        Opts::new(
            "hallq_pad_command_seconds",
            "A pad command's time in the server until each stage, over the last commands (at most 100 000)",
        ),
        &["stage", "quantile"],
    )
    .expect("valid metric");
    registry
        .register(Box::new(stages.clone()))
        .expect("unique metric");
    let kept: Vec<crate::engine::Stages> = state
        .engine
        .stages
        .lock()
        .expect("stages lock")
        .iter()
        .copied()
        .collect();
    if !kept.is_empty() {
        type Pick = fn(&crate::engine::Stages) -> Duration;
        let picks: [(&str, Pick); 6] = [
            ("queued", |s| s.queued),
            ("decided", |s| s.decided),
            ("committed", |s| s.committed),
            ("prepared", |s| s.prepared),
            ("published", |s| s.published),
            ("replied", |s| s.replied),
        ];
        for (stage, pick) in picks {
            let mut d: Vec<Duration> = kept.iter().map(pick).collect();
            d.sort_unstable();
            for q in [0.5, 0.9, 0.99] {
                let at = ((d.len() - 1) as f64 * q) as usize;
                stages
                    .with_label_values(&[stage, &q.to_string()])
                    .set(d[at].as_secs_f64());
            }
        }
    }
    Some(registry.gather())
}

/// The OpenAPI document of this API (`docs/openapi.json`).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// 200 while the hall answers and its log takes writes; 503 with the
/// reason otherwise (for the IT person's monitoring).
async fn healthz(State(state): State<AppState>) -> Response {
    let (ok, body) = hall_health(&state).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Whether the hall answers (within 2 s) and its log takes writes, and
/// what to say about it.
async fn hall_health(state: &AppState) -> (bool, serde_json::Value) {
    let storage = state.storage.borrow().clone();
    let seq = tokio::time::timeout(
        Duration::from_secs(2),
        state.engine.query_owner(|v| v.hall.seq()),
    )
    .await;
    match (seq, storage) {
        (Ok(Some(seq)), None) => (true, json!({"ok": true, "seq": seq})),
        (Ok(Some(seq)), Some(e)) => (
            false,
            json!({"ok": false, "seq": seq, "storage": format!("the event log refuses writes: {e}")}),
        ),
        (_, storage) => (
            false,
            json!({
                "ok": false,
                "error": {"code": "unavailable", "message": "服务暂不可用 / service unavailable"},
                "storage": storage.map(|e| format!("the event log refuses writes: {e}")),
            }),
        ),
    }
}
