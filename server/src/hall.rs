//! One hall of the server: what it shares with the others, its start
//! (log, owner thread, timers, inbox, routes), the keeper of its owner
//! (standing by, rebuilding, stepping down), and its periodic messages.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hallq_client::Login;
use hallq_contract::Topic;
use hallq_core::HallConfig;
use tokio::sync::{broadcast, mpsc, watch};

use crate::engine::{self, Engine, EngineHandle, Input, MqttOut, Outgoing, Sinks};
use crate::store::SqliteStore;
use crate::stream::Line;
use crate::{
    BrokerMode, Options, Refused, bridge, broker, config, http, lease, notify, staff, store,
    store_pg, stream, throttle,
};

/// What every hall of the server shares.
pub(crate) struct Common {
    pub several: bool,
    /// The embedded broker's, if it is embedded.
    pub injector: Option<broker::Injector>,
    pub id_key: Arc<ring::hmac::Key>,
    pub throttle: Arc<throttle::LoginThrottle>,
    pub limits: Arc<http::auth::Limits>,
    pub sessions: Arc<http::session::Sessions>,
    pub https: bool,
}

/// One started hall.
pub(crate) struct StartedHall {
    pub id: String,
    pub config: HallConfig,
    pub inbox: bridge::ServerInbox,
    pub state: http::AppState,
}

/// Leaves out the halls that cannot run beside the others or at all: a
/// hall id another hall has (both: which one is meant cannot be known),
/// a device id an earlier hall uses (one broker, one login per device id),
/// the shipped demo passwords outside a demonstration.
pub(crate) fn sort_out(halls: Vec<HallConfig>, demo: bool) -> (Vec<HallConfig>, Vec<Refused>) {
    let mut refused = Vec::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for h in &halls {
        *ids.entry(h.hall.id.to_string()).or_default() += 1;
    }
    let mut devices: BTreeMap<String, String> = BTreeMap::new();
    let mut kept = Vec::new();
    for h in halls {
        let id = h.hall.id.to_string();
        let refuse = |why: String| Refused {
            hall: id.clone(),
            why,
        };
        if ids[&id] > 1 {
            refused.push(refuse(format!(
                "{} hall files have the hall id {id}: each hall needs its own id",
                ids[&id]
            )));
            continue;
        }
        let demo_passwords = config::devices_with_demo_passwords(&h);
        if !demo_passwords.is_empty() {
            if demo {
                tracing::warn!(hall = %id, devices = ?demo_passwords, "these devices use the demo hall's public passwords: fine for a demo, never for a real hall");
            } else {
                refused.push(refuse(format!(
                    "devices {} use passwords of the shipped demo hall, which everyone can read; \
                     give them their own passwords in the hall file (or run with --demo for a demonstration)",
                    demo_passwords.join(", ")
                )));
                continue;
            }
        }
        let taken: Vec<String> = h
            .devices
            .iter()
            .filter_map(|d| {
                devices
                    .get(d.id.as_str())
                    .map(|other| format!("{} (hall {other})", d.id))
            })
            .collect();
        if !taken.is_empty() {
            refused.push(refuse(format!(
                "device ids already used by another hall on this server: {}; \
                 a device id is its MQTT login, so it must be unique on the server",
                taken.join(", ")
            )));
            continue;
        }
        for d in &h.devices {
            devices.insert(d.id.to_string(), id.clone());
        }
        kept.push(h);
    }
    (kept, refused)
}

/// Opens a hall's event log: PostgreSQL when a URL is given (written only
/// under the hall's lease), else `hall.db` in the hall's folder.
fn open_store(
    url: Option<&str>,
    dir: &std::path::Path,
    lease: &Arc<lease::Lease>,
    on_break: store::OnBreak,
) -> anyhow::Result<Box<dyn store::EventStore>> {
    Ok(match url {
        Some(url) => Box::new(
            store_pg::PgStore::open(url, &lease.hall)?
                .on_break(on_break)
                .fenced_by(lease.clone()),
        ),
        None => Box::new(SqliteStore::open(&dir.join("hall.db"))?.on_break(on_break)),
    })
}

