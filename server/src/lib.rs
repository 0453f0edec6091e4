//! The hallq server: the queue broker of a service hall.
//!
//! # Layout
//!
//! - [`config`]: the hall file (TOML) → [`hallq_core::HallConfig`], with located errors.
//! - [`store`]: the append-only event log ([`store::EventStore`]; SQLite).
//! - [`engine`]: the one owner of the hall: core + log + group commit; it
//!   answers and publishes only after a commit.
//! - [`broker`]: the embedded MQTT broker with the contract's permissions.
//! - [`bridge`]: the server's MQTT client (embedded or external broker).
//! - [`views`]: what the outside sees (API JSON, contract messages, report).
//! - [`http`]: the HTTP + WebSocket API.
//! - [`mosquitto`]: the same permissions as Mosquitto ACL and password files.
//!
//! [`start`] wires them together and returns the bound addresses, so tests
//! and the demo can run a whole server on port 0.

pub mod bridge;
pub mod broker;
pub mod config;
pub mod dashboard;
pub mod engine;
pub mod http;
pub mod mosquitto;
pub mod notify;
pub mod print;
pub mod report;
pub mod staff;
pub mod store;
pub mod store_pg;
pub mod stream;
pub mod throttle;
pub mod tls;
pub mod views;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hallq_client::Login;
use hallq_contract::Topic;
use hallq_core::HallConfig;
use tokio::sync::{broadcast, mpsc, watch};

use crate::engine::{Engine, EngineHandle, MqttOut, Outgoing, Sinks};
use crate::store::SqliteStore;
use crate::stream::Line;

/// Where the MQTT side lives.
#[derive(Debug, Clone)]
pub enum BrokerMode {
    /// Run the broker inside the server, listening here.
    Embedded(SocketAddr),
    /// Use a broker that is already running (e.g. Mosquitto with the ACL
    /// that hallq's rules describe), with the server's own credentials.
    External {
        host: String,
        port: u16,
        user: String,
        password: String,
    },
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub hall: HallConfig,
    /// Holds `hall.db` (the log).
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    pub broker: BrokerMode,
    /// Ignore the hall's opening hours (demos and tests): always issue tickets.
    pub always_open: bool,
    /// Accept the shipped demo hall's passwords (demos and tests). Without
    /// it, a hall file that uses any of them is refused: they are public.
    pub demo: bool,
    /// Per client address and minute: tickets without a kiosk login,
    /// bookings, check-ins, ratings.
    pub public_writes_per_minute: u32,
    /// Per client address and minute: ticket and booking look-ups.
    pub public_reads_per_minute: u32,
    /// Certificate and key: HTTPS on `http`, and MQTT over TLS on
    /// `mqtt_tls` (embedded broker).
    pub tls: Option<tls::TlsFiles>,
    pub mqtt_tls: SocketAddr,
    /// With `tls`: no plain MQTT listener at all.
    pub tls_only: bool,
    /// Staff accounts for the web (dashboard, reports): `staff.toml`.
    pub staff: http::session::StaffFile,
    /// Keep the log in this PostgreSQL database (`postgres://…`) instead of
    /// `hall.db` in the data folder.
    pub store: Option<String>,
}

/// Raises this process's open-files limit to what the system allows: every
/// device is one socket, and the usual soft limit (1 024) would refuse a
/// hall's thousandth display. Returns the limit now in force.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// The public limits' defaults: a citizen takes a ticket or two; a phone
/// page polls its ticket every few seconds.
pub const PUBLIC_WRITES_PER_MINUTE: u32 = 20;
pub const PUBLIC_READS_PER_MINUTE: u32 = 240;

/// A running server.
#[derive(Debug, Clone)]
pub struct Running {
    pub http: SocketAddr,
    /// Whether `http` speaks HTTPS.
    pub https: bool,
    /// The embedded broker's plain address (none when TLS only), or the
    /// external broker's.
    pub mqtt: Option<SocketAddr>,
    /// The embedded broker's MQTT-over-TLS address.
    pub mqtt_tls: Option<SocketAddr>,
    pub engine: EngineHandle,
}

