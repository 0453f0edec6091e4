//! Reads off the owner thread: copies of the hall that the owner makes
//! after a commit when a reader wants one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hallq_core::Hall;
use tokio::sync::{mpsc, watch};

use super::{Engine, EngineHandle, Input, now_ms};
use crate::views::Views;

/// The most often the owner copies the hall for readers: under a stream
/// of commands and of reads, a read waits at most this long for a copy.
pub const COPY_EVERY: Duration = Duration::from_millis(5);

/// What the owner and its readers share.
#[derive(Debug)]
pub struct Reads {
    /// Seq of the last committed record.
    pub(super) committed: AtomicU64,
    /// A reader found the copy out of date.
    pub(super) wanted: AtomicBool,
    /// An [`Input::Copy`] is on its way to the owner (one is enough).
    pub(super) asked: AtomicBool,
}

/// Reads the hall from the owner's copies.
#[derive(Debug, Clone)]
pub struct Reader {
    copies: watch::Receiver<Arc<Hall>>,
    reads: Arc<Reads>,
}

impl super::ReadSide {
    /// A reader of the owner these copies come from.
    pub fn reader(&self) -> Reader {
        Reader {
            copies: self.copies.subscribe(),
            reads: self.reads.clone(),
        }
    }
}

impl Engine {
    /// A reader's side of this owner: see [`EngineHandle::query`].
    pub fn reader(&self) -> Reader {
        Reader {
            copies: self.copies.subscribe(),
            reads: self.reads.clone(),
        }
    }

    /// Makes a copy of the hall for readers if one is wanted, it is out
    /// of date, and the last is old enough.
    pub(super) fn copy_if_wanted(&mut self) {
        if !self.reads.wanted.load(Ordering::Acquire) {
            return;
        }
        let seq = self.hall.seq();
        match self.copied {
            Some((_, s)) if s == seq => {
                self.reads.wanted.store(false, Ordering::Release);
            }
            Some((next, _)) if Instant::now() < next => {}
            _ => {
                self.reads.wanted.store(false, Ordering::Release);
                let t = Instant::now();
                let _ = self.copies.send(Arc::new(self.hall.clone()));
                // A big hall's copy costs more: then fewer of them, so
                // copies never take more than a tenth of the owner's time.
                let next = t + COPY_EVERY.max(t.elapsed() * 10);
                self.copied = Some((next, seq));
            }
        }
    }
}

impl EngineHandle {
    /// Reads the hall: from a copy at least as new as the last commit
    /// before the call, on the caller's task (the owner only makes the
    /// copy, and only when one is wanted). `None` when the owner is gone.
    pub async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Views<'_>) -> T + Send + 'static,
    ) -> Option<T> {
        let (hall, now) = self.snapshot().await?;
        Some(f(&Views { hall: &hall, now }))
    }

    /// A copy of the hall at least as new as the last commit before the
    /// call, and the hall's time now (see [`EngineHandle::query`]), to keep
    /// (a forecast runs on it on a thread of its own).
    pub async fn snapshot(&self) -> Option<(Arc<Hall>, hallq_core::Millis)> {
        let mut copies = self.reader.copies.clone();
        let need = self.reader.reads.committed.load(Ordering::Acquire);
        loop {
            let hall = copies.borrow_and_update().clone();
            if hall.seq() >= need {
                let now = now_ms().max(hall.clock());
                return Some((hall, now));
            }
            self.reader.reads.wanted.store(true, Ordering::Release);
            // Wakes an idle owner; a busy one copies after its batch.
            if !self.reader.reads.asked.swap(true, Ordering::AcqRel)
                && let Err(e) = self.tx.try_send(Input::Copy)
            {
                self.reader.reads.asked.store(false, Ordering::Release);
                if let mpsc::error::TrySendError::Closed(_) = e {
                    return None;
                }
            }
            if tokio::time::timeout(COPY_EVERY * 2, copies.changed())
                .await
                .is_ok_and(|r| r.is_err())
            {
                return None;
            }
        }
    }
}
