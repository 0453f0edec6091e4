//! `hallq-bench`: how fast a clerk's press reaches the LED.
//!
//! Starts a whole server in this process (embedded broker on a loopback
//! port, SQLite log in a temporary folder with `synchronous=FULL`), then
//! measures, one message at a time, with TCP_NODELAY clients:
//!
//! 1. raw broker round trip: a client publishes (QoS 1) on its own status
//!    topic and receives it back — one broker hop each way;
//! 2. pad command → display state: the pad publishes `call_next` / `start` /
//!    `finish` on `pad/3/cmd`; the clock stops when the display receives
//!    the new retained `window/3/state` — broker, server, durable commit,
//!    broker.
//!
//! Run: `cargo run --release -p hallq-bench [-- --samples 3000]`.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use hallq_client::Login;
use hallq_contract::Topic;
use hallq_core::{Event as HallEvent, Record};
use hallq_server::engine::Stages;
use hallq_server::store::{Batch, EventStore, SqliteStore};
use hallq_server::{BrokerMode, Options, config};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio::sync::mpsc;

mod relay;

#[derive(Debug, Parser)]
struct Args {
    /// Measured messages per figure.
    #[arg(long, default_value_t = 3000)]
    samples: usize,
    /// Put the log in a fresh folder under here (default: the system temp
    /// folder), to measure the disk the hall will really use.
    #[arg(long)]
    data_under: Option<std::path::PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Warnings only (RUST_LOG to see more): a benchmark's output is its figures.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let n = args.samples;
    let dir = match &args.data_under {
        Some(base) => tempfile::tempdir_in(base)?,
        None => tempfile::tempdir()?,
    };
    let mut hall =
        config::load_hall(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml"))?;
    // A benchmark issues far more tickets than a day's caps allow.
    for svc in &mut hall.services {
        svc.daily_cap = 0;
    }
    let running = hallq_server::start(Options {
        halls: vec![hall],
        unreadable: Vec::new(),
        node: None,
        data_dir: dir.path().to_owned(),
        http: "127.0.0.1:0".parse()?,
        broker: BrokerMode::Embedded("127.0.0.1:0".parse()?),
        always_open: true,
        demo: true,
        public_writes_per_minute: hallq_server::PUBLIC_WRITES_PER_MINUTE,
        public_reads_per_minute: hallq_server::PUBLIC_READS_PER_MINUTE,
        tls: None,
        mqtt_tls: "127.0.0.1:0".parse()?,
        tls_only: false,
        staff: Default::default(),
        store: None,
        accept_broken_log: false,
    })
    .await?;
    let login = |user: &str, password: &str| Login {
        host: "127.0.0.1".into(),
        port: running.mqtt.expect("plain MQTT").port(),
        hall: "xuchang".into(),
        user: user.into(),
        password: password.into(),
        tls: None,
    };
    // Enough tickets for every call_next (one in three of n + 30 commands).
    for _ in 0..(n + 30) / 3 + 10 {
        running
            .engine
            .take("business")
            .await
            .expect("engine")
            .expect("ticket");
    }
    println!(
        "hallq-bench: {n} samples per figure; server in-process, SQLite WAL synchronous=FULL in {}",
        dir.path().display()
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9}",
        "", "p50", "p90", "p99", "max"
    );

    // 1. Raw broker round trip.
    let manager = login("manager", "demo-manager-pass");
    let own = manager.status_topic();
    let (client, mut rx) = subscriber(&manager, &own).await;
    let mut raw = Vec::with_capacity(n);
    for i in 0..n + 100 {
        let t = Instant::now();
        client
            .publish(
                &own,
                QoS::AtLeastOnce,
                false,
                format!("{{\"online\":true,\"role\":\"manager\",\"i\":{i}}}"),
            )
            .await?;
        rx.recv().await.expect("echo");
        if i >= 100 {
            raw.push(t.elapsed());
        }
    }
    report("broker publish→subscribe round trip (QoS 1)", &mut raw);

