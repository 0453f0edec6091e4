//! The event log in PostgreSQL (`--store postgres://…`), for deployments
//! that keep their data in a database server: the same events, replies and
//! outbox as [`crate::store::SqliteStore`], the same all-or-nothing batch,
//! and a commit that returns only once the server has it on disk
//! (`synchronous_commit = on`, whatever the server's default).
//!
//! Every row carries its hall's id, so halls can share one database. (The
//! pad's window is `win`: `window` is a reserved word in SQL.)
//!
//! The client is the synchronous one: it runs its own small runtime, so it
//! is used from plain threads only (the owner thread, or a thread of its
//! own) — never from inside the server's tokio runtime.

use std::sync::Arc;

use hallq_core::Record;
use postgres::{Client, NoTls};

use crate::lease::Lease;

use crate::chain::{self, GENESIS, Hash};
use crate::store::{Batch, Check, EventStore, OnBreak, RawRow, StoreError, StoredReply};

/// One hall's log in a PostgreSQL database.
pub struct PgStore {
    client: Client,
    hall: String,
    /// The last stored record and its hash; `None` until first needed.
    head: Option<(u64, Hash)>,
    on_break: OnBreak,
    /// Every append checks that this lease's token is still the hall's.
    lease: Option<Arc<Lease>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("hall", &self.hall)
            .finish_non_exhaustive()
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        // The server's own words when it said something ("db error" alone
        // helps nobody).
        match e.as_db_error() {
            Some(db) => StoreError::Other(format!(
                "PostgreSQL: {} ({})",
                db.message(),
                db.code().code()
            )),
            None => StoreError::Other(format!("PostgreSQL: {e}")),
        }
    }
}

impl PgStore {
    /// Connects (on a thread of its own: callable from anywhere) and makes
    /// the tables if they are not there.
    pub fn open(url: &str, hall: &str) -> Result<PgStore, StoreError> {
        Self::connect(url, hall, true)
    }

    /// Connects to look at a hall's log only (`hallq verify`): nothing is
    /// made, chained or changed.
    pub fn open_read_only(url: &str, hall: &str) -> Result<PgStore, StoreError> {
        Self::connect(url, hall, false)
    }

    fn connect(url: &str, hall: &str, prepare: bool) -> Result<PgStore, StoreError> {
        let (url, hall) = (url.to_owned(), hall.to_owned());
        std::thread::spawn(move || -> Result<PgStore, StoreError> {
            let mut client = Client::connect(&url, NoTls).map_err(|e| {
                StoreError::Other(format!("cannot reach PostgreSQL at {}: {e}", redact(&url)))
            })?;
            if !prepare {
                client.batch_execute("SET default_transaction_read_only = on")?;
                return Ok(PgStore {
                    client,
                    hall,
                    head: None,
                    on_break: OnBreak::Skip,
                    lease: None,
                });
            }
            // A node paused in the middle of an append (its lease's row
            // locked FOR SHARE) must not hold the next owner off for
            // longer than that: the server ends such a session.
            client.batch_execute(
                "SET synchronous_commit = on;
                SET idle_in_transaction_session_timeout = '2s';
                CREATE TABLE IF NOT EXISTS hallq_events (
                    hall  TEXT NOT NULL,
                    seq   BIGINT NOT NULL,
                    at_ms BIGINT NOT NULL,
                    body  TEXT NOT NULL,
                    hash  BYTEA,
                    PRIMARY KEY (hall, seq)
                );
                CREATE TABLE IF NOT EXISTS hallq_digests (
                    hall     TEXT NOT NULL,
                    day      BIGINT NOT NULL,
                    last_seq BIGINT NOT NULL,
                    signed   TEXT NOT NULL,
                    PRIMARY KEY (hall, day)
                );
                CREATE TABLE IF NOT EXISTS hallq_pad_replies (
                    hall       TEXT NOT NULL,
                    win        TEXT NOT NULL,
                    command_id TEXT NOT NULL,
                    at_ms      BIGINT NOT NULL,
                    body       TEXT NOT NULL,
                    PRIMARY KEY (hall, win, command_id)
                );
                CREATE TABLE IF NOT EXISTS hallq_outbox (
                    hall     TEXT NOT NULL,
                    key      TEXT NOT NULL,
                    at_ms    BIGINT NOT NULL,
                    body     TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_ms  BIGINT NOT NULL,
                    sent_ms  BIGINT,
                    PRIMARY KEY (hall, key)
                );",
            )?;
            client.batch_execute(crate::lease::SCHEMA)?;
            // A log from before the chain: the column, then its records
            // chained as they stand (see `SqliteStore`).
            client.batch_execute("ALTER TABLE hallq_events ADD COLUMN IF NOT EXISTS hash BYTEA")?;
            seal_old_log(&mut client, &hall)?;
            Ok(PgStore {
                client,
                hall,
                head: None,
                on_break: OnBreak::Refuse,
                lease: None,
            })
        })
        .join()
        .map_err(|_| StoreError::Other("the PostgreSQL connection thread panicked".into()))?
    }
}