/// Starts one hall: its log, its owner (on a thread of its own), its
/// timers, its inbox and its part of the HTTP API.
pub(crate) async fn start_hall(
    mut config: HallConfig,
    (tx, rx): (mpsc::Sender<Input>, mpsc::Receiver<Input>),
    lease: Arc<lease::Lease>,
    opts: &Options,
    common: &Common,
) -> anyhow::Result<StartedHall> {
    if opts.always_open {
        config.hours = None;
    }
    let hall_id = config.hall.id.to_string();
    let dir = if common.several {
        opts.data_dir.join(&hall_id)
    } else {
        opts.data_dir.clone()
    };
    std::fs::create_dir_all(&dir)?;
    if opts.store.is_some() {
        anyhow::ensure!(
            config.notify.is_none(),
            "webhook notifications ([notify]) need the SQLite log for now; \
             remove [notify] from the hall file or run without --store"
        );
    }
    if let Some(n) = &config.notify {
        notify::spawn_sender(&dir.join("hall.db"), n.url.clone(), n.secret.clone())?;
    }
    let (mqtt_out, external) = mqtt_out(&opts.broker, common, &hall_id);
    let (stream, _) = broadcast::channel(1024);
    let (wake, wake_rx) = watch::channel(None);
    let (storage, storage_rx) = watch::channel(None);
    let sinks = Sinks {
        mqtt: mqtt_out.clone(),
        stream: stream.clone(),
        wake,
        storage,
        stages: Default::default(),
        lease: lease.clone(),
    };
    let on_break = if opts.accept_broken_log {
        store::OnBreak::Warn
    } else {
        store::OnBreak::Refuse
    };
    let handle = spawn_owner(
        &config,
        (tx, rx),
        sinks,
        (&dir, opts.store.as_deref()),
        on_break,
    )?;
    spawn_timer(handle.clone(), wake_rx);

    let health = bridge::DeviceHealth::default();
    let inbox = bridge::ServerInbox {
        hall: hall_id.clone(),
        engine: handle.clone(),
        health: health.clone(),
        staff: staff::StaffLogin::from_hall(&config),
        stream: stream.clone(),
        out: mqtt_out.clone(),
    };
    if let Some((login, outgoing)) = external {
        let subscribed = bridge::spawn(login, inbox.clone(), outgoing);
        if tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .is_err()
        {
            tracing::warn!(
                hall = %hall_id,
                "the MQTT broker did not answer within 10 s; pads are heard once it does"
            );
        }
    }
    spawn_heartbeat(handle.clone(), hall_id.clone(), mqtt_out.clone());
    spawn_metrics(
        handle.clone(),
        lease.clone(),
        hall_id.clone(),
        mqtt_out.clone(),
        stream.clone(),
    );

    let accounts = Arc::new(
        config
            .devices
            .iter()
            .filter(|d| {
                matches!(
                    d.role,
                    hallq_core::DeviceRole::Manager
                        | hallq_core::DeviceRole::Kiosk
                        | hallq_core::DeviceRole::Approval
                )
            })
            .map(|d| (d.id.to_string(), (d.role, d.password.clone())))
            .collect(),
    );
    let public = stream::spawn_public(&stream);
    let log = Some(match &opts.store {
        Some(url) => http::LogSource::Postgres(url.clone()),
        None => http::LogSource::Sqlite(dir.join("hall.db")),
    });
    let digests = Arc::new(crate::digest::Digests::new(
        &dir,
        &config,
        log.clone().expect("every hall has a log"),
        Some(mqtt_out.clone()),
    )?);
    tracing::info!(hall = %hall_id, public_key = %digests.signer.public_hex(), "the hall signs its log's daily digests with this Ed25519 key (also in sign.pub): give it to the supervisor");
    crate::digest::spawn(digests.clone(), lease.clone());
    let forecaster = crate::forecaster::Forecaster::spawn(
        handle.clone(),
        lease.clone(),
        config.clone(),
        log.clone(),
        stream.clone(),
    );
    let state = http::AppState {
        prefix: if common.several {
            format!("/h/{hall_id}")
        } else {
            String::new()
        },
        hall: hall_id.clone(),
        lease,
        engine: handle,
        stream,
        public,
        health,
        id_key: common.id_key.clone(),
        accounts,
        limits: common.limits.clone(),
        throttle: common.throttle.clone(),
        storage: storage_rx,
        sessions: common.sessions.clone(),
        https: common.https,
        log,
        forecaster: Some(forecaster),
        digests: Some(digests),
        printing: Arc::new(crate::print::Printing::from_hall(&config).map_err(anyhow::Error::msg)?),
    };
    Ok(StartedHall {
        id: hall_id,
        config,
        inbox,
        state,
    })
}

