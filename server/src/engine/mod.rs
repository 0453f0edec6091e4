//! The one owner of the hall: a thread that takes inputs from MQTT, HTTP and
//! the timer, runs them through the core, makes the new records durable, and
//! only then answers and publishes.
//!
//! Inputs that arrive together are handled as one batch with one commit
//! (group commit), so a burst of commands costs one fsync, not one each.
//!
//! If the disk refuses a commit (full, read-only, failing), nothing of the
//! batch is acknowledged: the hall is rebuilt from the log as it is on
//! disk, pads are told `storage_failed`, HTTP callers get 503, the health
//! check says why, and the next batch tries the disk again. The log stays
//! the truth; reads and displays keep working meanwhile.
//!
//! - `pad.rs`: the pad protocol (one reply per command id, remembered).
//! - `issue.rs`: tickets over HTTP, once per `Idempotency-Key`.
//! - `publish.rs`: calls, window states and stream lines after a commit.
//! - `reads.rs`: copies of the hall for readers.
//!
//! Reads do not queue behind commands: [`EngineHandle::query`] answers from
//! a copy of the hall the owner makes after a commit when a reader wants
//! one (at most every [`COPY_EVERY`], or ten times as long as a copy
//! takes), on the reader's own task; a reader always sees at least what
//! was committed before it asked.

mod issue;
mod pad;
mod publish;
mod reads;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallq_contract::WindowState;
use hallq_core::{Command, CoreError, Hall, Id, Millis, Record};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

pub use issue::{IdempotencyKey, IssueError, Issued};
pub use reads::{COPY_EVERY, Reader, Reads};

use crate::store::{Batch, EventStore};
use crate::stream::Line;
use crate::views::Views;

/// How long a pad command id or an idempotency key is remembered (and its
/// first answer repeated).
const REPLY_MEMORY_MS: Millis = 2 * hallq_core::DAY_MS;
/// The most inputs handled under one commit.
const MAX_BATCH: usize = 256;

/// A message for the MQTT side to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
    /// 0 or 1.
    pub qos: u8,
}

/// Where the owner's messages go out.
#[derive(Debug, Clone)]
pub enum MqttOut {
    /// Straight into the embedded broker's routing.
    Embedded(crate::broker::Injector),
    /// Through the server's MQTT client (an external broker, or tests).
    Client(mpsc::UnboundedSender<Outgoing>),
}

impl MqttOut {
    /// Sends one message. From the owner thread into the embedded broker
    /// it is routed before this returns, so messages keep their order.
    pub fn send(&self, o: Outgoing) {
        match self {
            MqttOut::Embedded(injector) => injector.send_all(vec![o]),
            MqttOut::Client(tx) => {
                let _ = tx.send(o);
            }
        }
    }

    /// Sends several, in order (into the embedded broker in one go).
    pub fn send_all(&self, all: Vec<Outgoing>) {
        match self {
            MqttOut::Embedded(injector) => injector.send_all(all),
            MqttOut::Client(tx) => {
                for o in all {
                    let _ = tx.send(o);
                }
            }
        }
    }
}

/// Something to do once the batch is durable.
pub type Deferred = Box<dyn FnOnce() + Send>;