/// Starts everything and returns once it listens. Runs until the process ends.
pub async fn start(opts: Options) -> anyhow::Result<Running> {
    let demo_passwords = config::devices_with_demo_passwords(&opts.hall);
    if !demo_passwords.is_empty() {
        if opts.demo || opts.always_open {
            tracing::warn!(devices = ?demo_passwords, "these devices use the demo hall's public passwords: fine for a demo, never for a real hall");
        } else {
            anyhow::bail!(
                "devices {} use passwords of the shipped demo hall, which everyone can read; \
                 give them their own passwords in the hall file (or run with --demo for a demonstration)",
                demo_passwords.join(", ")
            );
        }
    }
    std::fs::create_dir_all(&opts.data_dir)?;
    let id_key = Arc::new(id_key(&opts.data_dir)?);
    let mut opts = opts;
    if opts.always_open {
        opts.hall.hours = None;
    }
    let hall_id = opts.hall.hall.id.to_string();
    let store: Box<dyn store::EventStore> = match &opts.store {
        Some(url) => {
            anyhow::ensure!(
                opts.hall.notify.is_none(),
                "webhook notifications ([notify]) need the SQLite log for now; \
                 remove [notify] from the hall file or run without --store"
            );
            let pg = store_pg::PgStore::open(url, &hall_id)?;
            tracing::info!(hall = %hall_id, "the event log is in PostgreSQL");
            Box::new(pg)
        }
        None => Box::new(SqliteStore::open(&opts.data_dir.join("hall.db"))?),
    };
    if let Some(n) = &opts.hall.notify {
        notify::spawn_sender(
            &opts.data_dir.join("hall.db"),
            n.url.clone(),
            n.secret.clone(),
        )?;
    }
    let throttle = Arc::new(throttle::LoginThrottle::default());
    // Read before anything listens: a bad file stops the start, named.
    let tls_config = opts.tls.as_ref().map(|t| t.server_config()).transpose()?;
    // The embedded broker first (not listening yet): the owner publishes
    // straight into it, and its inbox is in place before any device can
    // log in.
    let mut mqtt_tls = None;
    let mut mqtt_addr = None;
    let (mqtt_out, embedded, external) = match opts.broker {
        BrokerMode::Embedded(addr) => {
            let accounts = broker::Accounts::from_hall(&opts.hall);
            let broker = broker::Broker::new(accounts, throttle.clone()).await;
            let listen = broker::Listen {
                plain: (!opts.tls_only).then_some(addr),
                tls: opts.tls.clone().map(|t| (opts.mqtt_tls, t)),
            };
            (
                MqttOut::Embedded(broker.injector()),
                Some((broker, listen)),
                None,
            )
        }
        BrokerMode::External {
            host,
            port,
            user,
            password,
        } => {
            let addr = tokio::net::lookup_host((host.as_str(), port))
                .await?
                .next()
                .ok_or_else(|| anyhow::anyhow!("cannot resolve MQTT host {host}"))?;
            mqtt_addr = Some(addr);
            let (tx, rx) = mpsc::unbounded_channel();
            let login = Login {
                host,
                port,
                hall: hall_id.clone(),
                user,
                password,
                tls: None,
            };
            (MqttOut::Client(tx), None, Some((login, rx)))
        }
    };
    let (stream, _) = broadcast::channel(1024);
    let (wake, wake_rx) = watch::channel(None);
    let (storage, storage_rx) = watch::channel(None);
    let sinks = Sinks {
        mqtt: mqtt_out.clone(),
        stream: stream.clone(),
        wake,
        storage,
        stages: Default::default(),
    };
    let stages = sinks.stages.clone();
    // On a plain thread: a PostgreSQL store's client blocks on a runtime
    // of its own, which it cannot do inside this one.
    let config = opts.hall.clone();
    let engine = std::thread::scope(|scope| {
        scope
            .spawn(move || Engine::load(config, store, sinks))
            .join()
            .map_err(|_| anyhow::anyhow!("rebuilding the hall panicked"))
    })??;
    let (tx, rx) = mpsc::channel(4096);
    let handle = EngineHandle {
        tx,
        stages,
        reader: engine.reader(),
    };
    std::thread::Builder::new()
        .name("hallq-owner".into())
        .spawn(move || {
            // The owner is the hall: if it ever panics, stop the process so
            // the service manager restarts it and the log rebuilds the state,
            // rather than answer "unavailable" forever.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.run(rx))).is_err() {
                tracing::error!("the hall's owner thread panicked; stopping");
                std::process::exit(70);
            }
        })?;
    spawn_timer(handle.clone(), wake_rx);

    let health = bridge::DeviceHealth::default();
    let inbox = bridge::ServerInbox {
        hall: hall_id.clone(),
        engine: handle.clone(),
        health: health.clone(),
        staff: staff::StaffLogin::from_hall(&opts.hall),
        stream: stream.clone(),
        out: mqtt_out.clone(),
    };
    if let Some((broker, listen)) = embedded {
        let _ = broker.inbox().set(Arc::new(inbox.clone()));
        let bound = broker.listen(listen)?;
        mqtt_tls = bound.tls;
        mqtt_addr = bound.plain;
    }
    if let Some((login, outgoing)) = external {
        let subscribed = bridge::spawn(login, inbox, outgoing);
        if tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .is_err()
        {
            tracing::warn!(
                "the MQTT broker did not answer within 10 s; pads are heard once it does"
            );
        }
    }
    spawn_heartbeat(handle.clone(), hall_id.clone(), mqtt_out.clone());
    spawn_metrics(handle.clone(), hall_id.clone(), mqtt_out, stream.clone());

    let listener = tokio::net::TcpListener::bind(opts.http).await?;
    let http_addr = listener.local_addr()?;
    let https = tls_config.is_some();
    let accounts = Arc::new(
        opts.hall
            .devices
            .iter()
            .filter(|d| {
                matches!(
                    d.role,
                    hallq_core::DeviceRole::Manager | hallq_core::DeviceRole::Kiosk
                )
            })
            .map(|d| (d.id.to_string(), (d.role, d.password.clone())))
            .collect(),
    );
    let limits = Arc::new(http::auth::Limits::per_minute(
        opts.public_writes_per_minute,
        opts.public_reads_per_minute,
    ));
    let public = stream::spawn_public(&stream);
    let app = http::app(http::AppState {
        hall: hall_id,
        engine: handle.clone(),
        stream,
        public,
        health,
        id_key,
        accounts,
        limits,
        throttle,
        storage: storage_rx,
        sessions: Arc::new(http::session::Sessions::new(
            std::mem::take(&mut opts.staff),
            opts.demo || opts.always_open,
        )),
        https,
        log: Some(match &opts.store {
            Some(url) => http::LogSource::Postgres(url.clone()),
            None => http::LogSource::Sqlite(opts.data_dir.join("hall.db")),
        }),
        printing: Arc::new(
            crate::print::Printing::from_hall(&opts.hall).map_err(anyhow::Error::msg)?,
        ),
    });
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls_config {
        Some(config) => {
            use axum::serve::ListenerExt;
            // `tap_io` only so that axum hands the client's address on.
            let listener = tls::TlsListener::new(listener, config)?.tap_io(|_| {});
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "HTTPS server stopped");
                }
            });
        }
        None => {
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "HTTP server stopped");
                }
            });
        }
    }
    Ok(Running {
        http: http_addr,
        https,
        mqtt: mqtt_addr,
        mqtt_tls,
        engine: handle,
    })
}

