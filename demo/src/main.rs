//! `hallq-demo`: the demo hall of DEMO-HALL.md, alive in one command.
//!
//! Everything is real but the people: the server with its embedded MQTT
//! broker and SQLite log, clerks' pads and window displays as MQTT clients
//! with their own credentials, citizens taking tickets over HTTP. Time runs
//! `--speed` times faster for the simulated people (60: a 15-minute service
//! takes 15 seconds); the server itself keeps real time.

mod people;

use hallq_demo::DayPattern;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use hallq_client::Login;
use hallq_contract::Topic;
use hallq_server::{BrokerMode, Options, config};
use rumqttc::{Event, Packet, QoS};

#[derive(Debug, Parser)]
#[command(
    name = "hallq-demo",
    about = "hallq 演示大厅 / the demo hall, with simulated citizens, pads and displays"
)]
struct Args {
    #[arg(long, default_value = "halls/demo.toml")]
    hall: PathBuf,
    /// Who comes when, and for what.
    #[arg(long, default_value = "halls/demo-day.toml")]
    day: PathBuf,
    /// Event log folder; the displays' PNGs go to DATA/displays/.
    #[arg(long, default_value = "demo-data")]
    data: PathBuf,
    /// HTTP address; another free port is taken when it is busy.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// MQTT address; another free port is taken when it is busy.
    #[arg(long, default_value = "127.0.0.1:1883")]
    mqtt: SocketAddr,
    /// How much faster the simulated people live than real time.
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Keep the hall's opening hours (by default the demo is open around the
    /// clock, so it shows calls whenever you start it).
    #[arg(long)]
    real_hours: bool,
    /// Stop after this many real seconds (default: run until Ctrl-C).
    #[arg(long)]
    seconds: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,rmqtt=error,rmqtt_net=error".into()),
        )
        .init();
    let a = Args::parse();
    let mut hall = config::load_hall(&a.hall)?;
    if a.speed > 1.0 {
        // The server keeps real time; so that cards (电子监察) show in a demo
        // running `speed` times faster, its limits shrink by the same factor
        // (to whole minutes, at least one).
        let scale = |min: u32| ((f64::from(min) / a.speed).round() as u32).max(1);
        let r = &mut hall.rules;
        r.wait_yellow_min = scale(r.wait_yellow_min);
        r.wait_red_min = scale(r.wait_red_min).max(r.wait_yellow_min + 1);
        for s in &mut hall.services {
            s.limit_min = scale(s.limit_min);
        }
    }
    // The kiosk's printed tickets go to a file each (ESC/POS bytes, as a
    // thermal printer would get them).
    std::fs::create_dir_all(a.data.join("printer"))?;
    for d in &mut hall.devices {
        if d.role == hallq_core::DeviceRole::Kiosk && d.printer.is_none() {
            let path =
                std::path::absolute(a.data.join("printer").join(format!("{}.escpos", d.id)))?;
            d.printer = Some(format!("file:{}", path.display()));
        }
    }
    // A new demo hall starts with three weeks of cases behind it, so the
    // back office and the manager's case cards have something to show.
    let day = DayPattern::load(&a.day)?;
    if !a.data.join("hall.db").exists()
        && let Some(cases) = &day.cases
    {
        std::fs::create_dir_all(&a.data)?;
        let mut history = hall.clone();
        if !a.real_hours {
            history.hours = None; // as the server will run it
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64;
        let today = hallq_core::calendar::local(now, hall.hall.utc_offset_minutes).0;
        let w = hallq_demo::cases::simulate(
            &history,
            cases,
            day.tickets_per_day,
            &day.mix,
            today - 21,
            21,
            2026,
        )?;
        let mut store = hallq_server::store::SqliteStore::open(&a.data.join("hall.db"))?;
        hallq_server::store::EventStore::append(
            &mut store,
            &hallq_server::store::Batch {
                records: w.records,
                ..Default::default()
            },
        )?;
        println!(
            "📚 历史 / history: {} cases of the last three weeks in {}/hall.db",
            w.hall.cases().count(),
            a.data.display()
        );
    }
    let free = |addr: SocketAddr| match std::net::TcpListener::bind(addr) {
        Ok(_) => addr,
        Err(_) => SocketAddr::new(addr.ip(), 0),
    };
    let running = hallq_server::start(Options {
        halls: vec![hall.clone()],
        unreadable: Vec::new(),
        node: None,
        data_dir: a.data.clone(),
        http: free(a.http),
        broker: BrokerMode::Embedded(free(a.mqtt)),
        always_open: !a.real_hours,
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
    let (http, mqtt) = (running.http, running.mqtt.expect("plain MQTT"));
    let hall_id = hall.hall.id.to_string();
    println!("hallq 演示大厅 / demo hall: {}", hall.hall.name);
    println!(
        "  HTTP  http://{http}/api/v1/halls/{hall_id}   (WebSocket: …/stream, Prometheus: /metrics)"
    );
    println!(
        "  MQTT  {mqtt}   watch: mosquitto_sub -p {} -u manager -P demo-manager-pass -I manager. -t '{}' -v",
        mqtt.port(),
        hallq_contract::topic::filter::all(&hall_id)
    );
    println!(
        "  LED   {}/displays/window-N.png (rewritten on every change)",
        a.data.display()
    );
    println!(
        "  VOICE {}/voice/*.wav (叮咚 — 请…号到…号窗口办理: windows 9–11; log in announcements.jsonl)",
        a.data.display()
    );
    println!(
        "  LOG   {}/hall.db, hash-chained; each day's digest signed with {}/sign.key (public half: sign.pub);\n        \
         the day so far signed every 10 s into {}/digests/today.json — check the log against it:\n        \
         cargo run --release -p hallq-server -- verify --data {} --digest {}/digests/today.json --public-key {}/sign.pub",
        a.data.display(),
        a.data.display(),
        a.data.display(),
        a.data.display(),
        a.data.display(),
        a.data.display()
    );
    spawn_digests(&a.data, &hall);
    println!(
        "  CASES http://{http}/backoffice (officer / demo-officer-pass): 受理 at the counter → 审批 → 出件 at window 11"
    );
    println!(
        "  speed ×{}: one simulated minute every {:.1} s\n",
        a.speed,
        60.0 / a.speed
    );

    let login = |user: &str, password: &str| Login {
        host: mqtt.ip().to_string(),
        port: mqtt.port(),
        hall: hall_id.clone(),
        user: user.to_owned(),
        password: password.to_owned(),
        tls: None,
    };
    // One announcer, headless: a WAV per call in DATA/voice/. A real hall's
    // calls come seconds apart; at the demo's speed they would queue up for
    // ever, so the demo's voice speaks for a few windows only.
    let voice_dir = a.data.join("voice");
    if let Some(v) = hall
        .devices
        .iter()
        .find(|d| d.role == hallq_core::DeviceRole::Announcer)
    {
        let opts = hallq_announcer::Options {
            login: login(v.id.as_str(), &v.password),
            pack: hallq_announcer::pack::Pack::load(&hallq_announcer::pack::default_pack_dir())?,
            style: hallq_announcer::speech::NumberStyle::Digits,
            settings: hallq_announcer::queue::Settings {
                repeats: 1,
                ..Default::default()
            },
            volume: 1.0,
            volume_spans: Vec::new(),
            quiet: None,
            zones: Vec::new(),
            windows: ["9", "10", "11"].map(String::from).to_vec(),
            realtime: true,
        };
        let out = Box::new(hallq_announcer::output::WavDir::new(&voice_dir)?);
        tokio::spawn(async move {
            if let Err(e) = hallq_announcer::run(opts, out).await {
                eprintln!("announcer: {e}");
            }
        });
    }
    let displays = a.data.join("displays");
    std::fs::create_dir_all(&displays)?;
    for d in hall
        .devices
        .iter()
        .filter(|d| d.role == hallq_core::DeviceRole::Display)
    {
        let Some(w) = d.window.clone() else { continue };
        let (l, png) = (
            login(d.id.as_str(), &d.password),
            displays.join(format!("window-{w}.png")),
        );
        let presence = hallq_client::Presence {
            role: "display",
            window: Some(w.to_string()),
        };
        let mut out = hallq_display::PngOut::new(png);
        tokio::spawn(async move {
            let r = hallq_display::follow::<_, hallq_display::BinaryColor>(
                l,
                presence,
                hallq_display::WindowModel::new(w.as_str()),
                (128, 32),
                Duration::from_secs(15),
                move |fb, frame, _, _| out.show(fb, frame),
            )
            .await;
            if let Err(e) = r {
                eprintln!("display: {e}");
            }
        });
    }
    // The hall's LED wall, in colour: the last calls, the queues, the notice.
    if let Some(d) = hall.devices.iter().find(|d| d.id.as_str() == "led-wall") {
        let l = login(d.id.as_str(), &d.password);
        let presence = hallq_client::Presence {
            role: "display",
            window: None,
        };
        let mut out = hallq_display::PngOut::new(displays.join("wall.png"));
        tokio::spawn(async move {
            let r = hallq_display::follow::<_, hallq_display::Rgb888>(
                l,
                presence,
                hallq_display::WallModel::new(),
                (256, 64),
                Duration::from_secs(15),
                move |fb, frame, _, _| out.show(fb, frame),
            )
            .await;
            if let Err(e) = r {
                eprintln!("wall: {e}");
            }
        });
    }
    let clock = people::Clock::new(a.speed);
    for d in hall
        .devices
        .iter()
        .filter(|d| d.role == hallq_core::DeviceRole::Pad)
    {
        let Some(w) = d.window.clone() else { continue };
        let rating = hall
            .devices
            .iter()
            .find(|r| r.role == hallq_core::DeviceRole::RatingPad && r.window.as_ref() == Some(&w))
            .map(|r| login(r.id.as_str(), &r.password));
        tokio::spawn(people::clerk(
            login(d.id.as_str(), &d.password),
            rating,
            w.to_string(),
            clock.clone(),
            hall.clone(),
            day.clone(),
        ));
    }
    if let Some(m) = hall
        .devices
        .iter()
        .find(|d| d.role == hallq_core::DeviceRole::Manager)
    {
        tokio::spawn(supervise(login(m.id.as_str(), &m.password)));
    }
    tokio::spawn(people::citizens(
        http,
        hall_id.clone(),
        clock.clone(),
        hall.clone(),
        day,
    ));
    tokio::spawn(people::back_office(http, hall_id.clone(), clock.clone()));
    if let Some(voice) = hall
        .devices
        .iter()
        .find(|d| d.role == hallq_core::DeviceRole::Announcer)
    {
        tokio::spawn(announce(login(voice.id.as_str(), &voice.password)));
    }
    match a.seconds {
        Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
        None => tokio::signal::ctrl_c().await?,
    }
    println!(
        "\n再见 / bye. The log stays in {}/hall.db.",
        a.data.display()
    );
    std::process::exit(0);
}

/// Every 10 s, the day so far signed (as a supervisor's system would
/// fetch it from `GET …/digests/today`) and the finished days' digests, in
/// `DATA/digests/`: what `hallq verify` checks the log against.
fn spawn_digests(data: &std::path::Path, hall: &hallq_core::HallConfig) {
    let log = hallq_server::http::LogSource::Sqlite(data.join("hall.db"));
    let digests = match hallq_server::digest::Digests::new(data, hall, log, None) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("no digests: {e:#}");
            return;
        }
    };
    let dir = data.join("digests");
    std::thread::spawn(move || {
        loop {
            let _ = std::fs::create_dir_all(&dir);
            if let Ok(Some(today)) = digests.today() {
                let _ = std::fs::write(dir.join("today.json"), today.to_json());
            }
            if let Ok(kept) = digests.kept() {
                let _ = std::fs::write(
                    dir.join("days.json"),
                    serde_json::to_string_pretty(&kept).unwrap_or_default(),
                );
            }
            std::thread::sleep(Duration::from_secs(10));
        }
    });
}