/// Turns a command's outcome, seen against the hall right after it, into
/// what to send once it is durable.
pub type Responder = Box<dyn FnOnce(&Views<'_>, Result<&[Record], &CoreError>) -> Deferred + Send>;

/// What the owner thread is asked.
pub enum Input {
    /// A pad's raw command from `pad/{window}/cmd`, and when it came.
    Pad {
        window: String,
        payload: Vec<u8>,
        at: Instant,
    },
    /// A rating pad's raw message from `rating/{window}`.
    Rating { window: String, payload: Vec<u8> },
    /// A command from the HTTP side or the timer.
    Command {
        cmd: Command,
        respond: Option<Responder>,
    },
    /// Take a ticket (or check a booking in) for HTTP, at most once per
    /// idempotency key.
    Issue {
        cmd: Command,
        token: String,
        key: Option<IdempotencyKey>,
        respond: oneshot::Sender<Result<Issued, IssueError>>,
    },
    /// A read of the hall.
    Query(Box<dyn FnOnce(&Views<'_>) -> Deferred + Send>),
    /// Publish every window's retained state again (the broker reconnected).
    Republish,
    /// A reader wants a fresh copy of the hall (see [`Reads`]).
    Copy,
    /// Finish the batch, commit it, answer it, then stop; says when done.
    Shutdown(oneshot::Sender<()>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Pad { window, .. } => write!(f, "Pad({window})"),
            Input::Rating { window, .. } => write!(f, "Rating({window})"),
            Input::Command { cmd, .. } | Input::Issue { cmd, .. } => write!(f, "Command({cmd:?})"),
            Input::Query(_) => f.write_str("Query"),
            Input::Republish => f.write_str("Republish"),
            Input::Copy => f.write_str("Copy"),
            Input::Shutdown(_) => f.write_str("Shutdown"),
        }
    }
}

/// Where the owner's results go.
#[derive(Debug, Clone)]
pub struct Sinks {
    pub mqtt: MqttOut,
    /// Lines for WebSocket clients (public and staff forms).
    pub stream: broadcast::Sender<Arc<Line>>,
    /// When the core next wants a `Tick`.
    pub wake: watch::Sender<Option<Millis>>,
    /// Why the last commit failed; `None` while the log takes writes.
    pub storage: watch::Sender<Option<String>>,
    /// Where each pad command's time went (the last [`STAGES_KEPT`]).
    pub stages: StageLog,
    /// Whether this node runs the hall (always, but with shared PostgreSQL).
    pub lease: Arc<crate::lease::Lease>,
}

/// Why an owner stopped running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Asked to, or every sender is gone.
    Shutdown,
    /// Another node runs the hall now.
    LeaseLost,
    /// The log took no write and cannot be read either (a database that
    /// went away): the hall is rebuilt from it once it can be.
    LogLost,
}

/// How long a pad command spent in each part of the owner, measured from
/// when the broker handed it over. Each figure is cumulative.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stages {
    /// Waiting in the owner's queue until its batch began.
    pub queued: Duration,
    /// … and the core decided it and every other input of the batch.
    pub decided: Duration,
    /// … and the batch was durable (fsync).
    pub committed: Duration,
    /// … and calls and window states were made (views, JSON).
    pub prepared: Duration,
    /// … and they were handed to the broker (routed to its subscribers'
    /// sessions).
    pub published: Duration,
    /// … and the replies were handed to the broker.
    pub replied: Duration,
}

/// The last [`STAGES_KEPT`] pad commands' [`Stages`].
pub type StageLog = Arc<Mutex<VecDeque<Stages>>>;
/// How many pad commands' stages are kept.
pub const STAGES_KEPT: usize = 100_000;

/// What a batch owes once it is durable.
#[derive(Default)]
pub(crate) struct Pending {
    /// When each pad command of the batch came.
    pad_arrivals: Vec<Instant>,
    batch: Batch,
    /// Answers and reads, sent after the commit; dropped if it fails (their
    /// callers then see the owner's 503).
    deferred: Vec<Deferred>,
    /// `(reply topic, command id)` of each pad command in the batch.
    pad_replies: Vec<(String, String)>,
}

/// `(window, command id)` → (reply JSON, when), for [`REPLY_MEMORY_MS`];
/// idempotency keys under `(idem:{scope}, key)`.
type Replies = HashMap<(String, String), (String, Millis)>;

/// The hall's owner.
pub struct Engine {
    hall: Hall,
    store: Box<dyn EventStore>,
    replies: Replies,
    /// Last published state per window, with `seq` zeroed.
    published: HashMap<String, WindowState>,
    /// Publish all window states again after this batch.
    republish: bool,
    /// What this batch publishes, handed to the broker together.
    outbox: Vec<Outgoing>,
    /// When the window states whose counts alone changed are published.
    counts_due: Option<Millis>,
    /// Copies of the hall for readers, and when the last was made.
    copies: watch::Sender<Arc<Hall>>,
    reads: Arc<Reads>,
    /// The last copy: when it may be followed by the next, and its seq.
    copied: Option<(Instant, u64)>,
    /// Stop after this batch, and say so here.
    stopping: Option<oneshot::Sender<()>>,
    sinks: Sinks,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("seq", &self.hall.seq())
            .finish_non_exhaustive()
    }
}

pub use hallq_client::now_ms;

