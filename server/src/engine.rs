//! The one owner of the hall: a thread that takes inputs from MQTT and HTTP,
//! runs them through the core, makes the new records durable, and only then
//! answers and publishes.
//!
//! Inputs that arrive together are handled as one batch with one commit
//! (group commit), so a burst of commands costs one fsync, not one each.
//! If the disk refuses a commit the process stops: the log is the truth, and
//! a restart rebuilds the state from what is durable (fail-stop).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use hallq_contract::payload::{BadCommand, Op, ServiceMetrics, WindowMetrics};
use hallq_contract::{
    Call, Metrics, PadCommand, Reply, TicketRef, Topic, WindowState, WindowStatus,
};
use hallq_core::view::WindowView;
use hallq_core::{Command, CoreError, Event, Hall, Id, Millis, Record, Ticket, TicketState};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::store::{Batch, EventStore, StoredReply};

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

/// A ticket as the HTTP API and the phone page show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TicketInfo {
    /// The opaque handle for `GET …/tickets/{id}`.
    pub id: String,
    pub number: String,
    pub service: String,
    pub service_name: String,
    pub status: TicketState,
    pub issued_ms: Millis,
    pub ahead: u32,
    pub estimated_wait_s: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_name: Option<String>,
    pub materials: Vec<String>,
    pub limit_min: u32,
}

