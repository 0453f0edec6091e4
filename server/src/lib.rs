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
pub mod lease;
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

use std::collections::BTreeMap;
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
    /// The halls this server runs (at least one). With one, its log is in
    /// `data_dir` itself; with several, each hall's is in `data_dir/{hall}/`.
    pub halls: Vec<HallConfig>,
    /// Holds `hall.db` (the log) and `id.key`.
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
    /// Hall files that could not be read (their path as `hall`): shown in
    /// `/healthz` with the halls that did not start.
    pub unreadable: Vec<Refused>,
    /// This node's name among the nodes that share the PostgreSQL store
    /// (default: the machine's name); see [`lease`].
    pub node: Option<String>,
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
    /// The first hall's owner.
    pub engine: EngineHandle,
    /// Every running hall's owner, by hall id.
    pub halls: BTreeMap<String, EngineHandle>,
    /// The halls that did not start, and why.
    pub refused: Vec<Refused>,
}

impl Running {
    /// Lets every hall's owner finish what it has queued and stop.
    pub async fn shutdown(&self) {
        for engine in self.halls.values() {
            engine.shutdown().await;
        }
    }
}

/// A hall that is not running on this server, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refused {
    pub hall: String,
    pub why: String,
}

/// Starts everything and returns once it listens. Runs until the process
/// ends. One hall that cannot start stops the start when it is the only
/// one; among several it is left out (in [`Running::refused`], the log and
/// `/healthz`) and the others run.
pub async fn start(opts: Options) -> anyhow::Result<Running> {
    let mut opts = opts;
    anyhow::ensure!(!opts.halls.is_empty(), "no hall to serve");
    let several = opts.halls.len() + opts.unreadable.len() > 1;
    std::fs::create_dir_all(&opts.data_dir)?;
    if several && opts.data_dir.join("hall.db").exists() {
        anyhow::bail!(
            "{} holds the log of a single hall; with several halls each hall's log is in \
             its own folder: move hall.db (and hall.db-wal, hall.db-shm) into {}/<hall id>/",
            opts.data_dir.join("hall.db").display(),
            opts.data_dir.display()
        );
    }
    let id_key = Arc::new(id_key(&opts.data_dir)?);
    let (halls, mut refused) = sort_out(
        std::mem::take(&mut opts.halls),
        opts.demo || opts.always_open,
    );
    refused.splice(0..0, std::mem::take(&mut opts.unreadable));
    if !several && let Some(r) = refused.first() {
        anyhow::bail!("{}", r.why);
    }
    let throttle = Arc::new(throttle::LoginThrottle::default());
    // Read before anything listens: a bad file stops the start, named.
    let tls_config = opts.tls.as_ref().map(|t| t.server_config()).transpose()?;
    // The embedded broker first (not listening yet): the owners publish
    // straight into it, and its accounts and inboxes are in place before
    // any device can log in.
    let broker = match opts.broker {
        BrokerMode::Embedded(_) => Some(broker::Broker::new(throttle.clone()).await),
        BrokerMode::External { .. } => None,
    };
    let common = Common {
        several,
        injector: broker.as_ref().map(|b| b.injector()),
        id_key,
        throttle: throttle.clone(),
        limits: Arc::new(http::auth::Limits::per_minute(
            opts.public_writes_per_minute,
            opts.public_reads_per_minute,
        )),
        sessions: Arc::new(http::session::Sessions::new(
            std::mem::take(&mut opts.staff),
            opts.demo || opts.always_open,
        )),
        https: tls_config.is_some(),
    };
    // Each hall's way to its owner, made first: the leases wake owners.
    let mut ways: BTreeMap<String, (mpsc::Sender<engine::Input>, mpsc::Receiver<engine::Input>)> =
        halls
            .iter()
            .map(|h| (h.hall.id.to_string(), mpsc::channel(4096)))
            .collect();
    let leases: BTreeMap<String, Arc<lease::Lease>> = match &opts.store {
        Some(url) => {
            let node = opts.node.clone().unwrap_or_else(lease::host_name);
            let ids: Vec<String> = ways.keys().cloned().collect();
            let mut keeper = lease::Keeper::new(url, &node, &ids);
            for (id, (tx, _)) in &ways {
                keeper.wake(id, tx.clone());
            }
            let leases = ids
                .iter()
                .map(|id| (id.clone(), keeper.lease(id).expect("a lease per hall")))
                .collect();
            // Its first round on a plain thread (the client blocks): the
            // halls this node can run are its own before it says it is up.
            std::thread::scope(|s| s.spawn(|| keeper.start()).join())
                .map_err(|_| anyhow::anyhow!("the lease keeper panicked"))??;
            tracing::info!(node = %node, "leases in PostgreSQL: this node runs the halls it holds, and stands by for the others");
            leases
        }
        None => ways
            .keys()
            .map(|id| (id.clone(), lease::Lease::always(id)))
            .collect(),
    };
    let mut started = Vec::new();
    for hall in halls {
        let id = hall.hall.id.to_string();
        let way = ways.remove(&id).expect("a way per hall");
        match start_hall(hall, way, leases[&id].clone(), &opts, &common).await {
            Ok(h) => started.push(h),
            Err(e) if several => {
                tracing::error!(hall = %id, error = %format!("{e:#}"), "this hall does not run; the others do");
                refused.push(Refused {
                    hall: id,
                    why: format!("{e:#}"),
                });
            }
            Err(e) => return Err(e),
        }
    }
    anyhow::ensure!(
        !started.is_empty(),
        "no hall could start: {}",
        refused
            .iter()
            .map(|r| format!("{}: {}", r.hall, r.why))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let (mqtt_addr, mqtt_tls) = match (broker, &opts.broker) {
        (Some(broker), BrokerMode::Embedded(addr)) => {
            let served = broker::Served {
                accounts: broker::Accounts::from_halls(started.iter().map(|h| &h.config)),
                inboxes: started
                    .iter()
                    .map(|h| {
                        (
                            h.id.clone(),
                            Arc::new(h.inbox.clone()) as Arc<dyn broker::Inbox>,
                        )
                    })
                    .collect(),
            };
            let listen = broker::Listen {
                plain: (!opts.tls_only).then_some(*addr),
                tls: opts.tls.clone().map(|t| (opts.mqtt_tls, t)),
            };
            let bound = broker.listen(listen, served)?;
            (bound.plain, bound.tls)
        }
        (_, BrokerMode::External { host, port, .. }) => (
            tokio::net::lookup_host((host.as_str(), *port))
                .await?
                .next(),
            None,
        ),
        (None, BrokerMode::Embedded(_)) => unreachable!("made above"),
    };

    let listener = tokio::net::TcpListener::bind(opts.http).await?;
    let http_addr = listener.local_addr()?;
    let engines: BTreeMap<String, EngineHandle> = started
        .iter()
        .map(|h| (h.id.clone(), h.state.engine.clone()))
        .collect();
    let first = started[0].state.engine.clone();
    let app = http::city(
        started
            .into_iter()
            .map(|h| (h.id, h.config.hall.name.to_string(), h.state))
            .collect(),
        refused.clone(),
    );
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
        https: common.https,
        mqtt: mqtt_addr,
        mqtt_tls,
        engine: first,
        halls: engines,
        refused,
    })
}

