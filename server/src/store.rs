//! The append-only event log, behind one interface ([`EventStore`]), and its
//! SQLite implementation (WAL, `synchronous=FULL`: a commit is on disk when
//! `append` returns).
//!
//! Beside the events, the log keeps the reply to every pad command id, in the
//! same transaction, so a repeated command gets its first reply even after a
//! restart.

use std::path::Path;

use hallq_core::Record;
use rusqlite::{Connection, params};

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
}

/// Durable storage of the hall's log.
pub trait EventStore: Send {
    /// Every record, in seq order.
    fn records(&mut self) -> Result<Vec<Record>, StoreError>;
    /// Every record, in seq order, handed to `f` one by one (a long log is
    /// never all in memory at once).
    fn for_each_record(&mut self, f: &mut dyn FnMut(Record)) -> Result<(), StoreError> {
        self.records()?.into_iter().for_each(f);
        Ok(())
    }
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
                body  TEXT NOT NULL
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
            );",
        )?;
        Ok(SqliteStore { conn })
    }
}

impl EventStore for SqliteStore {
    fn records(&mut self) -> Result<Vec<Record>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at_ms, body FROM events ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at_ms, body) = row?;
            let seq = seq as u64;
            let event = serde_json::from_str(&body)
                .map_err(|source| StoreError::Corrupt { seq, source })?;
            out.push(Record { seq, at_ms, event });
        }
        Ok(out)
    }

    /// Reads and decodes on a second thread while `f` applies, in chunks:
    /// a restart with a long log uses both cores.
    fn for_each_record(&mut self, f: &mut dyn FnMut(Record)) -> Result<(), StoreError> {
        const CHUNK: usize = 4096;
        let conn = &mut self.conn;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Record>>(4);
            let reader = scope.spawn(move || -> Result<(), StoreError> {
                let mut stmt = conn.prepare("SELECT seq, at_ms, body FROM events ORDER BY seq")?;
                let mut rows = stmt.query([])?;
                let mut chunk = Vec::with_capacity(CHUNK);
                while let Some(r) = rows.next()? {
                    let seq = r.get::<_, i64>(0)? as u64;
                    let at_ms = r.get::<_, i64>(1)?;
                    let body = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
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
        let tx = self.conn.transaction()?;
        {
            let mut ev =
                tx.prepare_cached("INSERT INTO events (seq, at_ms, body) VALUES (?1, ?2, ?3)")?;
            for r in &batch.records {
                let body = serde_json::to_string(&r.event).expect("events serialize");
                ev.execute(params![r.seq as i64, r.at_ms, body])?;
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
