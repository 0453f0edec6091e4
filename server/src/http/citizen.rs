//! Citizens' routes: take a ticket (or check a booking in), follow it, rate
//! it; book a slot. ID numbers are hashed here and never stored or logged.
//! Each counts against the public rate limit of its address, except for a
//! kiosk that logs in with its device credentials.

use axum::Json;
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hallq_core::{Command, CoreError, Millis};
use serde::Deserialize;

use super::auth::{Class, device};
use super::{ApiError, AppState, check_hall, json_body, parse_id};
use hallq_core::DeviceRole;

/// A kiosk's id when one logged in; otherwise the request counts against
/// the public limit `class` of its address.
fn kiosk_or_limited(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    class: Class,
) -> Result<Option<String>, ApiError> {
    let kiosk = device(state, peer.ip(), headers, DeviceRole::Kiosk)?;
    if kiosk.is_none() {
        state.limits.check(class, peer.ip())?;
    }
    Ok(kiosk)
}
use crate::engine::{IdempotencyKey, IssueError, new_token};

/// `POST …/tickets`.
#[derive(Debug, Deserialize)]
struct TakeTicket {
    /// Required unless `appointment` is given.
    service: Option<String>,
    /// A priority class id (e.g. `elderly`).
    priority: Option<String>,
    /// The citizen's ID number: counts against the daily quota per person.
    id_number: Option<String>,
    /// A booking's id: checks the booking in.
    appointment: Option<String>,
    /// A case code (受理回执): a pick-up ticket for its result (统一出件).
    case: Option<String>,
}

/// The hash of an ID number (18 or 15 characters: digits, a final X).
fn citizen(state: &AppState, id_number: &str) -> Result<String, ApiError> {
    let n = id_number.trim().to_ascii_uppercase();
    let b = n.as_bytes();
    let valid = (b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X'))
        || (b.len() == 15 && b.iter().all(u8::is_ascii_digit));
    if !valid {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_id_number",
            "身份证号格式不正确 / not a valid ID number",
        ));
    }
    let tag = ring::hmac::sign(&state.id_key, n.as_bytes());
    Ok(tag.as_ref().iter().map(|x| format!("{x:02x}")).collect())
}

pub(super) async fn take_ticket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hall): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let kiosk = kiosk_or_limited(&state, peer, &headers, Class::Write)?;
    let printer = kiosk
        .as_ref()
        .and_then(|k| state.printing.printers.get(k))
        .cloned();
    let key = idempotency_key(&headers, &scope(kiosk, peer), &body)?;
    let req: TakeTicket = json_body(&body)?;
    let token = new_token();
    let cmd = match (req.appointment, req.service) {
        _ if req.case.is_some() => Command::PickUp {
            case: req.case.unwrap_or_default().trim().to_owned(),
            token: token.clone(),
        },
        (Some(booking), _) => Command::CheckIn {
            booking,
            token: token.clone(),
        },
        (None, Some(service)) => Command::IssueTicket {
            service: parse_id(&service, CoreError::UnknownService)?,
            token: token.clone(),
            class: req
                .priority
                .as_deref()
                .map(|c| parse_id(c, CoreError::UnknownClass))
                .transpose()?,
            citizen: req
                .id_number
                .as_deref()
                .map(|n| citizen(&state, n))
                .transpose()?,
        },
        (None, None) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "须指定事项、预约或办件编号 / give a service, an appointment or a case code",
            ));
        }
    };
    let issued = issue(&state, cmd, token, key).await?;
    let mut print = None;
    if let Some((target, paper_mm)) = printer
        && !issued.replayed
    {
        print = Some(print_ticket(&state, &issued.ticket, &headers, target, paper_mm).await);
    }
    Ok(respond(issued, print))
}