/// Chains a hall's records if none of them is chained yet.
fn seal_old_log(client: &mut Client, hall: &str) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    let chained: i64 = tx
        .query_one(
            "SELECT count(*) FROM hallq_events WHERE hall = $1 AND hash IS NOT NULL",
            &[&hall],
        )?
        .get(0);
    if chained > 0 {
        return Ok(());
    }
    let rows = tx.query(
        "SELECT seq, at_ms, body FROM hallq_events WHERE hall = $1 ORDER BY seq FOR UPDATE",
        &[&hall],
    )?;
    if rows.is_empty() {
        return Ok(());
    }
    let set = tx.prepare("UPDATE hallq_events SET hash = $3 WHERE hall = $1 AND seq = $2")?;
    let mut head = GENESIS;
    for r in &rows {
        let seq: i64 = r.get(0);
        head = chain::link(&head, seq as u64, r.get(1), r.get(2));
        tx.execute(&set, &[&hall, &seq, &&head[..]])?;
    }
    tx.commit()?;
    tracing::warn!(
        hall,
        records = rows.len(),
        "this log was written before hallq chained its records: they are chained now, as they stand; the chain vouches for them from now on only"
    );
    Ok(())
}

impl PgStore {
    /// What reading this log does where its chain breaks.
    pub fn on_break(mut self, on_break: OnBreak) -> PgStore {
        self.on_break = on_break;
        self
    }

