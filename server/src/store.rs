//! The append-only event log, behind one interface ([`EventStore`]), and its
//! SQLite implementation (WAL, `synchronous=FULL`: a commit is on disk when
//! `append` returns).
//!
//! Beside the events, the log keeps the reply to every pad command id, in the
//! same transaction, so a repeated command gets its first reply even after a
//! restart.

use std::path::Path;

use hallq_core::Record;
use rusqlite::{Connection, OptionalExtension, params};

use crate::chain::{self, GENESIS, Hash};

/// How long a commit waits for another connection's lock.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A pad command's remembered reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    pub window: String,
    pub command_id: String,
    /// The reply JSON as sent.
    pub body: String,
    pub at_ms: i64,
}

/// What a commit writes: events and replies, all or nothing.
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<Record>,
    pub replies: Vec<StoredReply>,
    /// Webhook notifications these records cause, stored with them (the
    /// outbox): a crash loses none, a key is never sent twice.
    pub notifications: Vec<crate::notify::Notification>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.replies.is_empty()
    }
}

/// What reading a log does where its hash chain breaks (see [`crate::chain`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBreak {
    /// Stops with [`StoreError::Broken`]: the hall does not start on a log
    /// someone changed.
    #[default]
    Refuse,
    /// Says so loudly (`--accept-broken-log`) and reads on.
    Warn,
    /// Does not check (readers of a log the owner already checked).
    Skip,
}

/// A stored record as it is on disk, for the chain's checks and digests.
#[derive(Debug, Clone, Copy)]
pub struct RawRow<'a> {
    pub seq: u64,
    pub at_ms: i64,
    pub body: &'a str,
    pub hash: Option<&'a [u8]>,
}

/// A log's check as it is read: its chain, and the heads the days' digests
/// kept in it signed.
#[derive(Debug, Default)]
pub(crate) struct Check {
    chain: crate::chain::Follower,
    on_break: OnBreak,
    heads: std::collections::BTreeMap<u64, Hash>,
}

impl Check {
    /// The check of a log whose kept digests are `digests` (signed JSON).
    pub(crate) fn new(on_break: OnBreak, digests: &[String]) -> Check {
        let heads = digests
            .iter()
            .filter_map(|s| serde_json::from_str::<crate::digest::Signed>(s).ok())
            .filter_map(|s| {
                let head: Hash = chain::unhex(&s.digest.head)?.try_into().ok()?;
                Some((s.digest.last_seq, head))
            })
            .collect();
        Check {
            chain: crate::chain::Follower::default(),
            on_break,
            heads,
        }
    }

    /// Checks the next row as [`OnBreak`] says.
    pub(crate) fn row(&mut self, row: RawRow<'_>) -> Result<(), StoreError> {
        follow(&mut self.chain, &self.heads, self.on_break, row)
    }
}

/// Checks one row against the chain and the signed heads.
fn follow(
    chain: &mut crate::chain::Follower,
    heads: &std::collections::BTreeMap<u64, Hash>,
    on_break: OnBreak,
    row: RawRow<'_>,
) -> Result<(), StoreError> {
    if on_break == OnBreak::Skip {
        return Ok(());
    }
    let signed = heads.get(&row.seq);
    let checked = chain
        .next(row.seq, row.at_ms, row.body, row.hash)
        .and_then(|()| match signed {
            Some(h) if row.hash != Some(&h[..]) => {
                Err(crate::chain::Break::Rewritten { seq: row.seq })
            }
            _ => Ok(()),
        });
    match checked {
        Ok(()) => Ok(()),
        Err(b) if on_break == OnBreak::Warn => {
            tracing::error!(seq = b.seq(), what = %b, "THE EVENT LOG WAS CHANGED OUTSIDE HALLQ: its hash chain breaks here; started anyway (--accept-broken-log). Run `hallq verify` for the details");
            Ok(())
        }
        Err(b) => Err(StoreError::Broken(b)),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("stored event {seq} cannot be read: {source}")]
    Corrupt { seq: u64, source: serde_json::Error },
    /// Another store's error (PostgreSQL), as its message.
    #[error("{0}")]
    Other(String),
    /// The hall's lease is another node's now: this node may not write.
    #[error("another node runs this hall now (it took the lease): not written")]
    Fenced,
    /// The log's hash chain breaks: it was changed outside hallq.
    #[error(
        "the event log was changed outside hallq: its hash chain breaks at record {seq}: {0}. \
         `hallq verify` names the change and the days it touches; \
         `hallq serve --accept-broken-log` starts anyway",
        seq = .0.seq()
    )]
    Broken(crate::chain::Break),
}

