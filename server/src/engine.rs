//! The one owner of the hall: a thread that takes inputs from MQTT, HTTP and
//! the timer, runs them through the core, makes the new records durable, and
//! only then answers and publishes.
//!
//! Inputs that arrive together are handled as one batch with one commit
//! (group commit), so a burst of commands costs one fsync, not one each.
//! If the disk refuses a commit the process stops: the log is the truth, and
//! a restart rebuilds the state from what is durable (fail-stop).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hallq_contract::payload::{BadCommand, Op};
use hallq_contract::{Call, PadCommand, Rating, Reply, Topic, WindowState};
use hallq_core::{Command, CoreError, Event, Hall, Id, Millis, Record};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::store::{Batch, EventStore, StoredReply};
use crate::stream::{Line, event_line};
use crate::views::Views;

/// How long a pad command id is remembered (and its reply repeated).
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

/// Something to do once the batch is durable.
pub type Deferred = Box<dyn FnOnce() + Send>;

/// Turns a command's outcome, seen against the hall right after it, into
/// what to send once it is durable.
pub type Responder = Box<dyn FnOnce(&Views<'_>, Result<&[Record], &CoreError>) -> Deferred + Send>;

/// What the owner thread is asked.
pub enum Input {
    /// A pad's raw command from `pad/{window}/cmd`.
    Pad { window: String, payload: Vec<u8> },
    /// A rating pad's raw message from `rating/{window}`.
    Rating { window: String, payload: Vec<u8> },
    /// A command from the HTTP side or the timer.
    Command {
        cmd: Command,
        respond: Option<Responder>,
    },
    /// A read of the hall.
    Query(Box<dyn FnOnce(&Views<'_>) -> Deferred + Send>),
    /// Publish every window's retained state again (the broker reconnected).
    Republish,
    /// Finish the batch, commit it, answer it, then stop; says when done.
    Shutdown(oneshot::Sender<()>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Pad { window, .. } => write!(f, "Pad({window})"),
            Input::Rating { window, .. } => write!(f, "Rating({window})"),
            Input::Command { cmd, .. } => write!(f, "Command({cmd:?})"),
            Input::Query(_) => f.write_str("Query"),
            Input::Republish => f.write_str("Republish"),
            Input::Shutdown(_) => f.write_str("Shutdown"),
        }
    }
}

/// Where the owner's results go.
#[derive(Debug, Clone)]
pub struct Sinks {
    pub mqtt: mpsc::UnboundedSender<Outgoing>,
    /// Lines for WebSocket clients (public and staff forms).
    pub stream: broadcast::Sender<Arc<Line>>,
    /// When the core next wants a `Tick`.
    pub wake: watch::Sender<Option<Millis>>,
}

/// The hall's owner.
pub struct Engine {
    hall: Hall,
    store: Box<dyn EventStore>,
    /// `(window, command id)` → (reply JSON, when), for [`REPLY_MEMORY_MS`].
    replies: HashMap<(String, String), (String, Millis)>,
    /// Last published state per window, with `seq` zeroed.
    published: HashMap<String, WindowState>,
    /// Publish all window states again after this batch.
    republish: bool,
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

pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl Engine {
    /// Rebuilds the hall from the store.
    pub fn load(
        config: hallq_core::HallConfig,
        mut store: Box<dyn EventStore>,
        sinks: Sinks,
    ) -> anyhow::Result<Engine> {
        let records = store.records()?;
        let hall = Hall::replay(config, &records);
        let forgotten = store.forget_replies(now_ms() - REPLY_MEMORY_MS)?;
        tracing::debug!(forgotten, "old pad replies forgotten");
        let replies = store
            .replies(now_ms() - REPLY_MEMORY_MS)?
            .into_iter()
            .map(|r| ((r.window, r.command_id), (r.body, r.at_ms)))
            .collect();
        tracing::info!(
            events = records.len(),
            seq = hall.seq(),
            "hall rebuilt from the log"
        );
        Ok(Engine {
            hall,
            store,
            replies,
            published: HashMap::new(),
            republish: false,
            stopping: None,
            sinks,
        })
    }

    pub fn hall(&self) -> &Hall {
        &self.hall
    }

    /// Runs until every sender is gone. Publishes all window states first, so
    /// retained messages are right after a restart.
    pub fn run(mut self, mut rx: mpsc::Receiver<Input>) {
        self.publish_states();
        let _ = self.sinks.wake.send(self.hall.next_deadline());
        while let Some(first) = rx.blocking_recv() {
            let mut batch = Batch::default();
            let mut deferred: Vec<Deferred> = Vec::new();
            self.step(first, &mut batch, &mut deferred);
            for _ in 1..MAX_BATCH {
                match rx.try_recv() {
                    Ok(input) => self.step(input, &mut batch, &mut deferred),
                    Err(_) => break,
                }
            }
            if !batch.is_empty()
                && let Err(e) = self.store.append(&batch)
            {
                tracing::error!(error = %e, "cannot make events durable; stopping so a restart rebuilds from the log");
                std::process::exit(70);
            }
            // What the hall sees first (calls, window states), then the answers.
            self.publish_records(&batch.records);
            if std::mem::take(&mut self.republish) {
                self.published.clear();
                self.publish_states();
            }
            for d in deferred {
                d();
            }
            self.sinks.wake.send_if_modified(|w| {
                let next = self.hall.next_deadline();
                std::mem::replace(w, next) != next
            });
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
    }

    fn step(&mut self, input: Input, batch: &mut Batch, deferred: &mut Vec<Deferred>) {
        let now = now_ms();
        match input {
            Input::Pad { window, payload } => self.pad(now, window, &payload, batch, deferred),
            Input::Rating { window, payload } => self.rating(now, &window, &payload, batch),
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
                    deferred.push(respond(&views, result.as_deref()));
                }
                if let Ok(records) = result {
                    batch.records.extend(records);
                }
            }
            // After the commit, like every publication (see `run`).
            Input::Republish => self.republish = true,
            Input::Shutdown(done) => self.stopping = Some(done),
            Input::Query(query) => deferred.push(query(&Views {
                hall: &self.hall,
                now,
            })),
        }
    }

    /// A rating pad's grade for a ticket just finished at its window.
    fn rating(&mut self, now: Millis, window: &str, payload: &[u8], batch: &mut Batch) {
        let Ok(r) = serde_json::from_slice::<Rating>(payload) else {
            tracing::warn!(window, "unreadable rating dropped");
            return;
        };
        let Ok(window_id) = Id::parse(window) else {
            return;
        };
        let cmd = Command::Rate {
            ticket: r.ticket.clone(),
            window: Some(window_id),
            score: r.score,
        };
        match self.hall.handle(now, cmd) {
            Ok(records) => {
                tracing::info!(window, ticket = %r.ticket, score = r.score, "rating recorded");
                batch.records.extend(records);
            }
            Err(e) => tracing::info!(window, ticket = %r.ticket, code = e.code(), "rating refused"),
        }
    }

    fn pad(
        &mut self,
        now: Millis,
        window: String,
        payload: &[u8],
        batch: &mut Batch,
        deferred: &mut Vec<Deferred>,
    ) {
        let reply_topic = Topic::PadReply(&window).to_string(self.hall.config().hall.id.as_str());
        let cmd = match PadCommand::parse(payload) {
            Ok(c) => c,
            Err(BadCommand { id: None, message }) => {
                tracing::warn!(%window, %message, "unreadable pad command dropped");
                return;
            }
            Err(BadCommand {
                id: Some(id),
                message,
            }) => {
                let reply = Reply::err(
                    &id,
                    "bad_request",
                    &format!("无法识别的命令 / bad request: {message}"),
                );
                self.answer(now, window, reply_topic, id, reply, batch, deferred);
                return;
            }
        };
        if let Some((first, _)) = self.replies.get(&(window.clone(), cmd.id.clone())) {
            tracing::info!(%window, id = %cmd.id, "repeated command id: first reply sent again");
            let out = Outgoing {
                topic: reply_topic,
                payload: first.clone().into_bytes(),
                retain: false,
                qos: 1,
            };
            let mqtt = self.sinks.mqtt.clone();
            deferred.push(Box::new(move || {
                let _ = mqtt.send(out);
            }));
            return;
        }
        let reply = match self.pad_command(now, &window, cmd.op) {
            Ok(records) => {
                let views = Views {
                    hall: &self.hall,
                    now,
                };
                let ticket = records
                    .iter()
                    .rev()
                    .find_map(|r| r.event.ticket())
                    .and_then(|id| self.hall.ticket(id))
                    .map(|t| views.ticket_ref(t, true));
                tracing::info!(%window, id = %cmd.id, ticket = ?ticket.as_ref().map(|t| &t.number), "pad command applied");
                batch.records.extend(records);
                Reply::ok(&cmd.id, ticket)
            }
            Err(e) => {
                tracing::info!(%window, id = %cmd.id, code = e.code(), "pad command refused");
                Reply::err(&cmd.id, e.code(), &e.to_string())
            }
        };
        self.answer(now, window, reply_topic, cmd.id, reply, batch, deferred);
    }

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &mut self,
        now: Millis,
        window: String,
        topic: String,
        id: String,
        reply: Reply,
        batch: &mut Batch,
        deferred: &mut Vec<Deferred>,
    ) {
        let body = serde_json::to_string(&reply).expect("reply serializes");
        if self.replies.len() % 4096 == 4095 {
            self.replies
                .retain(|_, (_, at)| *at >= now - REPLY_MEMORY_MS);
        }
        self.replies
            .insert((window.clone(), id.clone()), (body.clone(), now));
        batch.replies.push(StoredReply {
            window,
            command_id: id,
            body: body.clone(),
            at_ms: now,
        });
        let out = Outgoing {
            topic,
            payload: body.into_bytes(),
            retain: false,
            qos: 1,
        };
        let mqtt = self.sinks.mqtt.clone();
        deferred.push(Box::new(move || {
            let _ = mqtt.send(out);
        }));
    }

    fn pad_command(&mut self, now: Millis, window: &str, op: Op) -> Result<Vec<Record>, CoreError> {
        let window = Id::parse(window).map_err(|_| CoreError::UnknownWindow(window.to_owned()))?;
        let service_id = |s: String| Id::parse(&s).map_err(|_| CoreError::UnknownService(s));
        let window_id = |s: String| Id::parse(&s).map_err(|_| CoreError::UnknownWindow(s));
        let cmd = match op {
            Op::CallNext { service } => Command::CallNext {
                window,
                service: service.map(service_id).transpose()?,
            },
            Op::Call { ticket, reason } => Command::CallTicket {
                window,
                number: ticket,
                reason,
            },
            Op::Recall => Command::Recall { window },
            Op::NoShow => Command::NoShow { window },
            Op::Start => Command::Start { window },
            Op::Finish => Command::Finish { window },
            Op::Hold => Command::Hold { window },
            Op::Transfer {
                to_service,
                to_window,
                note,
            } => Command::Transfer {
                window,
                to_service: to_service.map(service_id).transpose()?,
                to_window: to_window.map(window_id).transpose()?,
                note: note.unwrap_or_default(),
            },
            Op::Pause { reason } => Command::Pause { window, reason },
            Op::Resume => Command::Resume { window },
            Op::Open { clerk } => Command::Open { window, clerk },
            Op::Close => Command::Close { window },
        };
        self.hall.handle(now, cmd)
    }

    /// Publishes the state of every window that changed since last published.
    fn publish_states(&mut self) {
        let hall_id = self.hall.config().hall.id.to_string();
        let views = Views {
            hall: &self.hall,
            now: now_ms(),
        };
        for v in self.hall.window_views() {
            let state = views.window_state(&v);
            let key = WindowState {
                seq: 0,
                ..state.clone()
            };
            if self.published.get(&state.window) == Some(&key) {
                continue;
            }
            let payload = serde_json::to_vec(&state).expect("state serializes");
            let _ = self.sinks.stream.send(Line::same("window", &state));
            let _ = self.sinks.mqtt.send(Outgoing {
                topic: Topic::WindowState(&state.window).to_string(&hall_id),
                payload,
                retain: true,
                qos: 1,
            });
            self.published.insert(state.window.clone(), key);
        }
    }

    /// After a commit: calls first (the voice matters most), then window states.
    fn publish_records(&mut self, records: &[Record]) {
        if records.is_empty() {
            return;
        }
        let cfg = self.hall.config();
        let hall_id = cfg.hall.id.to_string();
        for r in records {
            let _ = self.sinks.stream.send(event_line(&self.hall, r));
            if let Event::TicketCalled {
                ticket,
                window,
                recall,
                ..
            } = &r.event
            {
                let t = self.hall.ticket(*ticket).expect("called ticket exists");
                let call = Call {
                    seq: r.seq,
                    ticket: t.number.clone(),
                    window: window.to_string(),
                    window_name: cfg
                        .window(window.as_str())
                        .map(|w| w.name.clone())
                        .unwrap_or_default(),
                    service_name: cfg
                        .service(t.service.as_str())
                        .map(|s| s.name.clone())
                        .unwrap_or_default(),
                    recall: *recall,
                    at_ms: r.at_ms,
                };
                let _ = self.sinks.stream.send(Line::same("call", &call));
                let _ = self.sinks.mqtt.send(Outgoing {
                    topic: Topic::Calls.to_string(&hall_id),
                    payload: serde_json::to_vec(&call).expect("call serializes"),
                    retain: false,
                    qos: 1,
                });
            }
        }
        self.publish_states();
    }
}

/// The cloneable handle the edges use to reach the owner.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    pub tx: mpsc::Sender<Input>,
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

    /// Reads the hall.
    pub async fn query<T: Send + 'static>(
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

    /// Takes a ticket for a service (no class, no ID): the kiosk's simplest case.
    pub async fn issue(
        &self,
        service: String,
    ) -> Option<Result<crate::views::TicketInfo, CoreError>> {
        let service = match Id::parse(&service) {
            Ok(s) => s,
            Err(_) => return Some(Err(CoreError::UnknownService(service))),
        };
        let token = new_token();
        let t = token.clone();
        let cmd = Command::IssueTicket {
            service,
            token,
            class: None,
            citizen: None,
        };
        self.command(cmd, move |v, _| v.ticket_by_token(&t).expect("just issued"))
            .await
    }

    pub async fn metrics(&self) -> Option<hallq_contract::Metrics> {
        self.query(|v| v.metrics()).await
    }

    pub async fn pad(&self, window: String, payload: Vec<u8>) {
        let _ = self.tx.send(Input::Pad { window, payload }).await;
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

/// A fresh unguessable handle for a ticket or a booking.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
