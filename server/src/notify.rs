//! Notifications for the hall's SMS or WeChat gateway: when a waiting ticket
//! is `places_before` or fewer from its turn, when it is called, when it
//! is transferred, and when the case accepted from it is ready, needs more
//! material or was posted, hallq POSTs a signed JSON to the configured URL.
//!
//! The notifications of a commit are computed on the owner thread from the
//! new records and the hall right after them, and stored in the same SQLite
//! transaction as the records (the `outbox` table, keyed): a crash loses
//! none, and a key is stored once, so none is sent twice by hallq's doing. A
//! sender task delivers them in order, retrying with backoff (1 s doubling
//! to 10 min) until the gateway answers 2xx; a restart takes up where it
//! stopped.
//!
//! The request: `POST url`, `Content-Type: application/json`,
//! `X-Hallq-Timestamp: <unix ms>`, `X-Hallq-Signature: sha256=<hex of
//! HMAC-SHA256(secret, timestamp + "." + body)>`, `X-Hallq-Key: <key>` (the
//! same on a retry: the gateway may drop a repeat it already handled).

use std::path::Path;
use std::time::Duration;

use hallq_core::{Event, Hall, Millis, Record, TicketState};
use serde::Serialize;

/// One notification, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Unique per fact: `near:{ticket}`, `called:{ticket}:{seq}`,
    /// `transferred:{ticket}:{seq}`.
    pub key: String,
    pub at_ms: Millis,
    pub body: String,
}

/// The JSON a gateway receives.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Payload {
    /// `near`, `called` or `transferred`.
    pub kind: &'static str,
    pub hall: String,
    /// The ticket's public handle (the phone page is `/t/{ticket}`).
    pub ticket: String,
    pub number: String,
    pub service: String,
    pub service_name: String,
    /// `near`: how many are ahead now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u32>,
    /// `called`: where to go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall: Option<bool>,
    /// `case`: the case accepted from the ticket, and the line for the
    /// citizen ("办结，请到 11号窗口 取件", "请补正材料：…", "已邮寄：…").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<hallq_core::CaseState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub at_ms: Millis,
}

/// The notifications that `records` (just applied to `hall`) cause.
pub fn compute(hall: &Hall, records: &[Record], places_before: u32) -> Vec<Notification> {
    let cfg = hall.config();
    let mut out = Vec::new();
    let Some(last) = records.last() else {
        return out;
    };
    let payload = |kind: &'static str, t: &hallq_core::Ticket, at_ms: Millis| Payload {
        kind,
        hall: cfg.hall.id.to_string(),
        ticket: t.token.clone(),
        number: t.number.clone(),
        service: t.service.to_string(),
        service_name: cfg
            .service(t.service.as_str())
            .map_or_else(|| t.service.to_string(), |s| s.name.clone()),
        ahead: None,
        window: None,
        window_name: None,
        recall: None,
        case: None,
        state: None,
        message: None,
        at_ms,
    };
    let mut push = |key: String, p: Payload| {
        out.push(Notification {
            key,
            at_ms: p.at_ms,
            body: serde_json::to_string(&p).expect("payload serializes"),
        })
    };
    for r in records {
        match &r.event {
            Event::TicketCalled {
                ticket,
                window,
                recall,
                ..
            } => {
                let Some(t) = hall.ticket(*ticket) else {
                    continue;
                };
                let mut p = payload("called", t, r.at_ms);
                p.window = Some(window.to_string());
                p.window_name = cfg.window(window.as_str()).map(|w| w.name.clone());
                p.recall = Some(*recall);
                push(format!("called:{}:{}", t.token, r.seq), p);
            }
            Event::TicketTransferred { ticket, .. } => {
                let Some(t) = hall.ticket(*ticket) else {
                    continue;
                };
                push(
                    format!("transferred:{}:{}", t.token, r.seq),
                    payload("transferred", t, r.at_ms),
                );
            }
            // A case the citizen must hear of: ready for pick-up, material
            // missing, sent by post.
            Event::CaseStep { case, action, .. }
                if matches!(
                    action,
                    hallq_core::CaseAction::Ready
                        | hallq_core::CaseAction::NeedMaterial
                        | hallq_core::CaseAction::Express { .. }
                ) =>
            {
                let Some(c) = hall.case(case) else { continue };
                let Some(t) = hall.ticket_by_token(&c.token) else {
                    continue;
                };
                let views = crate::views::Views { hall, now: r.at_ms };
                let mut p = payload("case", t, r.at_ms);
                p.case = Some(case.clone());
                p.state = Some(match action {
                    hallq_core::CaseAction::Ready => hallq_core::CaseState::Ready,
                    hallq_core::CaseAction::NeedMaterial => hallq_core::CaseState::NeedsMaterial,
                    _ => hallq_core::CaseState::Delivered,
                });
                p.message = views.citizen_case(&c.token).map(|v| v.message);
                push(format!("case:{case}:{}", r.seq), p);
            }
            Event::QueueMoved { tickets, .. } => {
                for id in tickets {
                    let Some(t) = hall.ticket(*id) else { continue };
                    push(
                        format!("transferred:{}:{}", t.token, r.seq),
                        payload("transferred", t, r.at_ms),
                    );
                }
            }
            _ => {}
        }
    }
    // Near its turn: every waiting ticket with few enough ahead, once per
    // ticket (the key), whatever brought it there.
    if places_before > 0 {
        for t in hall.live_tickets() {
            if t.state != TicketState::Waiting {
                continue;
            }
            let ahead = hall.place(t).ahead;
            if ahead <= places_before {
                let mut p = payload("near", t, last.at_ms);
                p.ahead = Some(ahead);
                push(format!("near:{}", t.token), p);
            }
        }
    }
    out
}