impl Engine {
    /// Rebuilds the hall from the store.
    pub fn load(
        config: hallq_core::HallConfig,
        mut store: Box<dyn EventStore>,
        sinks: Sinks,
    ) -> anyhow::Result<Engine> {
        if let Err(e) = store.forget_replies(now_ms() - REPLY_MEMORY_MS) {
            // A read-only or full disk: start anyway, and say so.
            tracing::warn!(error = %e, "cannot forget old pad replies");
        }
        let (hall, replies) = Self::rebuild(config, store.as_mut())?;
        tracing::info!(seq = hall.seq(), "hall rebuilt from the log");
        for (service, open) in hall.services_not_in_config() {
            tracing::warn!(
                %service,
                open,
                "the hall file no longer lists this service; its old tickets keep its id as their name{}",
                if open > 0 { ": some are still open today, call them by number or transfer them" } else { "" }
            );
        }
        let (copies, _) = watch::channel(Arc::new(hall.clone()));
        Ok(Engine {
            copies,
            reads: Arc::new(Reads {
                committed: AtomicU64::new(hall.seq()),
                wanted: AtomicBool::new(false),
                asked: AtomicBool::new(false),
            }),
            copied: None,
            hall,
            store,
            replies,
            published: HashMap::new(),
            republish: false,
            outbox: Vec::new(),
            counts_due: None,
            stopping: None,
            sinks,
        })
    }

    /// The hall and the remembered replies as the log has them.
    fn rebuild(
        config: hallq_core::HallConfig,
        store: &mut dyn EventStore,
    ) -> anyhow::Result<(Hall, Replies)> {
        let mut hall = Hall::new(config);
        store.for_each_record(&mut |r| hall.apply(&r))?;
        let replies = store
            .replies(now_ms() - REPLY_MEMORY_MS)?
            .into_iter()
            .map(|r| ((r.window, r.command_id), (r.body, r.at_ms)))
            .collect();
        Ok((hall, replies))
    }

    /// Rebuilds the hall from the store for the readers of an owner that
    /// is gone (it panicked): their [`Reader`]s go on, and see the new
    /// owner's copies.
    pub fn reload(
        config: hallq_core::HallConfig,
        store: Box<dyn EventStore>,
        sinks: Sinks,
        readers: ReadSide,
    ) -> anyhow::Result<Engine> {
        let mut engine = Engine::load(config, store, sinks)?;
        let ReadSide { copies, reads } = readers;
        // The log was read whole: it takes writes again, as far as anyone knows.
        engine
            .sinks
            .storage
            .send_if_modified(|s| s.take().is_some());
        reads.committed.store(engine.hall.seq(), Ordering::Release);
        reads.asked.store(false, Ordering::Release);
        let _ = copies.send(Arc::new(engine.hall.clone()));
        engine.copies = copies;
        engine.reads = reads;
        Ok(engine)
    }

    pub fn hall(&self) -> &Hall {
        &self.hall
    }

    /// The time the hall runs at: the wall clock, but never before the
    /// latest record (a clock set back waits for the log to be in the past).
    fn now(&self) -> Millis {
        now_ms().max(self.hall.clock())
    }

    /// Runs until every sender is gone. Publishes all window states first, so
    /// retained messages are right after a restart.
    pub fn run(mut self, rx: &mut mpsc::Receiver<Input>) -> Stopped {
        self.publish_layout();
        self.publish_notice();
        self.publish_states();
        self.flush();
        let _ = self.sinks.wake.send(self.hall.next_deadline());
        while let Some(first) = rx.blocking_recv() {
            if !self.sinks.lease.held() {
                // Whatever came is refused unanswered; the next owner
                // (another node) has the hall.
                drop(first);
                return Stopped::LeaseLost;
            }
            let began = Instant::now();
            let mut p = Pending::default();
            self.step(first, &mut p);
            for _ in 1..MAX_BATCH {
                match rx.try_recv() {
                    Ok(input) => self.step(input, &mut p),
                    Err(_) => break,
                }
            }
            if let Some(n) = &self.hall.config().notify {
                p.batch.notifications =
                    crate::notify::compute(&self.hall, &p.batch.records, n.places_before);
            }
            let decided = Instant::now();
            if !p.batch.is_empty() {
                if let Err(e) = self.store.append(&p.batch) {
                    if let crate::store::StoreError::Fenced = e {
                        // Not even refused: the node that runs the hall
                        // hears the same pads and answers them.
                        tracing::warn!(
                            "another node runs this hall now: this batch is not written, not answered"
                        );
                        return Stopped::LeaseLost;
                    }
                    if !self.unstored(&e.to_string(), p) {
                        return Stopped::LogLost;
                    }
                    continue;
                }
                self.sinks.storage.send_if_modified(|s| s.take().is_some());
            }
            let committed = Instant::now();
            // Before any answer goes out: a reader who heard of this batch
            // must not be served a copy from before it.
            self.reads
                .committed
                .store(self.hall.seq(), Ordering::Release);
            // What the hall sees first (calls, window states), then the answers.
            self.publish_records(&p.batch.records);
            if std::mem::take(&mut self.republish) {
                self.published.clear();
                self.publish_layout();
                self.publish_notice();
                self.publish_states();
            }
            self.publish_counts_if_due();
            let prepared = Instant::now();
            self.flush();
            let published = Instant::now();
            for d in p.deferred {
                d();
            }
            if !p.pad_arrivals.is_empty() {
                let replied = Instant::now();
                let mut log = self.sinks.stages.lock().expect("stages lock");
                for at in p.pad_arrivals {
                    if log.len() == STAGES_KEPT {
                        log.pop_front();
                    }
                    log.push_back(Stages {
                        queued: began.saturating_duration_since(at),
                        decided: decided - at,
                        committed: committed - at,
                        prepared: prepared - at,
                        published: published - at,
                        replied: replied - at,
                    });
                }
            }
            self.sinks.wake.send_if_modified(|w| {
                let next = match (self.hall.next_deadline(), self.counts_due) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                std::mem::replace(w, next) != next
            });
            self.copy_if_wanted();
            if self.stopping.is_some() {
                break;
            }
        }
        let done = self.stopping.take();
        // Closes the log cleanly before saying it is done.
        drop(self);
        tracing::info!("the hall's owner stopped; everything answered is on disk");
        if let Some(done) = done {
            let _ = done.send(());
        }
        Stopped::Shutdown
    }