/// The manager's view: prints each new yellow or red card (电子监察).
async fn supervise(login: Login) {
    let (client, mut ev) = login.connect(&login.client_id("demo"), None);
    let metrics = Topic::Metrics.to_string(&login.hall);
    let mut seen = std::collections::BTreeSet::new();
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let _ = client.subscribe(&metrics, QoS::AtMostOnce).await;
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let Ok(m) = serde_json::from_slice::<hallq_contract::Metrics>(&p.payload) else {
                    continue;
                };
                for c in m.cards {
                    let key = (c.ticket.clone(), c.kind.clone(), c.level.clone());
                    if seen.insert(key) {
                        let (card, what) = match (c.level.as_str(), c.kind.as_str()) {
                            ("red", "wait") => ("🟥 红牌", "等候超时 / waited past the limit"),
                            ("red", _) => ("🟥 红牌", "办理超时 / service past its limit"),
                            (_, "wait") => ("🟨 黄牌", "等候将超时 / long wait"),
                            _ => ("🟨 黄牌", "办理将超时 / service nearing its limit"),
                        };
                        let at = c.window.map(|w| format!(" {w}号窗口")).unwrap_or_default();
                        println!("{card} {} {what}{at}", c.ticket);
                    }
                }
            }
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// Prints every call as the hall would speak it.
async fn announce(login: Login) {
    let (client, mut ev) = login.connect(&login.client_id("demo"), None);
    let calls = Topic::Calls.to_string(&login.hall);
    loop {
        match ev.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let _ = client.subscribe(&calls, QoS::AtLeastOnce).await;
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if let Ok(c) = serde_json::from_slice::<hallq_contract::Call>(&p.payload) {
                    let again = if c.recall { "（重呼 / again）" } else { "" };
                    println!(
                        "📢 请{}号到{}办理{again}   [{}]",
                        c.ticket, c.window_name, c.service_name
                    );
                }
            }
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}