    /// Appends only while `lease` is this node's (see [`crate::lease`]).
    pub fn fenced_by(mut self, lease: Arc<Lease>) -> PgStore {
        self.lease = Some(lease);
        self
    }
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{user}:…{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl EventStore for PgStore {
    fn for_each_record(&mut self, f: &mut dyn FnMut(Record)) -> Result<(), StoreError> {
        let digests = if self.on_break == OnBreak::Skip {
            Vec::new()
        } else {
            self.digests()?
        };
        let mut check = Check::new(self.on_break, &digests);
        self.raw_rows(0, &mut |row| {
            check.row(row)?;
            let event = serde_json::from_str(row.body).map_err(|source| StoreError::Corrupt {
                seq: row.seq,
                source,
            })?;
            f(Record {
                seq: row.seq,
                at_ms: row.at_ms,
                event,
            });
            Ok(())
        })
    }

    fn raw_rows(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(RawRow<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let hall = self.hall.clone();
        let after = after as i64;
        let params: [&(dyn postgres::types::ToSql + Sync); 2] = [&hall, &after];
        let mut rows = self.client.query_raw(
            "SELECT seq, at_ms, body, hash FROM hallq_events WHERE hall = $1 AND seq > $2 ORDER BY seq",
            params,
        )?;
        while let Some(row) = rows.next()? {
            f(RawRow {
                seq: row.get::<_, i64>(0) as u64,
                at_ms: row.get(1),
                body: row.get(2),
                hash: row.get(3),
            })?;
        }
        Ok(())
    }

    fn digests(&mut self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .client
            .query(
                "SELECT signed FROM hallq_digests WHERE hall = $1 ORDER BY day",
                &[&self.hall],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn put_digest(&mut self, day: i64, last_seq: u64, signed: &str) -> Result<(), StoreError> {
        self.client.execute(
            "INSERT INTO hallq_digests (hall, day, last_seq, signed) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
            &[&self.hall, &day, &(last_seq as i64), &signed],
        )?;
        Ok(())
    }

    fn replies(&mut self, since_ms: i64) -> Result<Vec<StoredReply>, StoreError> {
        let rows = self.client.query(
            "SELECT win, command_id, body, at_ms FROM hallq_pad_replies
             WHERE hall = $1 AND at_ms >= $2",
            &[&self.hall, &since_ms],
        )?;
        Ok(rows
            .iter()
            .map(|r| StoredReply {
                window: r.get(0),
                command_id: r.get(1),
                body: r.get(2),
                at_ms: r.get(3),
            })
            .collect())
    }

    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        // Whatever happens, a failed append reads the head afresh next time
        // (a commit whose answer was lost may have happened).
        let result = self.try_append(batch);
        if result.is_err() {
            self.head = None;
        }
        result
    }

    fn forget_replies(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self.client.execute(
            "DELETE FROM hallq_pad_replies WHERE hall = $1 AND at_ms < $2",
            &[&self.hall, &before_ms],
        )? as usize)
    }
}

impl PgStore {
    fn try_append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let hall = self.hall.clone();
        if self.lease.as_ref().is_some_and(|l| !l.held()) {
            return Err(StoreError::Fenced);
        }
        let mut tx = self.client.transaction()?;
        if let Some(lease) = &self.lease {
            // Shared lock on the lease: a take waits for this transaction,
            // so what it commits is in the log the next owner reads.
            let ours = tx.query_opt(
                "SELECT 1 FROM hallq_leases WHERE hall = $1 AND token = $2 FOR SHARE",
                &[&hall, &(lease.token() as i64)],
            )?;
            if ours.is_none() {
                return Err(StoreError::Fenced);
            }
        }
        let mut head = match self.head {
            Some(h) => h,
            None => {
                let row = tx.query_opt(
                    "SELECT seq, hash FROM hallq_events WHERE hall = $1 ORDER BY seq DESC LIMIT 1",
                    &[&hall],
                )?;
                row.map_or((0, GENESIS), |r| {
                    let hash: Option<&[u8]> = r.get(1);
                    (
                        r.get::<_, i64>(0) as u64,
                        hash.and_then(|h| h.try_into().ok()).unwrap_or(GENESIS),
                    )
                })
            }
        };
        if !batch.records.is_empty() {
            let ev = tx.prepare(
                "INSERT INTO hallq_events (hall, seq, at_ms, body, hash) VALUES ($1, $2, $3, $4, $5)",
            )?;
            for r in &batch.records {
                let body = serde_json::to_string(&r.event).expect("events serialize");
                let hash = chain::link(&head.1, r.seq, r.at_ms, &body);
                tx.execute(&ev, &[&hall, &(r.seq as i64), &r.at_ms, &body, &&hash[..]])?;
                head = (r.seq, hash);
            }
        }
        if !batch.replies.is_empty() {
            let rp = tx.prepare(
                "INSERT INTO hallq_pad_replies (hall, win, command_id, at_ms, body)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )?;
            for r in &batch.replies {
                tx.execute(&rp, &[&hall, &r.window, &r.command_id, &r.at_ms, &r.body])?;
            }
        }
        if !batch.notifications.is_empty() {
            let ob = tx.prepare(
                "INSERT INTO hallq_outbox (hall, key, at_ms, body, next_ms)
                 VALUES ($1, $2, $3, $4, $3) ON CONFLICT DO NOTHING",
            )?;
            for n in &batch.notifications {
                tx.execute(&ob, &[&hall, &n.key, &n.at_ms, &n.body])?;
            }
        }
        // With synchronous_commit on: returns once the server has it on disk.
        tx.commit()?;
        self.head = Some(head);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redact("postgres://hallq:s3cret@db.hall.lan:5432/hallq"),
            "postgres://hallq:…@db.hall.lan:5432/hallq"
        );
        assert_eq!(redact("postgres://db/hallq"), "postgres://db/hallq");
    }
}