    /// A batch the log refused: forget it (the hall goes back to what is on
    /// disk), acknowledge none of it, and say so. `false` when the log
    /// cannot be read back either.
    fn unstored(&mut self, error: &str, p: Pending) -> bool {
        tracing::error!(
            error,
            commands = p.pad_replies.len() + p.deferred.len(),
            "cannot write the event log: nothing of this batch is acknowledged; \
             free space or fix the data folder, hallq retries with the next command"
        );
        let _ = self.sinks.storage.send(Some(error.to_owned()));
        match Self::rebuild(self.hall.config().clone(), self.store.as_mut()) {
            Ok((hall, replies)) => {
                self.hall = hall;
                self.replies = replies;
            }
            Err(e) => {
                // The owner's keeper (`run_owner`) rebuilds the hall from
                // the log once it can be read again.
                tracing::error!(error = %e, "cannot read the event log either: this hall stops until it can");
                self.refuse_unstored(p.pad_replies);
                return false;
            }
        }
        drop(p.deferred);
        self.refuse_unstored(p.pad_replies);
        if self.stopping.is_some() {
            tracing::warn!("stopping with the last batch unstored");
        }
        true
    }

    /// Hands the batch's publications to the broker, in order.
    fn flush(&mut self) {
        if !self.outbox.is_empty() {
            self.sinks.mqtt.send_all(std::mem::take(&mut self.outbox));
        }
    }

    fn step(&mut self, input: Input, p: &mut Pending) {
        let now = self.now();
        match input {
            Input::Pad {
                window,
                payload,
                at,
            } => {
                p.pad_arrivals.push(at);
                self.pad(now, window, &payload, p)
            }
            Input::Rating { window, payload } => self.rating(now, &window, &payload, &mut p.batch),
            Input::Command { cmd, respond } => {
                let result = self.hall.handle(now, cmd);
                if let Err(e) = &result {
                    tracing::debug!(code = e.code(), "command refused");
                }
                if let Some(respond) = respond {
                    let views = Views {
                        hall: &self.hall,
                        now,
                    };
                    p.deferred.push(respond(&views, result.as_deref()));
                }
                if let Ok(records) = result {
                    p.batch.records.extend(records);
                }
            }
            Input::Issue {
                cmd,
                token,
                key,
                respond,
            } => self.issue(now, cmd, token, key, respond, p),
            // After the commit, like every publication (see `run`).
            Input::Republish => self.republish = true,
            // The copy is made after the batch (see `run`).
            Input::Copy => self.reads.asked.store(false, Ordering::Release),
            Input::Shutdown(done) => self.stopping = Some(done),
            Input::Query(query) => p.deferred.push(query(&Views {
                hall: &self.hall,
                now,
            })),
        }
    }
}

/// The owner's side of its readers (see [`Engine::reload`]).
#[derive(Debug, Clone)]
pub struct ReadSide {
    copies: watch::Sender<Arc<Hall>>,
    reads: Arc<Reads>,
}