/// The hall's secret for hashing ID numbers, made once and kept in the data
/// folder (`id.key`, readable by the owner only). Made only when there is no
/// such file: a key that exists but cannot be read stops the start, since a
/// new key would silently reset every quota and booking ban.
pub fn id_key(data_dir: &std::path::Path) -> anyhow::Result<ring::hmac::Key> {
    let path = data_dir.join("id.key");
    let secret = match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == 32 => bytes,
        Ok(bytes) => anyhow::bail!(
            "{} holds {} bytes, not 32: it is damaged. Restore it from a backup; \
             only if it is lost for good, delete it (quotas and booking bans then start afresh)",
            path.display(),
            bytes.len()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes: Vec<u8> = uuid::Uuid::new_v4()
                .as_bytes()
                .iter()
                .chain(uuid::Uuid::new_v4().as_bytes())
                .copied()
                .collect();
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, &bytes)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
            }
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            tracing::info!(path = %path.display(), "made the hall's secret for ID numbers");
            bytes
        }
        Err(e) => anyhow::bail!(
            "cannot read the hall's secret {}: {e}. Fix its permissions; do not delete it \
             (quotas and booking bans would start afresh)",
            path.display()
        ),
    };
    Ok(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret))
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
                return;
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
            let Some(m) = engine.metrics().await else {
                return;
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