    // The announcer, in-process, headless, not waiting out the audio: the
    // calls of figure 2 are said as they come.
    let (said_tx, mut said) = tokio::sync::mpsc::unbounded_channel();
    let announcer = hallq_announcer::Options {
        login: login("voice-1", "demo-voice-pass"),
        pack: hallq_announcer::pack::Pack::load(&hallq_announcer::pack::default_pack_dir())?,
        style: hallq_announcer::speech::NumberStyle::Digits,
        settings: hallq_announcer::queue::Settings {
            repeats: 1,
            backlog: usize::MAX,
            max_age_ms: 60_000,
        },
        volume: 1.0,
        volume_spans: Vec::new(),
        quiet: None,
        zones: Vec::new(),
        windows: Vec::new(),
        realtime: false,
    };
    tokio::spawn(hallq_announcer::run(announcer, Box::new(Capture(said_tx))));
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 2. Pad command → display state, against the peer baseline (a
    // one-thread relay with an fsynced line per command, behind its own
    // instance of the same broker), in alternating rounds so both see the
    // same machine.
    let relay_port = relay::broker("xuchang").await?.port();
    let relay_login = |user: &str, password: &str| Login {
        port: relay_port,
        ..login(user, password)
    };
    relay::spawn(
        relay_login("relay", "relay-pass"),
        &dir.path().join("relay.log"),
    )?;
    let mut relay_loop = PadLoop::start(
        &relay_login("pad-3", "pad-pass"),
        &relay_login("led-3", "led-pass"),
        &["call_next"],
        false,
    )
    .await?;
    // The issue's ground: the one-file Python relay, behind a third
    // instance of the broker, when Debian's python3-paho-mqtt is there.
    let py_port = relay::broker("xuchang").await?.port();
    let py_login = |user: &str, password: &str| Login {
        port: py_port,
        ..login(user, password)
    };
    let mut py_loop = match relay::spawn_python(
        &py_login("relay", "relay-pass"),
        &dir.path().join("relay-py.log"),
    ) {
        Ok(child) => Some((
            child,
            PadLoop::start(
                &py_login("pad-3", "pad-pass"),
                &py_login("led-3", "led-pass"),
                &["call_next"],
                false,
            )
            .await?,
        )),
        Err(why) => {
            println!("(the Python relay is left out: {why}; apt-get install python3-paho-mqtt)");
            None
        }
    };
    let mut hallq_loop = PadLoop::start(
        &login("pad-3", "demo-pad-3-pass"),
        &login("led-3", "demo-led-3-pass"),
        &["call_next", "start", "finish"],
        true,
    )
    .await?;
    hallq_loop.send("open").await?;
    let (mut e2e, mut peer) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut py = Vec::with_capacity(n);
    for _ in 0..30 {
        relay_loop.once().await?;
        if let Some((_, l)) = &mut py_loop {
            l.once().await?;
        }
        hallq_loop.once().await?;
    }
    running.engine.stages.lock().expect("stages").clear();
    const ROUNDS: usize = 10;
    for round in 0..ROUNDS {
        let k = n / ROUNDS + usize::from(round < n % ROUNDS);
        for _ in 0..k {
            peer.push(relay_loop.once().await?);
        }
        if let Some((_, l)) = &mut py_loop {
            for _ in 0..k {
                py.push(l.once().await?);
            }
        }
        for _ in 0..k {
            e2e.push(hallq_loop.once().await?);
        }
    }
    if let Some((mut child, _)) = py_loop.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let (p50, p99) = (median(&mut peer), quantile(&mut peer, 0.99));
    report("peer relay: pad command → display state", &mut peer);
    report("pad command → display state (durable commit)", &mut e2e);
    println!(
        "{:<44} {:>9.2} {:>9} {:>9.2}",
        "  hallq ÷ peer relay",
        median(&mut e2e).as_secs_f64() / p50.as_secs_f64(),
        "",
        quantile(&mut e2e, 0.99).as_secs_f64() / p99.as_secs_f64()
    );
    if !py.is_empty() {
        let (p50, p99) = (median(&mut py), quantile(&mut py, 0.99));
        report("Python relay (paho): pad command → display state", &mut py);
        println!(
            "{:<44} {:>9.2} {:>9} {:>9.2}",
            "  hallq ÷ Python relay (the issue's ground)",
            median(&mut e2e).as_secs_f64() / p50.as_secs_f64(),
            "",
            quantile(&mut e2e, 0.99).as_secs_f64() / p99.as_secs_f64()
        );
    }
    // Where hallq's time goes, from the owner's own clocks (each figure is
    // from the broker's handing the command over).
    let stages: Vec<_> = running
        .engine
        .stages
        .lock()
        .expect("stages")
        .iter()
        .copied()
        .collect();
    for (name, pick) in [
        (
            "  broker → owner's batch begins",
            (|s: &Stages| s.queued) as fn(&Stages) -> Duration,
        ),
        ("  … core decided", |s| s.decided),
        ("  … committed (fsync)", |s| s.committed),
        ("  … window states + calls made", |s| s.prepared),
        ("  … window states + calls in the broker", |s| s.published),
        ("  … reply in the broker", |s| s.replied),
    ] {
        let mut d: Vec<_> = stages.iter().map(pick).collect();
        if !d.is_empty() {
            report(name, &mut d);
        }
    }
    let mut voice = Vec::new();
    while let Ok(Some(us)) = tokio::time::timeout(Duration::from_millis(500), said.recv()).await {
        voice.push(Duration::from_micros(us));
    }
    if !voice.is_empty() {
        report("announcer: call received → first sample out", &mut voice);
    }

    // The LED picture: one frame drawn (the display-node's and the
    // firmware's renderer), at a window strip's size and a larger panel's.
    let state = hallq_contract::WindowState::shown(
        "3",
        "3号窗口",
        hallq_contract::WindowStatus::Calling,
        Some("A001"),
    );

    fn frames<C: hallq_render::LedColor>(
        n: usize,
        w: u32,
        h: u32,
        mut draw: impl FnMut(&mut hallq_render::Framebuffer<C>),
    ) -> Vec<Duration> {
        let mut fb = hallq_render::Framebuffer::<C>::new(w, h);
        (0..n)
            .map(|_| {
                let t = Instant::now();
                draw(&mut fb);
                t.elapsed()
            })
            .collect()
    }
    let sign = hallq_render::Sign::State(&state);
    for (w, h) in [(128, 32), (256, 64)] {
        let draw = |fb: &mut hallq_render::Framebuffer<_>| {
            hallq_render::draw_sign(fb, sign, 0).expect("draws");
        };
        let mut mono = frames::<hallq_render::BinaryColor>(n, w, h, draw);
        report(&format!("render one LED frame {w}x{h}"), &mut mono);
        let mut rgb = frames::<hallq_render::Rgb565>(n, w, h, |fb| {
            hallq_render::draw_sign(fb, sign, 0).expect("draws");
        });
        report(&format!("render one LED frame {w}x{h} RGB565"), &mut rgb);
    }
    let wall = hallq_render::Wall {
        calls: ["A012", "B004", "A011"]
            .map(|n| hallq_render::WallCall {
                number: n.into(),
                window_name: "3号窗口".into(),
            })
            .to_vec(),
        queues: ["社保", "不动产登记", "户籍", "公积金"]
            .map(|s| hallq_render::WallQueue {
                service_name: s.into(),
                waiting: 12,
            })
            .to_vec(),
        notice: "今日16:30停止取号 Tickets until 16:30".into(),
    };
    let mut t_ms = 0;
    let mut walls = frames::<hallq_render::Rgb888>(n, 256, 64, |fb| {
        t_ms += 40;
        hallq_render::draw_wall(fb, &wall, t_ms, 10_000).expect("draws");
    });
    report(
        "render one LED wall frame 256x64 RGB, scrolling",
        &mut walls,
    );

    // 3. The floor's disk part: one event per commit, alone — with the
    // hash chain and without it, alternating, on this disk and in memory
    // (/dev/shm: no fsync to hide the hashing's cost).
    let shm = tempfile::tempdir_in("/dev/shm").ok();
    for (place, folder) in [
        ("disk", Some(dir.path())),
        ("/dev/shm", shm.as_ref().map(|d| d.path())),
    ] {
        let Some(folder) = folder else { continue };
        let mut chained = SqliteStore::open(&folder.join("chained.db"))?;
        let mut bare = SqliteStore::open(&folder.join("unchained.db"))?.unchained();
        let (mut with, mut without) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let batch = Batch {
                records: vec![Record {
                    seq: i as u64 + 1,
                    at_ms: i as i64,
                    event: HallEvent::TicketNoShow {
                        ticket: hallq_core::TicketId(7),
                        window: hallq_core::Id::parse("3").unwrap(),
                    },
                }],
                ..Batch::default()
            };
            for (store, out) in [(&mut chained, &mut with), (&mut bare, &mut without)] {
                let t = Instant::now();
                store.append(&batch)?;
                out.push(t.elapsed());
            }
        }
        report(
            &format!("SQLite commit of one event, hash-chained ({place})"),
            &mut with,
        );
        report(
            &format!("SQLite commit of one event, no chain ({place})"),
            &mut without,
        );
    }
    let body = r#"{"type":"ticket_called","ticket":"A007","window":"3","service":"business","at_ms":1764300000000}"#;
    let mut head = hallq_server::chain::GENESIS;
    let rounds = 100 * n;
    let t = Instant::now();
    for i in 0..rounds {
        head = hallq_server::chain::link(&head, i as u64, 0, body);
    }
    println!(
        "{:<48}{:>6} ns per record ({} bytes of JSON; head {:02x}{:02x}…)",
        "chain hash of one record (SHA-256 ×2)",
        t.elapsed().as_nanos() / rounds as u128,
        body.len(),
        head[0],
        head[1]
    );