/// How the hall's owner reaches devices: the embedded broker's injector,
/// or an MQTT client of its own on the external broker (with what that
/// client needs to start).
fn mqtt_out(
    broker: &BrokerMode,
    common: &Common,
    hall: &str,
) -> (MqttOut, Option<(Login, mpsc::UnboundedReceiver<Outgoing>)>) {
    match broker {
        BrokerMode::Embedded(_) => (
            MqttOut::Embedded(common.injector.clone().expect("embedded broker")),
            None,
        ),
        BrokerMode::External {
            host,
            port,
            user,
            password,
        } => {
            let (tx, rx) = mpsc::unbounded_channel();
            let login = Login {
                host: host.clone(),
                port: *port,
                hall: hall.to_owned(),
                user: user.clone(),
                password: password.clone(),
                tls: None,
            };
            (MqttOut::Client(tx), Some((login, rx)))
        }
    }
}

/// Starts the hall's owner on a thread of its own: rebuilt from its log now
/// if this node holds the hall's lease, else once it takes it (see
/// [`run_owner`]). Returns the handle the edges use.
fn spawn_owner(
    config: &HallConfig,
    (tx, rx): (mpsc::Sender<Input>, mpsc::Receiver<Input>),
    sinks: Sinks,
    (dir, url): (&Path, Option<&str>),
    on_break: store::OnBreak,
) -> anyhow::Result<EngineHandle> {
    let lease = sinks.lease.clone();
    let stages = sinks.stages.clone();
    let readers = engine::ReadSide::empty(config.clone());
    // A hall another node runs is loaded when this node takes it. On a
    // plain thread: a PostgreSQL store's client blocks on a runtime of its
    // own, which it cannot do inside this one.
    let engine = if lease.held() {
        let store = open_store(url, dir, &lease, on_break)?;
        Some(std::thread::scope(|scope| {
            let (config, sinks, readers) = (config.clone(), sinks.clone(), readers.clone());
            scope
                .spawn(move || Engine::reload(config, store, sinks, readers))
                .join()
                .map_err(|_| anyhow::anyhow!("rebuilding the hall panicked"))
        })??)
    } else {
        None
    };
    let handle = EngineHandle {
        tx,
        stages,
        reader: readers.reader(),
    };
    let rebuild = {
        let (dir, url, lease, config) = (
            dir.to_owned(),
            url.map(str::to_owned),
            lease.clone(),
            config.clone(),
        );
        move || {
            let store = open_store(url.as_deref(), &dir, &lease, on_break)?;
            Engine::reload(config.clone(), store, sinks.clone(), readers.clone())
        }
    };
    let hall = config.hall.id.to_string();
    std::thread::Builder::new()
        .name("hallq-owner".into())
        .spawn(move || run_owner(&hall, &lease, engine, rx, rebuild))?;
    Ok(handle)
}

/// How long a hall whose owner failed waits before it rebuilds, at first
/// and at most (doubling in between).
const REBUILD_FIRST: Duration = Duration::from_millis(500);
const REBUILD_MOST: Duration = Duration::from_secs(10);

/// Runs a hall's owner on this thread until its senders are gone:
///
/// - while another node holds the hall's lease, stands by;
/// - once this node holds it, rebuilds the hall from its log and runs it,
///   until the lease is lost (stand by again);
/// - if the owner panics, or stops because its log cannot even be read (a
///   database that went away), rebuilds the hall from its log — again and
///   again, waiting longer each time, while the log cannot be read. One
///   hall's failure is never the server's.
///
/// What arrives while the hall is not running here is refused unanswered
/// (HTTP callers see 503; pads get no reply and send again, to whichever
/// node runs the hall).
fn run_owner(
    hall: &str,
    lease: &lease::Lease,
    mut engine: Option<Engine>,
    mut rx: mpsc::Receiver<Input>,
    rebuild: impl Fn() -> anyhow::Result<Engine>,
) {
    let mut wait = Duration::ZERO;
    loop {
        let owner = match engine.take() {
            Some(e) => e,
            None => {
                if !refuse_while(&mut rx, |started| started.elapsed() < wait || !lease.held()) {
                    return;
                }
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&rebuild)) {
                    Ok(Ok(e)) => {
                        tracing::info!(hall, "the hall is rebuilt from its log and runs here");
                        e
                    }
                    Ok(Err(e)) => {
                        wait = (wait * 2).clamp(REBUILD_FIRST, REBUILD_MOST);
                        tracing::error!(hall, error = %format!("{e:#}"), retry_in = ?wait, "cannot rebuild the hall yet");
                        continue;
                    }
                    Err(_) => {
                        wait = (wait * 2).clamp(REBUILD_FIRST, REBUILD_MOST);
                        tracing::error!(hall, retry_in = ?wait, "rebuilding the hall panicked");
                        continue;
                    }
                }
            }
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| owner.run(&mut rx))) {
            Ok(engine::Stopped::Shutdown) => return,
            Ok(engine::Stopped::LeaseLost) => {
                tracing::warn!(hall, "this node no longer runs the hall: standing by");
                wait = Duration::ZERO;
            }
            Ok(engine::Stopped::LogLost) => {
                wait = (wait * 2).clamp(REBUILD_FIRST, REBUILD_MOST);
                tracing::error!(hall, retry_in = ?wait, "the hall's log is out of reach: rebuilding the hall from it once it is back");
            }
            Err(_) => {
                wait = (wait * 2).clamp(REBUILD_FIRST, REBUILD_MOST);
                tracing::error!(hall, retry_in = ?wait, "the hall's owner failed: rebuilding the hall from its log");
            }
        }
    }
}