impl ReadSide {
    /// Readers of a hall that no owner has loaded yet (another node runs
    /// it): they see it empty until [`Engine::reload`] gives them more.
    pub fn empty(config: hallq_core::HallConfig) -> ReadSide {
        ReadSide {
            copies: watch::channel(Arc::new(Hall::new(config))).0,
            reads: Arc::new(Reads {
                committed: AtomicU64::new(0),
                wanted: AtomicBool::new(false),
                asked: AtomicBool::new(false),
            }),
        }
    }
}

/// The cloneable handle the edges use to reach the owner.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    pub tx: mpsc::Sender<Input>,
    /// The same as the owner's [`Sinks::stages`].
    pub stages: StageLog,
    pub reader: Reader,
}

impl EngineHandle {
    /// Runs a command; `view` makes the answer from the hall right after it.
    /// `None` when the owner is gone.
    pub async fn command<T: Send + 'static>(
        &self,
        cmd: Command,
        view: impl FnOnce(&Views<'_>, &[Record]) -> T + Send + 'static,
    ) -> Option<Result<T, CoreError>> {
        let (tx, rx) = oneshot::channel();
        let respond: Responder = Box::new(move |v, result| {
            let out = result.map(|r| view(v, r)).map_err(Clone::clone);
            Box::new(move || {
                let _ = tx.send(out);
            })
        });
        self.tx
            .send(Input::Command {
                cmd,
                respond: Some(respond),
            })
            .await
            .ok()?;
        rx.await.ok()
    }

    /// Reads the hall on the owner thread, in turn with commands: for
    /// what must show the owner is alive (health check, heartbeat).
    pub async fn query_owner<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Views<'_>) -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let query = Box::new(move |v: &Views<'_>| -> Deferred {
            let out = f(v);
            Box::new(move || {
                let _ = tx.send(out);
            })
        });
        self.tx.send(Input::Query(query)).await.ok()?;
        rx.await.ok()
    }

    /// Takes a ticket (or checks a booking in) whose handle is `token`, at
    /// most once per idempotency key. `None` when the owner is gone or the
    /// batch could not be stored.
    pub async fn issue(
        &self,
        cmd: Command,
        token: String,
        key: Option<IdempotencyKey>,
    ) -> Option<Result<Issued, IssueError>> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Input::Issue {
                cmd,
                token,
                key,
                respond: tx,
            })
            .await
            .ok()?;
        rx.await.ok()
    }

    /// Takes a ticket for a service (no class, no ID): the kiosk's simplest case.
    pub async fn take(&self, service: &str) -> Option<Result<Issued, IssueError>> {
        let service = match Id::parse(service) {
            Ok(s) => s,
            Err(_) => {
                return Some(Err(IssueError::Core(CoreError::UnknownService(
                    service.to_owned(),
                ))));
            }
        };
        let token = new_token();
        let cmd = Command::IssueTicket {
            service,
            token: token.clone(),
            class: None,
            citizen: None,
        };
        self.issue(cmd, token, None).await
    }

    pub async fn metrics(&self) -> Option<hallq_contract::Metrics> {
        self.query(|v| v.metrics()).await
    }

    pub async fn pad(&self, window: String, payload: Vec<u8>) {
        let at = Instant::now();
        let _ = self
            .tx
            .send(Input::Pad {
                window,
                payload,
                at,
            })
            .await;
    }

    pub async fn rating(&self, window: String, payload: Vec<u8>) {
        let _ = self.tx.send(Input::Rating { window, payload }).await;
    }

    /// Lets the owner finish and commit the batch it is on, then stop it.
    /// Returns once it has stopped (or was gone already).
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Input::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Publish every window's retained state again.
    pub async fn republish(&self) {
        let _ = self.tx.send(Input::Republish).await;
    }

    /// Time passed: let the core give cards, lapse bookings, start a day.
    pub async fn tick(&self) {
        let _ = self
            .tx
            .send(Input::Command {
                cmd: Command::Tick,
                respond: None,
            })
            .await;
    }
}

/// A fresh code for a case's receipt (受理回执): ten digits, typed at the
/// kiosk to pick the result up. Random, so a code does not tell the next.
pub fn case_code() -> String {
    format!("{:010}", uuid::Uuid::new_v4().as_u128() % 10_000_000_000)
}

/// A fresh unguessable handle for a ticket or a booking.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