/// Durable storage of the hall's log.
pub trait EventStore: Send {
    /// Every record, in seq order.
    fn records(&mut self) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        self.for_each_record(&mut |r| out.push(r))?;
        Ok(out)
    }
    /// Every record, in seq order, handed to `f` one by one (a long log is
    /// never all in memory at once), its hash chain checked on the way.
    fn for_each_record(&mut self, f: &mut dyn FnMut(Record)) -> Result<(), StoreError>;
    /// The records after `after` as stored (body text and hash), in seq
    /// order, unchecked: for `hallq verify` and the digests.
    fn raw_rows(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(RawRow<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// The signed digests kept in the log's database, oldest first.
    fn digests(&mut self) -> Result<Vec<String>, StoreError>;
    /// Keeps a signed digest (once per day: a second one is ignored).
    fn put_digest(&mut self, day: i64, last_seq: u64, signed: &str) -> Result<(), StoreError>;
    /// Remembered replies since `since_ms`.
    fn replies(&mut self, since_ms: i64) -> Result<Vec<StoredReply>, StoreError>;
    /// Writes a batch durably; returns only once it is on disk.
    fn append(&mut self, batch: &Batch) -> Result<(), StoreError>;
    /// Forgets replies older than `before_ms` (their command ids may repeat
    /// after that); events are never forgotten.
    fn forget_replies(&mut self, before_ms: i64) -> Result<usize, StoreError>;
}

/// SQLite in WAL mode, one file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    /// The last stored record and its hash; `None` until first needed.
    head: Option<(u64, Hash)>,
    /// Whether appends are chained (always, but in `hallq-bench`'s
    /// measure of what the chain costs).
    chain: bool,
    on_break: OnBreak,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path)?;
        // An operator's `sqlite3` shell or a backup may hold the lock for a
        // moment: wait for it rather than fail the commit.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
                seq   INTEGER PRIMARY KEY,
                at_ms INTEGER NOT NULL,
                body  TEXT NOT NULL,
                hash  BLOB
            );
            CREATE TABLE IF NOT EXISTS outbox (
                key      TEXT PRIMARY KEY,
                at_ms    INTEGER NOT NULL,
                body     TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_ms  INTEGER NOT NULL,
                sent_ms  INTEGER
            );
            CREATE TABLE IF NOT EXISTS pad_replies (
                window     TEXT NOT NULL,
                command_id TEXT NOT NULL,
                at_ms      INTEGER NOT NULL,
                body       TEXT NOT NULL,
                PRIMARY KEY (window, command_id)
            );
            CREATE TABLE IF NOT EXISTS digests (
                day      INTEGER PRIMARY KEY,
                last_seq INTEGER NOT NULL,
                signed   TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS chain_meta (
                key   TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );",
        )?;
        let mut store = SqliteStore {
            conn,
            head: None,
            chain: true,
            on_break: OnBreak::Refuse,
        };
        store.seal_old_log()?;
        Ok(store)
    }

    /// Opens a log to look at it only (`hallq verify`): nothing is made,
    /// chained or changed in it.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(SqliteStore {
            conn,
            head: None,
            chain: true,
            on_break: OnBreak::Skip,
        })
    }

    /// Whether the log's records carry hashes at all.
    pub fn chained(&self) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = 'hash'")?
            .exists([])?)
    }

    /// Up to which record, and when, an older log was chained as it stood.
    pub fn sealed(&self) -> Result<Option<(u64, i64)>, StoreError> {
        if !self.has_table("chain_meta")? {
            return Ok(None);
        }
        let get = |key: &str| -> Result<Option<i64>, StoreError> {
            Ok(self
                .conn
                .query_row("SELECT value FROM chain_meta WHERE key = ?1", [key], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .and_then(|v| v.parse().ok()))
        };
        Ok(match (get("sealed_to_seq")?, get("sealed_at_ms")?) {
            (Some(seq), Some(at)) if seq > 0 => Some((seq as u64, at)),
            _ => None,
        })
    }

    fn has_table(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
            .exists([name])?)
    }

    /// What reading this log does where its chain breaks.
    pub fn on_break(mut self, on_break: OnBreak) -> SqliteStore {
        self.on_break = on_break;
        self
    }

    /// Appends without the chain: only for `hallq-bench`, to measure what
    /// the chain costs. A log written so does not verify.
    #[doc(hidden)]
    pub fn unchained(mut self) -> SqliteStore {
        self.chain = false;
        self
    }

    /// A log written before the chain existed (no `hash` column) is
    /// chained as it stands, once, and the point noted in `chain_meta`:
    /// the chain vouches for those records only from this moment on.
    fn seal_old_log(&mut self) -> Result<(), StoreError> {
        let has_hash = |c: &Connection| -> Result<bool, rusqlite::Error> {
            let mut st =
                c.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = 'hash'")?;
            st.exists([])
        };
        if has_hash(&self.conn)? {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if has_hash(&tx)? {
            return Ok(());
        }
        tx.execute_batch("ALTER TABLE events ADD COLUMN hash BLOB")?;
        let mut head = (0, GENESIS);
        {
            let mut read = tx.prepare("SELECT seq, at_ms, body FROM events ORDER BY seq")?;
            let mut write = tx.prepare("UPDATE events SET hash = ?2 WHERE seq = ?1")?;
            let mut rows = read.query([])?;
            while let Some(r) = rows.next()? {
                let seq = r.get::<_, i64>(0)? as u64;
                let h = chain::link(
                    &head.1,
                    seq,
                    r.get(1)?,
                    r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?,
                );
                write.execute(params![seq as i64, &h[..]])?;
                head = (seq, h);
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO chain_meta (key, value) VALUES ('sealed_to_seq', ?1), ('sealed_at_ms', ?2)",
            params![head.0.to_string(), crate::engine::now_ms().to_string()],
        )?;
        tx.commit()?;
        if head.0 > 0 {
            tracing::warn!(
                records = head.0,
                "this log was written before hallq chained its records: they are chained now, as they stand; the chain vouches for them from now on only"
            );
        }
        Ok(())
    }

    /// The last record and its hash, as stored.
    fn stored_head(conn: &Connection) -> Result<(u64, Hash), StoreError> {
        let row = conn
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Option<Vec<u8>>>(1)?)),
            )
            .optional()?;
        Ok(match row {
            None => (0, GENESIS),
            // A record without a hash (an unchained bench log): chain on
            // zeros, as at the start.
            Some((seq, h)) => (seq, h.and_then(|h| h.try_into().ok()).unwrap_or(GENESIS)),
        })
    }
}