/// What every hall of the server shares.
struct Common {
    several: bool,
    /// The embedded broker's, if it is embedded.
    injector: Option<broker::Injector>,
    id_key: Arc<ring::hmac::Key>,
    throttle: Arc<throttle::LoginThrottle>,
    limits: Arc<http::auth::Limits>,
    sessions: Arc<http::session::Sessions>,
    https: bool,
}

/// One started hall.
struct StartedHall {
    id: String,
    config: HallConfig,
    inbox: bridge::ServerInbox,
    state: http::AppState,
}

/// Leaves out the halls that cannot run beside the others or at all: a
/// hall id another hall has (both: which one is meant cannot be known),
/// a device id an earlier hall uses (one broker, one login per device id),
/// the shipped demo passwords outside a demonstration.
pub fn sort_out(halls: Vec<HallConfig>, demo: bool) -> (Vec<HallConfig>, Vec<Refused>) {
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
) -> anyhow::Result<Box<dyn store::EventStore>> {
    Ok(match url {
        Some(url) => Box::new(store_pg::PgStore::open(url, &lease.hall)?.fenced_by(lease.clone())),
        None => Box::new(SqliteStore::open(&dir.join("hall.db"))?),
    })
}

/// Starts one hall: its log, its owner (on a thread of its own), its
/// timers, its inbox and its part of the HTTP API.
async fn start_hall(
    mut config: HallConfig,
    (tx, rx): (mpsc::Sender<engine::Input>, mpsc::Receiver<engine::Input>),
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
    // A hall another node runs is loaded when this node takes it.
    let store = if lease.held() {
        Some(open_store(opts.store.as_deref(), &dir, &lease)?)
    } else {
        None
    };
    if let Some(n) = &config.notify {
        notify::spawn_sender(&dir.join("hall.db"), n.url.clone(), n.secret.clone())?;
    }
    let (mqtt_out, external) = match &opts.broker {
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
                hall: hall_id.clone(),
                user: user.clone(),
                password: password.clone(),
                tls: None,
            };
            (MqttOut::Client(tx), Some((login, rx)))
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
        lease: lease.clone(),
    };
    let stages = sinks.stages.clone();
    let readers = engine::ReadSide::empty(config.clone());
    // On a plain thread: a PostgreSQL store's client blocks on a runtime
    // of its own, which it cannot do inside this one.
    let engine = match store {
        Some(store) => Some(std::thread::scope(|scope| {
            let (config, sinks, readers) = (config.clone(), sinks.clone(), readers.clone());
            scope
                .spawn(move || Engine::reload(config, store, sinks, readers))
                .join()
                .map_err(|_| anyhow::anyhow!("rebuilding the hall panicked"))
        })??),
        None => None,
    };
    let handle = EngineHandle {
        tx,
        stages,
        reader: readers.reader(),
    };
    let rebuild = {
        let (dir, url, lease, config) = (
            dir.clone(),
            opts.store.clone(),
            lease.clone(),
            config.clone(),
        );
        move || {
            let store = open_store(url.as_deref(), &dir, &lease)?;
            Engine::reload(config.clone(), store, sinks.clone(), readers.clone())
        }
    };
    let (owner_hall, owner_lease) = (hall_id.clone(), lease.clone());
    std::thread::Builder::new()
        .name("hallq-owner".into())
        .spawn(move || run_owner(&owner_hall, &owner_lease, engine, rx, rebuild))?;
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
        mqtt_out,
        stream.clone(),
    );

    let accounts = Arc::new(
        config
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
    let public = stream::spawn_public(&stream);
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
        log: Some(match &opts.store {
            Some(url) => http::LogSource::Postgres(url.clone()),
            None => http::LogSource::Sqlite(dir.join("hall.db")),
        }),
        printing: Arc::new(crate::print::Printing::from_hall(&config).map_err(anyhow::Error::msg)?),
    };
    Ok(StartedHall {
        id: hall_id,
        config,
        inbox,
        state,
    })
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
    mut rx: mpsc::Receiver<engine::Input>,
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
    rx: &mut mpsc::Receiver<engine::Input>,
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
