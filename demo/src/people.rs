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
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: hallq\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Authorization: Basic {KIOSK_LOGIN}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let json = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(json).map_err(std::io::Error::other)
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
        let _ = pad.send(Op::Finish).await;
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