impl EventStore for SqliteStore {
    /// Reads and decodes on a second thread while `f` applies, in chunks:
    /// a restart with a long log uses both cores.
    fn for_each_record(&mut self, f: &mut dyn FnMut(Record)) -> Result<(), StoreError> {
        const CHUNK: usize = 4096;
        let mut check = Check::new(
            self.on_break,
            &if self.on_break == OnBreak::Skip {
                Vec::new()
            } else {
                self.digests()?
            },
        );
        let conn = &mut self.conn;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Record>>(4);
            let reader = scope.spawn(move || -> Result<(), StoreError> {
                let mut stmt =
                    conn.prepare("SELECT seq, at_ms, body, hash FROM events ORDER BY seq")?;
                let mut rows = stmt.query([])?;
                let mut chunk = Vec::with_capacity(CHUNK);
                while let Some(r) = rows.next()? {
                    let seq = r.get::<_, i64>(0)? as u64;
                    let at_ms = r.get::<_, i64>(1)?;
                    let body = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
                    let hash = r
                        .get_ref(3)?
                        .as_blob_or_null()
                        .map_err(rusqlite::Error::from)?;
                    check.row(RawRow {
                        seq,
                        at_ms,
                        body,
                        hash,
                    })?;
                    let event = serde_json::from_str(body)
                        .map_err(|source| StoreError::Corrupt { seq, source })?;
                    chunk.push(Record { seq, at_ms, event });
                    if chunk.len() == CHUNK
                        && tx
                            .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                            .is_err()
                    {
                        return Ok(());
                    }
                }
                let _ = tx.send(chunk);
                Ok(())
            });
            for chunk in rx {
                chunk.into_iter().for_each(&mut *f);
            }
            reader.join().expect("log reader panicked")
        })
    }

    fn raw_rows(
        &mut self,
        after: u64,
        f: &mut dyn FnMut(RawRow<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at_ms, body, hash FROM events WHERE seq > ?1 ORDER BY seq")?;
        let mut rows = stmt.query([after as i64])?;
        while let Some(r) = rows.next()? {
            f(RawRow {
                seq: r.get::<_, i64>(0)? as u64,
                at_ms: r.get(1)?,
                body: r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?,
                hash: r
                    .get_ref(3)?
                    .as_blob_or_null()
                    .map_err(rusqlite::Error::from)?,
            })?;
        }
        Ok(())
    }

    fn digests(&mut self) -> Result<Vec<String>, StoreError> {
        // A log opened read-only from before the digests has none.
        if !self.has_table("digests")? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT signed FROM digests ORDER BY day")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put_digest(&mut self, day: i64, last_seq: u64, signed: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO digests (day, last_seq, signed) VALUES (?1, ?2, ?3)",
            params![day, last_seq as i64, signed],
        )?;
        Ok(())
    }

    fn replies(&mut self, since_ms: i64) -> Result<Vec<StoredReply>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT window, command_id, body, at_ms FROM pad_replies WHERE at_ms >= ?1")?;
        let rows = stmt.query_map([since_ms], |r| {
            Ok(StoredReply {
                window: r.get(0)?,
                command_id: r.get(1)?,
                body: r.get(2)?,
                at_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn append(&mut self, batch: &Batch) -> Result<(), StoreError> {
        // The write lock from the start: the head is read under it (a read
        // that later wants to write cannot wait for another writer).
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut head = match self.head {
            Some(h) => h,
            None => Self::stored_head(&tx)?,
        };
        {
            let mut ev = tx.prepare_cached(
                "INSERT INTO events (seq, at_ms, body, hash) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in &batch.records {
                let body = serde_json::to_string(&r.event).expect("events serialize");
                let hash = self
                    .chain
                    .then(|| chain::link(&head.1, r.seq, r.at_ms, &body));
                ev.execute(params![
                    r.seq as i64,
                    r.at_ms,
                    body,
                    hash.as_ref().map(|h| &h[..])
                ])?;
                head = (r.seq, hash.unwrap_or(GENESIS));
            }
            let mut rp = tx.prepare_cached(
                "INSERT OR IGNORE INTO pad_replies (window, command_id, at_ms, body) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in &batch.replies {
                rp.execute(params![r.window, r.command_id, r.at_ms, r.body])?;
            }
            let mut ob = tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (key, at_ms, body, next_ms) VALUES (?1, ?2, ?3, ?2)",
            )?;
            for n in &batch.notifications {
                ob.execute(params![n.key, n.at_ms, n.body])?;
            }
        }
        tx.commit()?;
        self.head = Some(head);
        Ok(())
    }

    fn forget_replies(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .execute("DELETE FROM pad_replies WHERE at_ms < ?1", [before_ms])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallq_core::{Event, Id};

    #[test]
    fn appended_records_and_replies_come_back_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let mut s = SqliteStore::open(&path).unwrap();
        let batch = Batch {
            records: vec![Record {
                seq: 1,
                at_ms: 5,
                event: Event::WindowOpened {
                    window: Id::parse("3").unwrap(),
                    clerk: None,
                    by: None,
                },
            }],
            notifications: Vec::new(),
            replies: vec![StoredReply {
                window: "3".into(),
                command_id: "c1".into(),
                body: "{}".into(),
                at_ms: 5,
            }],
        };
        s.append(&batch).unwrap();
        drop(s);
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.records().unwrap(), batch.records);
        assert_eq!(s.replies(0).unwrap(), batch.replies);
        assert!(s.replies(6).unwrap().is_empty());
        assert_eq!(s.forget_replies(5).unwrap(), 0);
        assert_eq!(s.forget_replies(6).unwrap(), 1);
        assert!(s.replies(0).unwrap().is_empty());
        assert_eq!(s.records().unwrap(), batch.records, "events stay");
    }

    #[test]
    fn a_commit_waits_for_another_connections_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let mut s = SqliteStore::open(&path).unwrap();
        // An operator's shell takes the write lock for a moment.
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let batch = Batch {
            records: vec![Record {
                seq: 1,
                at_ms: 1,
                event: Event::DayStarted { day: 1 },
            }],
            ..Batch::default()
        };
        s.append(&batch).expect("waits, then commits");
        release.join().unwrap();
        assert_eq!(s.records().unwrap(), batch.records);
    }

    #[test]
    fn a_log_from_before_the_chain_is_chained_once_as_it_stands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, body TEXT NOT NULL);",
        )
        .unwrap();
        let records: Vec<Record> = (1..=3)
            .map(|seq| Record {
                seq,
                at_ms: seq as i64 * 10,
                event: Event::DayStarted { day: seq as i64 },
            })
            .collect();
        for r in &records {
            old.execute(
                "INSERT INTO events (seq, at_ms, body) VALUES (?1, ?2, ?3)",
                params![
                    r.seq as i64,
                    r.at_ms,
                    serde_json::to_string(&r.event).unwrap()
                ],
            )
            .unwrap();
        }
        drop(old);
        // Looking does not chain it.
        assert!(
            !SqliteStore::open_read_only(&path)
                .unwrap()
                .chained()
                .unwrap()
        );
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.records().unwrap(), records, "checked and read");
        let sealed = s.sealed().unwrap().expect("noted");
        assert_eq!(sealed.0, 3);
        let more = Record {
            seq: 4,
            at_ms: 40,
            event: Event::DayStarted { day: 4 },
        };
        s.append(&Batch {
            records: vec![more.clone()],
            ..Batch::default()
        })
        .unwrap();
        drop(s);
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.sealed().unwrap(), Some(sealed), "chained once only");
        assert_eq!(s.records().unwrap().len(), 4);
        let mut rows = Vec::new();
        s.raw_rows(0, &mut |r| {
            rows.push(chain::Row::read(r.seq, r.at_ms, r.body, r.hash, None));
            Ok(())
        })
        .unwrap();
        assert!(chain::analyse(&rows).is_empty());
    }

    #[test]
    fn a_changed_record_stops_the_replay_unless_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let mut s = SqliteStore::open(&path).unwrap();
        let records: Vec<Record> = (1..=5)
            .map(|seq| Record {
                seq,
                at_ms: seq as i64,
                event: Event::DayStarted { day: seq as i64 },
            })
            .collect();
        s.append(&Batch {
            records,
            ..Batch::default()
        })
        .unwrap();
        drop(s);
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE events SET at_ms = 99 WHERE seq = 3", [])
            .unwrap();
        let err = SqliteStore::open(&path).unwrap().records().unwrap_err();
        assert!(
            matches!(err, StoreError::Broken(chain::Break::Mismatch { seq: 3 })),
            "{err}"
        );
        assert!(err.to_string().contains("breaks at record 3"), "{err}");
        let read = SqliteStore::open(&path)
            .unwrap()
            .on_break(OnBreak::Warn)
            .records()
            .unwrap();
        assert_eq!(read.len(), 5);
        assert_eq!(read[2].at_ms, 99);
    }

    #[test]
    fn a_duplicate_seq_fails_the_whole_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("hall.db")).unwrap();
        let rec = |seq| Record {
            seq,
            at_ms: 1,
            event: Event::DayStarted { day: 1 },
        };
        s.append(&Batch {
            records: vec![rec(1)],
            ..Batch::default()
        })
        .unwrap();
        let err = s.append(&Batch {
            records: vec![rec(2), rec(1)],
            ..Batch::default()
        });
        assert!(err.is_err());
        assert_eq!(s.records().unwrap(), vec![rec(1)]);
    }
}