    // 4. Group commit: many kiosks at once.
    let tickets = 20 * n;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let engine = running.engine.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..tickets / 64 {
                engine
                    .take("social")
                    .await
                    .expect("engine")
                    .expect("ticket");
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let per_s = (tickets / 64 * 64) as f64 / t.elapsed().as_secs_f64();
    println!(
        "{:<44} {per_s:>9.0} tickets/s (64 concurrent callers, each acknowledged after its commit)",
        "ticket issue throughput"
    );
    std::process::exit(0);
}

/// A client subscribed to one topic; payloads arrive on the channel.
async fn subscriber(
    login: &Login,
    topic: &str,
) -> (AsyncClient, mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let (client, mut ev) = login.connect(&login.client_id("bench"), None);
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let (sub, topic) = (client.clone(), topic.to_owned());
    tokio::spawn(async move {
        let mut ready_tx = Some(ready_tx);
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => sub
                    .subscribe(&topic, QoS::AtLeastOnce)
                    .await
                    .expect("subscribe"),
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(r) = ready_tx.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                }
                Ok(_) => {}
                Err(e) => panic!("bench client: {e}"),
            }
        }
    });
    ready.await.expect("subscribed");
    (client, rx)
}

/// A pad and a display of one window: the pad sends a command, the clock
/// stops when the display receives the window's next state.
struct PadLoop {
    pad: AsyncClient,
    topic: String,
    states: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    ops: &'static [&'static str],
    /// Commands sent (their ids), and of them the measured ones.
    i: usize,
    k: usize,
}