/// The hall now, for `GET /api/v1/halls/{hall}`.
#[derive(Debug, Clone, Serialize)]
pub struct HallSnapshot {
    pub hall: String,
    pub name: String,
    pub seq: u64,
    pub services: Vec<ServiceInfo>,
    pub windows: Vec<WindowView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceInfo {
    #[serde(flatten)]
    pub view: hallq_core::view::ServiceView,
    pub name_en: String,
    pub materials: Vec<String>,
    pub typical_min: u32,
    pub limit_min: u32,
}

/// What the owner thread is asked.
#[derive(Debug)]
pub enum Input {
    /// A pad's raw command from `pad/{window}/cmd`.
    Pad {
        window: String,
        payload: Vec<u8>,
    },
    Issue {
        service: String,
        reply: oneshot::Sender<Result<TicketInfo, CoreError>>,
    },
    Ticket {
        token: String,
        reply: oneshot::Sender<Option<TicketInfo>>,
    },
    Snapshot {
        reply: oneshot::Sender<HallSnapshot>,
    },
    Metrics {
        reply: oneshot::Sender<Metrics>,
    },
}

/// Something to do once the batch is durable.
type Deferred = Box<dyn FnOnce() + Send>;

/// Where the owner's results go.
#[derive(Debug, Clone)]
pub struct Sinks {
    pub mqtt: mpsc::UnboundedSender<Outgoing>,
    /// JSON lines for WebSocket clients.
    pub stream: broadcast::Sender<String>,
}

/// The hall's owner.
pub struct Engine {
    hall: Hall,
    store: Box<dyn EventStore>,
    /// `(window, command id)` → (reply JSON, when), for [`REPLY_MEMORY_MS`].
    replies: HashMap<(String, String), (String, Millis)>,
    /// Last published state per window, with `seq` zeroed.
    published: HashMap<String, WindowState>,
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
            for d in deferred {
                d();
            }
        }
    }

    fn step(&mut self, input: Input, batch: &mut Batch, deferred: &mut Vec<Deferred>) {
        let now = now_ms();
        match input {
            Input::Pad { window, payload } => self.pad(now, window, &payload, batch, deferred),
            Input::Issue { service, reply } => {
                let result = self.issue(now, &service, batch);
                deferred.push(Box::new(move || {
                    let _ = reply.send(result);
                }));
            }
            Input::Ticket { token, reply } => {
                let info = self
                    .hall
                    .ticket_by_token(&token)
                    .map(|t| self.ticket_info(t));
                deferred.push(Box::new(move || {
                    let _ = reply.send(info);
                }));
            }
            Input::Snapshot { reply } => {
                let snap = self.snapshot(now);
                deferred.push(Box::new(move || {
                    let _ = reply.send(snap);
                }));
            }
            Input::Metrics { reply } => {
                let m = self.metrics(now);
                deferred.push(Box::new(move || {
                    let _ = reply.send(m);
                }));
            }
        }
    }

    fn issue(
        &mut self,
        now: Millis,
        service: &str,
        batch: &mut Batch,
    ) -> Result<TicketInfo, CoreError> {
        let service =
            Id::parse(service).map_err(|_| CoreError::UnknownService(service.to_owned()))?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let records = self.hall.handle(
            now,
            Command::IssueTicket {
                service,
                token: token.clone(),
            },
        )?;
        batch.records.extend(records);
        let t = self.hall.ticket_by_token(&token).expect("just issued");
        tracing::info!(ticket = %t.number, service = %t.service, "ticket issued");
        Ok(self.ticket_info(t))
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
                let ticket = records
                    .iter()
                    .rev()
                    .find_map(|r| ticket_of(&r.event))
                    .and_then(|id| self.hall.ticket(id));
                let ticket = ticket.map(|t| self.ticket_ref(t, true));
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
        let cmd = match op {
            Op::CallNext { service } => Command::CallNext {
                window,
                service: service.map(service_id).transpose()?,
            },
            Op::Recall => Command::Recall { window },
            Op::NoShow => Command::NoShow { window },
            Op::Start => Command::Start { window },
            Op::Finish => Command::Finish { window },
            Op::Pause { reason } => Command::Pause { window, reason },
            Op::Resume => Command::Resume { window },
            Op::Open { clerk } => Command::Open { window, clerk },
            Op::Close => Command::Close { window },
            Op::Transfer { .. } => return Err(CoreError::Unsupported("transfer")),
        };
        self.hall.handle(now, cmd)
    }

    fn ticket_ref(&self, t: &Ticket, with_materials: bool) -> TicketRef {
        let svc = self.hall.config().service(t.service.as_str());
        TicketRef {
            number: t.number.clone(),
            service: Some(t.service.to_string()),
            service_name: svc.map(|s| s.name.clone()),
            materials: match (with_materials, svc) {
                (true, Some(s)) => s.materials.clone(),
                _ => Vec::new(),
            },
        }
    }

    fn ticket_info(&self, t: &Ticket) -> TicketInfo {
        let cfg = self.hall.config();
        let svc = cfg.service(t.service.as_str()).expect("known service");
        let place = self.hall.place(t);
        TicketInfo {
            id: t.token.clone(),
            number: t.number.clone(),
            service: t.service.to_string(),
            service_name: svc.name.clone(),
            status: t.state,
            issued_ms: t.issued_ms,
            ahead: place.ahead,
            estimated_wait_s: place.estimated_wait_s,
            window: t.window.as_ref().map(|w| w.to_string()),
            window_name: t
                .window
                .as_ref()
                .and_then(|w| cfg.window(w.as_str()))
                .map(|w| w.name.clone()),
            materials: svc.materials.clone(),
            limit_min: svc.limit_min,
        }
    }

    fn snapshot(&self, now: Millis) -> HallSnapshot {
        let cfg = self.hall.config();
        HallSnapshot {
            hall: cfg.hall.id.to_string(),
            name: cfg.hall.name.clone(),
            seq: self.hall.seq(),
            services: self
                .hall
                .service_views(now)
                .into_iter()
                .zip(&cfg.services)
                .map(|(view, s)| ServiceInfo {
                    view,
                    name_en: s.name_en.clone(),
                    materials: s.materials.clone(),
                    typical_min: s.typical_min,
                    limit_min: s.limit_min,
                })
                .collect(),
            windows: self.hall.window_views(),
        }
    }

    fn metrics(&self, now: Millis) -> Metrics {
        let services: Vec<ServiceMetrics> = self
            .hall
            .service_views(now)
            .into_iter()
            .map(|s| ServiceMetrics {
                service: s.service.to_string(),
                waiting: s.waiting,
                longest_wait_s: s.longest_wait_s,
                issued_today: s.issued_today,
                windows_open: s.windows_open,
            })
            .collect();
        Metrics {
            seq: self.hall.seq(),
            at_ms: now,
            waiting: services.iter().map(|s| s.waiting).sum(),
            services,
            windows: self
                .hall
                .window_views()
                .into_iter()
                .map(|w| WindowMetrics {
                    window: w.window.to_string(),
                    status: wire_status(w.status),
                    waiting: w.waiting,
                    served_today: w.served_today,
                })
                .collect(),
        }
    }

    fn window_state(&self, v: &WindowView) -> WindowState {
        let ticket = self
            .hall
            .window(v.window.as_str())
            .and_then(|rt| rt.current)
            .and_then(|id| self.hall.ticket(id))
            .map(|t| self.ticket_ref(t, false));
        WindowState {
            window: v.window.to_string(),
            name: v.name.clone(),
            status: wire_status(v.status),
            ticket,
            waiting: v.waiting,
            seq: self.hall.seq(),
            clerk: v.clerk.clone(),
            pause_reason: v.pause_reason.clone(),
        }
    }

    /// Publishes the state of every window that changed since last published.
    fn publish_states(&mut self) {
        let hall_id = self.hall.config().hall.id.to_string();
        for v in self.hall.window_views() {
            let state = self.window_state(&v);
            let key = WindowState {
                seq: 0,
                ..state.clone()
            };
            if self.published.get(&state.window) == Some(&key) {
                continue;
            }
            let payload = serde_json::to_vec(&state).expect("state serializes");
            let _ = self.sinks.stream.send(stream_line("window", &state));
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
            let _ = self.sinks.stream.send(stream_line("event", r));
            if let Event::TicketCalled {
                ticket,
                window,
                recall,
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
                let _ = self.sinks.stream.send(stream_line("call", &call));
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

/// `{"type": kind, "data": …}` for the WebSocket stream.
pub fn stream_line<T: Serialize>(kind: &str, data: &T) -> String {
    serde_json::json!({ "type": kind, "data": data }).to_string()
}

fn ticket_of(e: &Event) -> Option<hallq_core::TicketId> {
    match e {
        Event::TicketCalled { ticket, .. }
        | Event::TicketNoShow { ticket, .. }
        | Event::ServiceStarted { ticket, .. }
        | Event::ServiceFinished { ticket, .. }
        | Event::TicketIssued { ticket, .. } => Some(*ticket),
        _ => None,
    }
}

fn wire_status(s: hallq_core::WindowStatus) -> WindowStatus {
    match s {
        hallq_core::WindowStatus::Closed => WindowStatus::Closed,
        hallq_core::WindowStatus::Idle => WindowStatus::Idle,
        hallq_core::WindowStatus::Calling => WindowStatus::Calling,
        hallq_core::WindowStatus::Serving => WindowStatus::Serving,
        hallq_core::WindowStatus::Paused => WindowStatus::Paused,
    }
}

/// The cloneable handle the edges use to reach the owner.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    pub tx: mpsc::Sender<Input>,
}

impl EngineHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Input) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.ok()?;
        rx.await.ok()
    }

    pub async fn issue(&self, service: String) -> Option<Result<TicketInfo, CoreError>> {
        self.ask(|reply| Input::Issue { service, reply }).await
    }

    pub async fn ticket(&self, token: String) -> Option<Option<TicketInfo>> {
        self.ask(|reply| Input::Ticket { token, reply }).await
    }

    pub async fn snapshot(&self) -> Option<HallSnapshot> {
        self.ask(|reply| Input::Snapshot { reply }).await
    }

    pub async fn metrics(&self) -> Option<Metrics> {
        self.ask(|reply| Input::Metrics { reply }).await
    }

    pub async fn pad(&self, window: String, payload: Vec<u8>) {
        let _ = self.tx.send(Input::Pad { window, payload }).await;
    }
}
