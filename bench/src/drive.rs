//! What drives a server in the load benchmarks: devices that connect
//! and subscribe as their role does, pads that call, kiosks that take
//! tickets over HTTP, and waiting for the server to be up. Shared by
//! `hallq-load` and `hallq-city` (`#[path]`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hallq_client::Login;
use hallq_contract::Topic;
use rumqttc::{Event, Packet, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One device: logs in with its will, says it is online (retained),
/// subscribes to its window's state and the heartbeat, counts the states,
/// and stays.
pub async fn device(
    login: Login,
    role: &'static str,
    window: String,
    count: Arc<AtomicU64>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> anyhow::Result<()> {
    let presence = hallq_client::Presence {
        role,
        window: Some(window.clone()),
    };
    let (client, mut ev) = login.connect(&login.client_id("load"), Some(&presence));
    let me = login.clone();
    let state = Topic::WindowState(&window).to_string(&login.hall);
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut ready_tx = Some(ready_tx);
        let mut pending = 0;
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    pending = 2;
                    let _ = me.announce(&client, &presence).await;
                    let _ = client.subscribe(&state, QoS::AtLeastOnce).await;
                    let _ = client
                        .subscribe(Topic::Heartbeat.to_string(&me.hall), QoS::AtMostOnce)
                        .await;
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    pending -= 1;
                    if pending == 0
                        && let Some(r) = ready_tx.take()
                    {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == state && !p.retain => {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => {
                    if ready_tx.is_some() {
                        eprintln!("device: {e}");
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(60), ready)
        .await
        .map_err(|_| anyhow::anyhow!("{} did not subscribe in 60 s", login.user))??;
    drop(permit);
    Ok(())
}

/// A window's pad calling at `per_s` calls a second (each call followed by
/// `start` and `finish`).
pub async fn pad(
    login: Login,
    window: String,
    per_s: f64,
    stop: Arc<AtomicBool>,
    called: Arc<AtomicU64>,
) {
    let (client, mut ev) = login.connect(&login.client_id("load"), None);
    tokio::spawn(async move { while ev.poll().await.is_ok() {} });
    let topic = Topic::PadCmd(&window).to_string(&login.hall);
    let send = |i: u64, op: &str| {
        let body = format!(r#"{{"id":"l-{}-{i}","op":"{op}"}}"#, run_id());
        client.publish(topic.clone(), QoS::AtLeastOnce, false, body)
    };
    let _ = send(0, "open").await;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_s));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        for op in ["call_next", "start"] {
            i += 1;
            let _ = send(i, op).await;
        }
        called.fetch_add(1, Ordering::Relaxed);
    }
}

/// A kiosk of `hall` (its login `kiosk`, the demo's password) taking
/// tickets over one kept-alive HTTP connection.
pub async fn kiosk(
    http: u16,
    (hall, kiosk): (&str, &str),
    k: u32,
    per_s: f64,
    stop: Arc<AtomicBool>,
    issued: Arc<AtomicU64>,
) {
    let services = ["business", "property"];
    let Ok(mut conn) = tokio::net::TcpStream::connect(("127.0.0.1", http)).await else {
        return;
    };
    let _ = conn.set_nodelay(true);
    let auth = base64_basic(kiosk, "demo-kiosk-1-pass");
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_s));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; 16 * 1024];
    let mut i = k as usize;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        i += 1;
        let body = format!(r#"{{"service":"{}"}}"#, services[i % services.len()]);
        let req = format!(
            "POST /api/v1/halls/{hall}/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if conn.write_all(req.as_bytes()).await.is_err() {
            return;
        }
        // One response: headers, then Content-Length bytes.
        let mut got = Vec::new();
        loop {
            let Ok(n) = conn.read(&mut buf).await else {
                return;
            };
            if n == 0 {
                return;
            }
            got.extend_from_slice(&buf[..n]);
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if got.len() >= end + 4 + len {
                    if head.starts_with("http/1.1 200") || head.starts_with("http/1.1 201") {
                        issued.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
            }
        }
    }
}

pub fn base64_basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

/// This run's part of every command id: a server that kept an earlier
/// run's log (PostgreSQL) answers a repeated id with the remembered reply,
/// without doing it again.
pub fn run_id() -> u128 {
    static ID: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    *ID.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    })
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub async fn wait_healthy(http: u16) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Ok(mut c) = tokio::net::TcpStream::connect(("127.0.0.1", http)).await {
            let _ = c
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await;
            let mut s = String::new();
            let _ = c.read_to_string(&mut s).await;
            if s.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server did not become healthy in 30 s")
}

