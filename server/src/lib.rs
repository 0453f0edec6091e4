//! The hallq server: the queue broker of a service hall, or of a city's
//! halls.
//!
//! # Layout
//!
//! - [`config`]: the hall file (TOML) → [`hallq_core::HallConfig`], with located errors.
//! - [`store`]: the append-only event log ([`store::EventStore`]; SQLite),
//!   [`store_pg`] the same in PostgreSQL.
//! - [`engine`]: the one owner of a hall: core + log + group commit; it
//!   answers and publishes only after a commit.
//! - `hall`: one hall of the server: its start, the keeper of its owner
//!   (standing by, rebuilding, stepping down), its periodic messages.
//! - [`lease`]: which node runs a hall when nodes share PostgreSQL.
//! - [`broker`]: the embedded MQTT broker with the contract's permissions.
//! - [`bridge`]: the server's MQTT client (embedded or external broker).
//! - [`views`]: what the outside sees (API JSON, contract messages, report);
//!   [`cases`] the same for cases after the counter.
//! - [`http`]: the HTTP + WebSocket API (one router per hall, one listener).
//! - [`mosquitto`]: the same permissions as Mosquitto ACL and password files.
//!
//! [`start`] wires them together and returns the bound addresses, so tests
//! and the demo can run a whole server on port 0.

pub mod bridge;
pub mod broker;
pub mod cases;
pub mod chain;
pub mod config;
pub mod dashboard;
pub mod digest;
pub mod engine;
pub mod forecaster;
mod hall;
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
pub mod verify;
pub mod views;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hallq_core::HallConfig;
use tokio::sync::mpsc;

use crate::engine::EngineHandle;
pub use crate::hall::HEARTBEAT;
use crate::hall::sort_out;
use crate::hall::{Common, start_hall};

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
    /// Start even when a hall's log fails its hash chain (logged loudly);
    /// otherwise such a hall does not start (see [`chain`]).
    pub accept_broken_log: bool,
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
            write_secret(&path, &bytes)?;
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

/// Writes a secret file whole or not at all, readable by its owner only.
pub(crate) fn write_secret(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}
