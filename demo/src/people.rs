//! The simulated people of the demo hall: citizens arriving by the day's
//! pattern and service mix (DEMO-HALL.md), clerks working their windows.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use hallq_client::Login;
use hallq_contract::payload::Op;
use hallq_core::HallConfig;
use hallq_demo::DayPattern;
use hallq_pad::Pad;
use rand::Rng;

/// Simulated time: `speed` simulated seconds per real second.
#[derive(Debug, Clone)]
pub struct Clock {
    speed: f64,
}

impl Clock {
    pub fn new(speed: f64) -> Clock {
        Clock {
            speed: speed.max(0.1),
        }
    }

    /// Sleeps for `minutes` of simulated time.
    pub async fn minutes(&self, minutes: f64) {
        tokio::time::sleep(Duration::from_secs_f64(
            (minutes * 60.0 / self.speed).max(0.0),
        ))
        .await;
    }
}

/// Citizens taking tickets over HTTP, forever, as in the day's busiest
/// hour (the morning surge, so queues build).
pub async fn citizens(
    http: SocketAddr,
    hall: String,
    clock: Clock,
    config: HallConfig,
    day: DayPattern,
) {
    let per_hour = day.peak_per_hour().max(1.0);
    loop {
        let (gap, service, priority) = {
            let mut rng = rand::rng();
            let gap = -(1.0 - rng.random::<f64>()).ln() * 60.0 / per_hour;
            let service = day.service(rng.random()).to_owned();
            let priority = (rng.random::<f64>() < day.citizens.priority)
                .then(|| ["elderly", "disabled", "military"][rng.random_range(0..3)]);
            (gap, service, priority)
        };
        clock.minutes(gap).await;
        if config.service(&service).is_none() {
            continue;
        }
        let body = match priority.filter(|p| config.class(p).is_some()) {
            Some(p) => format!(r#"{{"service":"{service}","priority":"{p}"}}"#),
            None => format!(r#"{{"service":"{service}"}}"#),
        };
        let path = format!("/api/v1/halls/{hall}/tickets");
        match tokio::task::spawn_blocking(move || post(http, &path, &body)).await {
            Ok(Ok(t)) => println!(
                "🎫 取号 {} {}  前面 {} 人, 约 {} 分钟 / ticket taken",
                t["number"].as_str().unwrap_or("?"),
                t["service_name"].as_str().unwrap_or(""),
                t["ahead"],
                t["estimated_wait_s"].as_u64().unwrap_or(0) / 60
            ),
            Ok(Err(e)) => eprintln!("citizen: {e}"),
            Err(e) => eprintln!("citizen: {e}"),
        }
    }
}

/// `kiosk-1:demo-kiosk-1-pass`, base64: the demo hall's kiosk login.
const KIOSK_LOGIN: &str = "a2lvc2stMTpkZW1vLWtpb3NrLTEtcGFzcw==";

/// A tiny HTTP POST: the citizens' kiosk.
fn post(addr: SocketAddr, path: &str, body: &str) -> std::io::Result<serde_json::Value> {
    let auth = format!("Basic {KIOSK_LOGIN}");
    request(addr, "POST", path, &[("Authorization", &auth)], Some(body)).map(|(_, _, v)| v)
}

/// One HTTP/1.1 request: status, head, JSON body (null if none).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String, serde_json::Value)> {
    let mut s = TcpStream::connect(addr)?;
    let body = body.unwrap_or("");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: hallq\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         {extra}Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, json) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let value = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    Ok((status, head.to_owned(), value))
}

/// `approval:demo-approval-pass`, base64: the departments' approval system.
const APPROVAL_LOGIN: &str = "YXBwcm92YWw6ZGVtby1hcHByb3ZhbC1wYXNz";