/// Prints a kiosk's ticket on its printer: `{"ok": true}`, or why not (the
/// ticket is taken all the same; the kiosk shows it on screen).
async fn print_ticket(
    state: &AppState,
    t: &crate::views::TicketInfo,
    headers: &HeaderMap,
    target: crate::print::Target,
    paper_mm: u32,
) -> serde_json::Value {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.https { "https" } else { "http" };
    let url = match &state.printing.public_url {
        Some(base) => format!("{}{}/t/{}", base.trim_end_matches('/'), state.prefix, t.id),
        None => format!("{scheme}://{host}{}/t/{}", state.prefix, t.id),
    };
    let (day, minute) = hallq_core::calendar::local(t.issued_ms, state.printing.utc_offset_minutes);
    let issued = format!(
        "{} {:02}:{:02}",
        hallq_core::calendar::Date(day),
        minute / 60,
        minute % 60
    );
    let hall_name = state.printing.hall_name.clone();
    let (service_name, number, materials) = (
        t.service_name.clone(),
        t.number.clone(),
        t.materials.clone(),
    );
    let (ahead, estimate_min) = (t.ahead, t.estimated_wait_s.div_ceil(60));
    let done = tokio::task::spawn_blocking(move || {
        let slip = crate::print::Slip {
            hall_name: &hall_name,
            service_name: &service_name,
            number: &number,
            issued: &issued,
            ahead,
            estimate_min,
            materials: &materials,
            url: &url,
        };
        let bytes = crate::print::render(&slip, paper_mm).map_err(|e| e.to_string())?;
        crate::print::send(&target, &bytes).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match done {
        Ok(()) => serde_json::json!({ "ok": true }),
        Err(e) => {
            tracing::warn!(error = %e, "the kiosk's printer did not print");
            serde_json::json!({
                "ok": false,
                "error": format!("打印机故障，请记下号码或扫码 / the printer failed: {e}"),
            })
        }
    }
}

/// Whose idempotency keys these are: a kiosk's own, or for the public those
/// of one address — so a stranger who guesses another's key gets nothing of
/// theirs (a replay answers the ticket with its opaque id).
fn scope(kiosk: Option<String>, peer: SocketAddr) -> String {
    kiosk.unwrap_or_else(|| format!("public@{}", peer.ip()))
}

/// The `Idempotency-Key` header (the IETF draft's name), if any: 1 to 128
/// visible ASCII characters, bound to `scope` and to the body's digest.
fn idempotency_key(
    headers: &HeaderMap,
    scope: &str,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_idempotency_key",
                "Idempotency-Key 须为 1–128 个可见 ASCII 字符 / Idempotency-Key: 1 to 128 visible ASCII characters",
            )
        })?;
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    Ok(Some(IdempotencyKey {
        scope: scope.to_owned(),
        key: key.to_owned(),
        fingerprint: digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    }))
}

/// Runs a command that issues the ticket `token`; for a repeated
/// idempotency key, the first ticket again.
async fn issue(
    state: &AppState,
    cmd: Command,
    token: String,
    key: Option<IdempotencyKey>,
) -> Result<crate::engine::Issued, ApiError> {
    match state.engine.issue(cmd, token, key).await {
        None => Err(state.unavailable()),
        Some(Ok(mut issued)) => {
            forecast(state, &mut issued.ticket).await;
            Ok(issued)
        }
        Some(Err(IssueError::Core(e))) => Err(e.into()),
        Some(Err(IssueError::KeyReused)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "此 Idempotency-Key 已用于另一请求 / this Idempotency-Key was used for another request",
        )),
    }
}

