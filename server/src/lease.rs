//! Which node runs a hall, when several `hallq` nodes share one PostgreSQL
//! database (issue 13): a lease per hall in the database, with a fencing
//! token.
//!
//! - A node takes a hall's lease when it has expired (by the database's
//!   clock, so the nodes' clocks do not matter); every take adds one to
//!   the hall's token. A node restarted under the same `--node` name takes
//!   its own lease back at once.
//! - The owner renews its leases every [`RENEW_EVERY`]; a lease lasts
//!   [`TTL`]. An owner that could not renew for [`STEP_DOWN_AFTER`] (less
//!   than the TTL) stops running the hall before anyone else may take it.
//! - Every append of the hall's log checks, in its transaction, that the
//!   token it holds is still the hall's (`FOR SHARE`, so a take waits for
//!   that transaction): a node that lost its lease — paused, cut off —
//!   can never write for the hall again, whatever it believes.
//!
//! With SQLite there is one node: its leases are always held.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use tokio::sync::mpsc;

use crate::engine::Input;

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(3);
/// How often the owner renews and the others look for expired leases.
pub const RENEW_EVERY: Duration = Duration::from_millis(500);
/// An owner that could not renew for this long stops running the hall.
pub const STEP_DOWN_AFTER: Duration = Duration::from_secs(2);

/// A hall's lease as this node knows it.
#[derive(Debug)]
pub struct Lease {
    pub hall: String,
    held: AtomicBool,
    token: AtomicU64,
    /// The node that holds it, when another does (for "try there").
    holder: Mutex<Option<String>>,
}

impl Lease {
    /// A lease nobody else can want: one node, SQLite.
    pub fn always(hall: &str) -> Arc<Lease> {
        Arc::new(Lease {
            hall: hall.to_owned(),
            held: AtomicBool::new(true),
            token: AtomicU64::new(0),
            holder: Mutex::new(None),
        })
    }

    fn new(hall: &str) -> Arc<Lease> {
        Arc::new(Lease {
            hall: hall.to_owned(),
            held: AtomicBool::new(false),
            token: AtomicU64::new(0),
            holder: Mutex::new(None),
        })
    }

    /// Whether this node runs the hall now.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// The fencing token of this node's lease (meaningful while held).
    pub fn token(&self) -> u64 {
        self.token.load(Ordering::Acquire)
    }

    /// The node that runs the hall, when it is another.
    pub fn holder(&self) -> Option<String> {
        self.holder.lock().expect("holder lock").clone()
    }
}

/// The table, made by whichever node comes first.
pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS hallq_leases (
    hall       TEXT PRIMARY KEY,
    node       TEXT NOT NULL,
    token      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
)";

/// One hall's lease and the owner to wake when it is lost.
struct Kept {
    lease: Arc<Lease>,
    owner: Option<mpsc::Sender<Input>>,
    /// When it was last taken or renewed (this node's clock).
    renewed: Option<Instant>,
}