/// The measuring display: subscribed to `topic`, it stamps the arrival of
/// every message (and counts in `fresh` those not retained). Returns once
/// subscribed, with the stamps.
pub async fn measuring_display(
    login: Login,
    topic: String,
    fresh: Arc<AtomicU64>,
) -> anyhow::Result<tokio::sync::mpsc::UnboundedReceiver<std::time::Instant>> {
    let (tx, states) = tokio::sync::mpsc::unbounded_channel();
    let (client, mut ev) = login.connect(&login.client_id("measure"), None);
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut ready_tx = Some(ready_tx);
        while let Ok(e) = ev.poll().await {
            match e {
                Event::Incoming(Packet::ConnAck(_)) => {
                    let _ = client.subscribe(&topic, QoS::AtLeastOnce).await;
                }
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(r) = ready_tx.take() {
                        let _ = r.send(());
                    }
                }
                Event::Incoming(Packet::Publish(p)) if p.topic == topic => {
                    if !p.retain {
                        fresh.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = tx.send(std::time::Instant::now());
                }
                _ => {}
            }
        }
    });
    ready.await?;
    Ok(states)
}

/// The measuring pad: one command at a time (`call_next`, `start`,
/// `finish` in turn), each timed to the next state the measuring display
/// stamps (a count refresh may come in between; it is rare and only makes
/// a sample shorter, never longer). A command the hall refuses (a call on
/// an empty queue, then a start with no ticket) changes no state: it is
/// counted as refused, not timed — timed, it would wait for the next
/// coalesced count refresh (up to 500 ms) and pass for a stall.
pub struct MeasuringPad {
    client: rumqttc::AsyncClient,
    topic: String,
    /// Each reply's `ok`, in order.
    replies: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<bool>>,
}

/// What [`MeasuringPad::measure`] saw.
pub struct Measured {
    /// Sorted.
    pub samples: Vec<Duration>,
    /// Commands after which no state came within 2 s.
    pub misses: u32,
    /// Commands the hall refused (no state to wait for).
    pub refused: u32,
    /// How long it measured, in seconds.
    pub secs: f64,
}

impl Measured {
    /// The `p` quantile.
    pub fn q(&self, p: f64) -> Duration {
        self.samples[((self.samples.len() - 1) as f64 * p) as usize]
    }
}

impl MeasuringPad {
    /// Connects the pad of `window` and opens the window.
    pub async fn open(login: Login, window: &str) -> anyhow::Result<MeasuringPad> {
        let (client, mut ev) = login.connect(&login.client_id("measure"), None);
        let reply_topic = Topic::PadReply(window).to_string(&login.hall);
        let (tx, replies) = tokio::sync::mpsc::unbounded_channel();
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let (sub, subscribe) = (client.clone(), reply_topic.clone());
        tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = sub.try_subscribe(subscribe.clone(), QoS::AtLeastOnce);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(r) = ready_tx.take() {
                            let _ = r.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == reply_topic => {
                        let ok = serde_json::from_slice::<serde_json::Value>(&p.payload)
                            .is_ok_and(|v| v["ok"] == true);
                        let _ = tx.send(ok);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        ready.await?;
        let pad = MeasuringPad {
            client,
            topic: Topic::PadCmd(window).to_string(&login.hall),
            replies: tokio::sync::Mutex::new(replies),
        };
        pad.send(0, "open").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(pad)
    }

    async fn send(&self, i: u64, op: &str) -> anyhow::Result<()> {
        let body = format!(r#"{{"id":"m-{}-{i}","op":"{op}"}}"#, run_id());
        self.client
            .publish(self.topic.clone(), QoS::AtLeastOnce, false, body)
            .await?;
        Ok(())
    }

    /// Measures for `seconds`, `gap` between commands; `each_second` runs
    /// about once a second (to sample the server's memory).
    pub async fn measure(
        &self,
        states: &mut tokio::sync::mpsc::UnboundedReceiver<std::time::Instant>,
        seconds: u64,
        gap: Duration,
        mut each_second: impl FnMut(),
    ) -> anyhow::Result<Measured> {
        while states.try_recv().is_ok() {}
        let mut replies = self.replies.lock().await;
        while replies.try_recv().is_ok() {}
        let t0 = std::time::Instant::now();
        let (mut samples, mut misses, mut refused, mut i) = (Vec::new(), 0, 0, 0u64);
        let mut last = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(seconds) {
            let op = ["call_next", "start", "finish"][(i % 3) as usize];
            i += 1;
            while states.try_recv().is_ok() {}
            let t = std::time::Instant::now();
            self.send(i, op).await?;
            // The reply says whether a state is coming (states go out
            // before replies, but on another connection).
            let ok = tokio::time::timeout(Duration::from_secs(2), replies.recv()).await;
            if matches!(ok, Ok(Some(false))) {
                refused += 1;
                tokio::time::sleep(gap).await;
                continue;
            }
            match tokio::time::timeout(Duration::from_secs(2), states.recv()).await {
                Ok(Some(at)) => samples.push(at - t),
                _ => misses += 1,
            }
            if last.elapsed() > Duration::from_secs(1) {
                each_second();
                last = std::time::Instant::now();
            }
            tokio::time::sleep(gap).await;
        }
        anyhow::ensure!(!samples.is_empty(), "no call was measured");
        samples.sort();
        Ok(Measured {
            samples,
            misses,
            refused,
            secs: t0.elapsed().as_secs_f64(),
        })
    }
}