/// 201 with the ticket (and how its printing went); a replay is marked by
/// the `Idempotent-Replayed: true` header.
fn respond(issued: crate::engine::Issued, print: Option<serde_json::Value>) -> Response {
    let mut body = serde_json::to_value(&issued.ticket).expect("ticket serializes");
    if let Some(p) = print {
        body["print"] = p;
    }
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    if issued.replayed {
        r.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    r
}

pub(super) async fn ticket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((hall, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    kiosk_or_limited(&state, peer, &headers, Class::Read)?;
    match state
        .engine
        .query(move |v| v.ticket_by_token(&id))
        .await
        .ok_or_else(|| state.unavailable())?
    {
        Some(mut t) => {
            forecast(&state, &mut t).await;
            Ok(Json(t).into_response())
        }
        None => Err(CoreError::UnknownTicket.into()),
    }
}

/// A waiting ticket's estimate from the hall's forecast, when it has one.
async fn forecast(state: &AppState, t: &mut crate::views::TicketInfo) {
    if t.status != hallq_core::TicketState::Waiting {
        return;
    }
    if let Some(f) = &state.forecaster
        && let Some((low, mean, high)) = f.of(&t.id).await
    {
        t.estimated_wait_s = mean;
        t.wait_range_s = Some([low, high]);
    }
}

/// `POST …/tickets/{id}/rating`: `{"score": 1..5}` (5 非常满意 … 1 非常不满意).
#[derive(Debug, Deserialize)]
struct Rate {
    score: u8,
}

pub(super) async fn rate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((hall, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    kiosk_or_limited(&state, peer, &headers, Class::Write)?;
    let req: Rate = json_body(&body)?;
    // Only the ticket's holder (who has its opaque id) rates over HTTP: a
    // ticket number alone is not enough here.
    let known = state.engine.query({
        let id = id.clone();
        move |v| v.hall.ticket_by_token(&id).is_some()
    });
    if !known.await.ok_or_else(|| state.unavailable())? {
        return Err(CoreError::UnknownTicket.into());
    }
    let cmd = Command::Rate {
        ticket: id.clone(),
        window: None,
        score: req.score,
    };
    let ticket = state
        .engine
        .command(cmd, move |v, _| v.ticket_by_token(&id))
        .await
        .ok_or_else(|| state.unavailable())??;
    Ok((StatusCode::CREATED, Json(ticket)).into_response())
}

/// `POST …/bookings`.
#[derive(Debug, Deserialize)]
struct Book {
    service: String,
    id_number: String,
    /// Start of the slot, milliseconds since the Unix epoch.
    slot_ms: Millis,
}

pub(super) async fn book(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(hall): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    kiosk_or_limited(&state, peer, &headers, Class::Write)?;
    let req: Book = json_body(&body)?;
    let token = new_token();
    let cmd = Command::Book {
        token: token.clone(),
        service: parse_id(&req.service, CoreError::UnknownService)?,
        slot_ms: req.slot_ms,
        citizen: citizen(&state, &req.id_number)?,
    };
    let booking = state
        .engine
        .command(cmd, move |v, _| {
            v.booking_info(&token, v.hall.booking(&token).expect("just booked"))
        })
        .await
        .ok_or_else(|| state.unavailable())??;
    Ok((StatusCode::CREATED, Json(booking)).into_response())
}

pub(super) async fn booking(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((hall, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    kiosk_or_limited(&state, peer, &headers, Class::Read)?;
    let found = state
        .engine
        .query(move |v| v.hall.booking(&id).map(|b| v.booking_info(&id, b)))
        .await
        .ok_or_else(|| state.unavailable())?;
    found
        .map(|b| Json(b).into_response())
        .ok_or_else(|| CoreError::UnknownBooking.into())
}

pub(super) async fn check_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((hall, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    let kiosk = kiosk_or_limited(&state, peer, &headers, Class::Write)?;
    let key = idempotency_key(&headers, &scope(kiosk, peer), id.as_bytes())?;
    let token = new_token();
    let cmd = Command::CheckIn {
        booking: id,
        token: token.clone(),
    };
    Ok(respond(issue(&state, cmd, token, key).await?, None))
}

/// `DELETE …/bookings/{id}`: the citizen calls a booking off before its
/// slot; its place is free again and it is no no-show.
pub(super) async fn cancel_booking(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((hall, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    kiosk_or_limited(&state, peer, &headers, Class::Write)?;
    let cmd = Command::CancelBooking {
        booking: id.clone(),
    };
    let booking = state
        .engine
        .command(cmd, move |v, _| {
            v.hall.booking(&id).map(|b| v.booking_info(&id, b))
        })
        .await
        .ok_or_else(|| state.unavailable())??;
    Ok(Json(booking).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct SlotQuery {
    /// `YYYY-MM-DD`.
    date: String,
}

/// `GET …/services/{service}/slots?date=YYYY-MM-DD`: the slots of that day
/// that can be booked now, with the places left.
pub(super) async fn slots(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((hall, service)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<SlotQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_hall(&state, &hall)?;
    kiosk_or_limited(&state, peer, &headers, Class::Read)?;
    let day = crate::report::parse_date(&q.date).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_date",
            "日期格式应为 YYYY-MM-DD / the date must be YYYY-MM-DD",
        )
    })?;
    let service = parse_id(&service, CoreError::UnknownService)?;
    let date = q.date.clone();
    let slots = state
        .engine
        .query(move |v| {
            let offset = v.hall.config().hall.utc_offset_minutes;
            let slot_min = i64::from(v.hall.config().booking.slot_min);
            v.hall.free_slots(&service, day, v.now).map(|slots| {
                let list: Vec<serde_json::Value> = slots
                    .into_iter()
                    .map(|(ms, free)| {
                        let (_, m) = hallq_core::calendar::local(ms, offset);
                        serde_json::json!({
                            "slot_ms": ms,
                            "slot_end_ms": ms + slot_min * 60_000,
                            "time": format!("{:02}:{:02}", m / 60, m % 60),
                            "free": free,
                        })
                    })
                    .collect();
                serde_json::json!({ "service": service.to_string(), "date": date, "slots": list })
            })
        })
        .await
        .ok_or_else(|| state.unavailable())??;
    Ok(Json(slots).into_response())
}