/// Keeps this node's leases for all its halls: one thread, one connection.
pub struct Keeper {
    url: String,
    node: String,
    kept: Vec<Kept>,
    client: Option<Client>,
    /// The first round takes back this node's own leases at once.
    first: bool,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Keeper {
    /// Leases for these halls, none held yet, as node `node`.
    pub fn new(url: &str, node: &str, halls: &[String]) -> Keeper {
        Keeper {
            url: url.to_owned(),
            node: node.to_owned(),
            kept: halls
                .iter()
                .map(|h| Kept {
                    lease: Lease::new(h),
                    owner: None,
                    renewed: None,
                })
                .collect(),
            client: None,
            first: true,
        }
    }

    /// The lease of `hall`.
    pub fn lease(&self, hall: &str) -> Option<Arc<Lease>> {
        self.kept
            .iter()
            .find(|k| k.lease.hall == hall)
            .map(|k| k.lease.clone())
    }

    /// Where to wake `hall`'s owner when its lease is lost.
    pub fn wake(&mut self, hall: &str, owner: mpsc::Sender<Input>) {
        if let Some(k) = self.kept.iter_mut().find(|k| k.lease.hall == hall) {
            k.owner = Some(owner);
        }
    }

    /// One round now (on the caller's plain thread: the client blocks), so
    /// that the halls this node can take are taken before it says it is
    /// ready; then rounds every [`RENEW_EVERY`] on a thread of its own.
    /// A database that cannot be reached stops the start.
    pub fn start(mut self) -> anyhow::Result<()> {
        if let Some(e) = self.round() {
            anyhow::bail!(
                "cannot reach PostgreSQL at {}: {e}",
                crate::store_pg::redact(&self.url)
            );
        }
        std::thread::Builder::new()
            .name("hallq-leases".into())
            .spawn(move || {
                loop {
                    let next = Instant::now() + RENEW_EVERY;
                    let _ = self.round();
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })?;
        Ok(())
    }

    /// Renews what is held, takes what has expired, steps down from what
    /// could not be renewed in time. The error when it could not connect.
    fn round(&mut self) -> Option<postgres::Error> {
        let now = Instant::now();
        let mut unreachable = None;
        if self.client.is_none() {
            match Client::connect(&self.url, NoTls).and_then(|mut c| {
                // A take waits for an append under the old token (FOR
                // SHARE); not for ever: the next round tries again.
                c.batch_execute("SET lock_timeout = '1s'")?;
                c.batch_execute(SCHEMA)?;
                Ok(c)
            }) {
                Ok(c) => self.client = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "leases: cannot reach PostgreSQL");
                    unreachable = Some(e);
                }
            }
        }
        let first = std::mem::take(&mut self.first);
        for i in 0..self.kept.len() {
            let result = match self.client.as_mut() {
                Some(client) => one(client, &self.node, &mut self.kept[i], first, now),
                None => Err(None),
            };
            if let Err(Some(e)) = result {
                tracing::warn!(hall = %self.kept[i].lease.hall, error = %e, "leases: PostgreSQL failed");
                self.client = None;
            }
            let k = &mut self.kept[i];
            if k.lease.held()
                && k.renewed
                    .is_none_or(|at| now.duration_since(at) >= STEP_DOWN_AFTER)
            {
                tracing::warn!(hall = %k.lease.hall, "lease not renewed in time: this node stops running the hall");
                lose(k);
            }
        }
        unreachable
    }
}

/// Renews or takes one lease. `Err(Some)` when the connection failed.
fn one(
    client: &mut Client,
    node: &str,
    k: &mut Kept,
    first: bool,
    now: Instant,
) -> Result<(), Option<postgres::Error>> {
    let ttl = TTL.as_secs_f64();
    let hall = k.lease.hall.clone();
    if k.lease.held() {
        let token = k.lease.token() as i64;
        let renewed = client
            .execute(
                "UPDATE hallq_leases SET expires_at = now() + make_interval(secs => $4)
                 WHERE hall = $1 AND node = $2 AND token = $3",
                &[&hall, &node, &token, &ttl],
            )
            .map_err(Some)?;
        if renewed == 1 {
            k.renewed = Some(now);
        } else {
            tracing::warn!(hall = %hall, "another node took this hall's lease: this node stops running it");
            lose(k);
        }
        return Ok(());
    }
    let taken = client
        .query_opt(
            "INSERT INTO hallq_leases (hall, node, token, expires_at)
             VALUES ($1, $2, 1, now() + make_interval(secs => $3))
             ON CONFLICT (hall) DO UPDATE
                SET node = $2, token = hallq_leases.token + 1,
                    expires_at = now() + make_interval(secs => $3)
                WHERE hallq_leases.expires_at < now() OR ($4 AND hallq_leases.node = $2)
             RETURNING token",
            &[&hall, &node, &ttl, &first],
        )
        .map_err(Some)?;
    match taken {
        Some(row) => {
            let token: i64 = row.get(0);
            k.lease.token.store(token as u64, Ordering::Release);
            *k.lease.holder.lock().expect("holder lock") = None;
            k.renewed = Some(now);
            k.lease.held.store(true, Ordering::Release);
            tracing::info!(hall = %hall, token, "this node runs the hall now");
        }
        None => {
            let holder = client
                .query_opt("SELECT node FROM hallq_leases WHERE hall = $1", &[&hall])
                .map_err(Some)?
                .map(|r| r.get::<_, String>(0));
            *k.lease.holder.lock().expect("holder lock") = holder;
        }
    }
    Ok(())
}

fn lose(k: &mut Kept) {
    k.lease.held.store(false, Ordering::Release);
    k.renewed = None;
    // Wakes an idle owner so that it steps down now, not at its next input.
    if let Some(owner) = &k.owner {
        let _ = owner.try_send(Input::Copy);
    }
}

/// This machine's name: a node's default name.
pub fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}