/// The back office at work, every half hour of simulated time: it takes
/// new cases up and decides those in review (through the approval
/// system's route, idempotent by key), sends results to window 11 or by
/// post; applicants whose result is ready come for it with a pick-up
/// ticket (the kiosk, with the case code).
pub async fn back_office(http: SocketAddr, hall: String, clock: Clock) {
    // The history's cases keep their state (and cards) for the manager to
    // see; the back office works the cases accepted since the demo began.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let cookie = loop {
        let body = r#"{"id":"officer","password":"demo-officer-pass"}"#;
        let r = tokio::task::spawn_blocking(move || {
            request(http, "POST", "/api/v1/login", &[], Some(body))
        })
        .await;
        if let Ok(Ok((200, head, _))) = r
            && let Some(c) = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("set-cookie:")
                    .then(|| l[11..].trim().split(';').next().unwrap_or("").to_owned())
            })
        {
            break c;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let mut n = 0u64;
    loop {
        clock.minutes(30.0).await;
        let (cookie, hall) = (cookie.clone(), hall.clone());
        let work = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<String>> {
            let path = format!("/api/v1/halls/{hall}/cases");
            let (_, _, list) = request(http, "GET", &path, &[("Cookie", &cookie)], None)?;
            let mut said = Vec::new();
            let live = list["cases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["accepted_ms"].as_i64().unwrap_or(0) >= started);
            for c in live {
                let code = c["code"].as_str().unwrap_or_default();
                let roll = rand::rng().random::<f64>();
                let (action, via_system) = match c["state"].as_str() {
                    Some("accepted") => (r#"{"action":"review"}"#.to_owned(), false),
                    Some("in_review") if roll < 0.05 => (
                        r#"{"action":"refuse","note":"不符合法定条件 / conditions not met"}"#
                            .to_owned(),
                        false,
                    ),
                    Some("in_review") if roll < 0.5 => (r#"{"action":"approve"}"#.to_owned(), true),
                    Some("decided") if roll < 0.25 => (
                        format!(
                            r#"{{"action":"express","carrier":"EMS","tracking":"11{:011}"}}"#,
                            rand::rng().random_range(0..100_000_000_000u64)
                        ),
                        false,
                    ),
                    Some("decided") => (r#"{"action":"ready"}"#.to_owned(), false),
                    Some("ready") if roll < 0.5 => {
                        let body = format!(r#"{{"case":"{code}"}}"#);
                        let t = post(http, &format!("/api/v1/halls/{hall}/tickets"), &body)?;
                        if let Some(number) = t["number"].as_str() {
                            said.push(format!("🎫 取件 {number} / pick-up ticket for case {code}"));
                        }
                        continue;
                    }
                    _ => continue,
                };
                let path = format!("/api/v1/halls/{hall}/cases/{code}");
                let (status, _, v) = if via_system {
                    let key = format!("demo-{code}-{}", c["steps"].as_array().map_or(0, Vec::len));
                    request(
                        http,
                        "POST",
                        &format!("/api/v1/halls/{hall}/integration/cases/{code}"),
                        &[
                            ("Authorization", &format!("Basic {APPROVAL_LOGIN}")),
                            ("Idempotency-Key", &key),
                        ],
                        Some(&action),
                    )?
                } else {
                    request(http, "POST", &path, &[("Cookie", &cookie)], Some(&action))?
                };
                if status == 200 {
                    said.push(format!(
                        "🏛 办件 {code} {} → {}",
                        c["service_name"].as_str().unwrap_or(""),
                        v["state_name"].as_str().unwrap_or("")
                    ));
                }
            }
            Ok(said)
        })
        .await;
        if let Ok(Ok(said)) = work {
            n += 1;
            // The history's hundreds of cases would fill the terminal:
            // a few lines a round.
            for line in said.iter().take(if n == 1 { 3 } else { 5 }) {
                println!("{line}");
            }
            if said.len() > 5 {
                println!("🏛 … {} more case changes", said.len() - 5);
            }
        }
    }
}

/// A service time in minutes: log-normal around the service's typical time.
fn service_minutes(typical: u32) -> f64 {
    let mut rng = rand::rng();
    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-9), rng.random());
    let normal = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    f64::from(typical) * (0.45 * normal - 0.1).exp()
}

/// A clerk at a window: opens it, then calls, serves and finishes, forever;
/// hands a tenth of consultations on to another service; the citizen rates
/// most services on the window's rating pad (`rating`: its login).
pub async fn clerk(
    login: Login,
    rating: Option<Login>,
    window: String,
    clock: Clock,
    config: HallConfig,
    day: DayPattern,
) {
    let rating_pad = rating.map(|l| {
        let (client, mut ev) = l.connect(&l.client_id("demo"), None);
        tokio::spawn(async move { while ev.poll().await.is_ok() {} });
        (
            client,
            hallq_contract::Topic::Rating(&window).to_string(&l.hall),
        )
    });
    let mut pad = loop {
        match Pad::connect(&login, &window).await {
            Ok(p) => break p,
            Err(e) => {
                eprintln!("pad {window}: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    // Clerks arrive one by one.
    let arrive = rand::rng().random_range(0.0..3.0);
    clock.minutes(arrive).await;
    let clerk = format!("clerk-{window}");
    let _ = pad
        .send(Op::Open {
            clerk: Some(clerk),
            pin: None,
        })
        .await;
    loop {
        let reply = match pad.send(Op::CallNext { service: None }).await {
            Ok(r) => r,
            Err(_) => {
                clock.minutes(1.0).await;
                continue;
            }
        };
        let Some(ticket) = reply.ticket.filter(|_| reply.ok) else {
            if reply
                .error
                .as_ref()
                .is_some_and(|e| e.code == "ticket_called")
            {
                let _ = pad.send(Op::NoShow).await;
            }
            clock.minutes(2.0).await;
            continue;
        };
        clock.minutes(0.7).await;
        let no_show = rand::rng().random::<f64>() < day.citizens.no_show;
        if no_show {
            let _ = pad.send(Op::Recall).await;
            clock.minutes(1.5).await;
            let _ = pad.send(Op::NoShow).await;
            continue;
        }
        let _ = pad.send(Op::Start).await;
        let typical = ticket
            .service
            .as_deref()
            .and_then(|s| config.service(s))
            .map(|s| s.typical_min)
            .unwrap_or(10);
        clock.minutes(service_minutes(typical)).await;
        let consult = ticket.service.as_deref() == Some("consult");
        let hand_on = consult && rand::rng().random::<f64>() < day.citizens.consult_handed_on;
        if hand_on {
            let to = ["business", "property", "social"][rand::rng().random_range(0..3)];
            let op = Op::Transfer {
                to_service: Some(to.into()),
                to_window: None,
                note: Some("咨询后转办".into()),
            };
            if pad.send(op).await.is_ok_and(|r| r.ok) {
                println!(
                    "↪ {} 转办 / handed on → {to}  (首问负责: {}号窗口)",
                    ticket.number, window
                );
            }
            continue;
        }
        // 承诺件: some applications are accepted as a case (受理) for the
        // back office to decide.
        let case_service = ticket
            .service
            .as_deref()
            .and_then(|s| config.service(s))
            .is_some_and(|s| s.limit_days > 0);
        let accept_share = day.cases.as_ref().map_or(0.0, |c| c.accept_share);
        if case_service && rand::rng().random::<f64>() < accept_share {
            if let Ok(r) = pad.send(Op::Accept).await
                && let Some(code) = r.case
            {
                println!(
                    "📋 {} 受理 / accepted as case {code} at {}号窗口",
                    ticket.number, window
                );
            }
        } else {
            let _ = pad.send(Op::Finish).await;
        }
        let rates = rand::rng().random::<f64>() < day.citizens.rating;
        if let (true, Some((client, topic))) = (rates, &rating_pad) {
            let score = [5, 5, 5, 4, 4, 3, 2][rand::rng().random_range(0..7)];
            let msg = format!(
                r#"{{"id":"{}-r","ticket":"{}","score":{score}}}"#,
                ticket.number, ticket.number
            );
            let _ = client
                .publish(topic.as_str(), rumqttc::QoS::AtLeastOnce, false, msg)
                .await;
        }
        clock.minutes(0.3).await;
    }
}