/// Refuses (drops unanswered) what arrives while `go_on` says so, looking
/// every 50 ms. `false` once every sender is gone.
fn refuse_while(
    rx: &mut mpsc::Receiver<Input>,
    go_on: impl Fn(std::time::Instant) -> bool,
) -> bool {
    let started = std::time::Instant::now();
    while go_on(started) {
        loop {
            match rx.try_recv() {
                Ok(_) => {}
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Wakes the owner with a `Tick` when the core's next deadline comes.
fn spawn_timer(engine: EngineHandle, mut wake: watch::Receiver<Option<hallq_core::Millis>>) {
    tokio::spawn(async move {
        let mut ticked_for = None;
        loop {
            let next = *wake.borrow_and_update();
            let Some(at) = next else {
                if wake.changed().await.is_err() {
                    return;
                }
                continue;
            };
            let mut wait = Duration::from_millis((at - engine::now_ms()).max(0) as u64);
            // A deadline a tick did not clear (clock rounding) is retried
            // calmly rather than in a tight loop.
            if ticked_for == Some(at) {
                wait = wait.max(Duration::from_millis(200));
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {
                    ticked_for = Some(at);
                    engine.tick().await;
                }
                changed = wake.changed() => if changed.is_err() { return },
            }
        }
    });
}

/// How often the server says it is there (`heartbeat`).
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// Publishes `heartbeat` (QoS 0) every [`HEARTBEAT`], from the owner's own
/// answer: a stuck owner stops it, and the displays show themselves offline.
fn spawn_heartbeat(engine: EngineHandle, hall: String, mqtt: MqttOut) {
    tokio::spawn(async move {
        let topic = Topic::Heartbeat.to_string(&hall);
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tick.tick().await;
            let Some(seq) = engine.query_owner(|v| v.hall.seq()).await else {
                // Another node runs the hall, or its owner is being
                // rebuilt: no heartbeat from here meanwhile.
                if engine.tx.is_closed() {
                    return;
                }
                continue;
            };
            let beat = hallq_contract::Heartbeat {
                at_ms: engine::now_ms(),
                seq,
            };
            mqtt.send(Outgoing {
                topic: topic.clone(),
                payload: serde_json::to_vec(&beat).expect("heartbeat serializes"),
                retain: false,
                qos: 0,
            });
        }
    });
}

/// Publishes `metrics` (retained, QoS 0) once a second while it changes.
fn spawn_metrics(
    engine: EngineHandle,
    lease: Arc<lease::Lease>,
    hall: String,
    mqtt: MqttOut,
    stream: broadcast::Sender<Arc<Line>>,
) {
    tokio::spawn(async move {
        let topic = Topic::Metrics.to_string(&hall);
        let mut last = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            // Only the node that runs the hall speaks for it.
            if !lease.held() {
                last = None;
                continue;
            }
            let Some(m) = engine.metrics().await else {
                if engine.tx.is_closed() {
                    return;
                }
                continue;
            };
            let key = hallq_contract::Metrics {
                at_ms: 0,
                ..m.clone()
            };
            if last.as_ref() == Some(&key) {
                continue;
            }
            let _ = stream.send(Line::same("metrics", &m));
            let payload = serde_json::to_vec(&m).expect("metrics serialize");
            mqtt.send(Outgoing {
                topic: topic.clone(),
                payload,
                retain: true,
                qos: 0,
            });
            last = Some(key);
        }
    });
}