/// The signature header's value for a body sent at `timestamp_ms`.
pub fn sign(secret: &str, timestamp_ms: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp_ms}.{body}").as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Delivers the outbox of `db` to `url` until the process ends.
pub fn spawn_sender(db: &Path, url: String, secret: String) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let target: hyper::Uri = url.parse()?;
    if target.scheme_str() != Some("http") {
        anyhow::bail!("notify.url must be http:// (put a TLS relay in front of an https gateway)");
    }
    tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Handle::current();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
        loop {
            let now = hallq_client::now_ms();
            let due: Vec<(String, String, i64)> = conn
                .prepare_cached(
                    "SELECT key, body, attempts FROM outbox WHERE sent_ms IS NULL AND next_ms <= ?1 ORDER BY at_ms, key LIMIT 50",
                )
                .and_then(|mut s| {
                    s.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect()
                })
                .unwrap_or_default();
            if due.is_empty() {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            for (key, body, attempts) in due {
                let ts = hallq_client::now_ms();
                let req = hyper::Request::post(target.clone())
                    .header("content-type", "application/json")
                    .header("x-hallq-timestamp", ts.to_string())
                    .header("x-hallq-signature", sign(&secret, ts, &body))
                    .header("x-hallq-key", key.clone())
                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    .expect("a request");
                let sent = rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(10), client.request(req)).await
                });
                let ok = matches!(&sent, Ok(Ok(r)) if r.status().is_success());
                let done = if ok {
                    conn.execute(
                        "UPDATE outbox SET sent_ms = ?2, attempts = attempts + 1 WHERE key = ?1",
                        rusqlite::params![key, ts],
                    )
                } else {
                    let wait = (1000i64 << attempts.min(10)).min(600_000);
                    tracing::warn!(
                        key,
                        attempts = attempts + 1,
                        "the notification gateway did not take it; retrying"
                    );
                    conn.execute(
                        "UPDATE outbox SET attempts = attempts + 1, next_ms = ?2 WHERE key = ?1",
                        rusqlite::params![key, ts + wait],
                    )
                };
                if let Err(e) = done {
                    tracing::warn!(error = %e, "outbox bookkeeping failed");
                }
                if !ok {
                    break;
                }
            }
        }
    });
    Ok(())
}