impl PadLoop {
    async fn start(
        pad: &Login,
        display: &Login,
        ops: &'static [&'static str],
        retained: bool,
    ) -> anyhow::Result<PadLoop> {
        let state = Topic::WindowState("3").to_string(&display.hall);
        let (_display, mut states) = subscriber(display, &state).await;
        if retained {
            states.recv().await.expect("retained state");
        }
        let (client, mut pad_loop) = pad.connect(&pad.client_id("bench"), None);
        tokio::spawn(async move { while pad_loop.poll().await.is_ok() {} });
        Ok(PadLoop {
            pad: client,
            topic: Topic::PadCmd("3").to_string(&pad.hall),
            states,
            ops,
            i: 0,
            k: 0,
        })
    }

    async fn send(&mut self, op: &str) -> anyhow::Result<()> {
        self.i += 1;
        let body = format!(r#"{{"id":"bench-{}","op":"{op}"}}"#, self.i);
        self.pad
            .publish(&self.topic, QoS::AtLeastOnce, false, body)
            .await?;
        Ok(())
    }

    async fn once(&mut self) -> anyhow::Result<Duration> {
        let op = self.ops[self.k % self.ops.len()];
        self.k += 1;
        let t = Instant::now();
        self.send(op).await?;
        tokio::time::timeout(Duration::from_secs(5), self.states.recv())
            .await
            .map_err(|_| anyhow::anyhow!("no new state after {op} #{}", self.i))?
            .expect("state");
        Ok(t.elapsed())
    }
}

fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * q) as usize]
}

fn median(samples: &mut [Duration]) -> Duration {
    quantile(samples, 0.5)
}

/// An announcer output that only says how long each call took to reach it.
struct Capture(tokio::sync::mpsc::UnboundedSender<u64>);

impl hallq_announcer::output::Output for Capture {
    fn play(
        &mut self,
        samples: &[i16],
        _rate: u32,
        played: &mut hallq_announcer::output::Played,
    ) -> anyhow::Result<()> {
        debug_assert!(!samples.is_empty());
        let _ = self.0.send(played.latency_us);
        Ok(())
    }
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let q = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    println!(
        "{name:<44} {:>9} {:>9} {:>9} {:>9}",
        us(q(0.5)),
        us(q(0.9)),
        us(q(0.99)),
        us(samples[samples.len() - 1])
    );
}
