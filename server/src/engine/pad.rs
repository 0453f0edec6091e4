//! The pad protocol: a pad's raw command → the core → one reply per command
//! id, remembered (in memory and in the log) so a repeat gets the first
//! reply again; and the rating pad's grades.

use hallq_contract::payload::{BadCommand, Op};
use hallq_contract::{PadCommand, Rating, Reply, Topic};
use hallq_core::{Command, CoreError, Id, Millis, Record};

use super::{Engine, Outgoing, Pending, REPLY_MEMORY_MS};
use crate::store::{Batch, StoredReply};
use crate::views::Views;

impl Engine {
    /// A rating pad's grade for a ticket just finished at its window.
    pub(super) fn rating(&mut self, now: Millis, window: &str, payload: &[u8], batch: &mut Batch) {
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

    pub(super) fn pad(&mut self, now: Millis, window: String, payload: &[u8], p: &mut Pending) {
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
                self.answer(now, window, reply_topic, id, reply, p);
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
            p.deferred.push(Box::new(move || {
                mqtt.send(out);
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
                let case = records.iter().find_map(|r| match &r.event {
                    hallq_core::Event::CaseAccepted { case, .. } => Some(case.clone()),
                    _ => None,
                });
                p.batch.records.extend(records);
                Reply {
                    case,
                    ..Reply::ok(&cmd.id, ticket)
                }
            }
            Err(e) => Reply::err(&cmd.id, e.code(), &e.to_string()),
        };
        // Logged once the reply is out: a log line (formatting, a write to
        // the journal) must not delay the sign or the pad.
        let (w, id) = (window.clone(), cmd.id.clone());
        let outcome = match &reply.error {
            None => Ok(reply.ticket.as_ref().map(|t| t.number.clone())),
            Some(e) => Err(e.code.clone()),
        };
        self.answer(now, window, reply_topic, cmd.id, reply, p);
        p.deferred.push(Box::new(move || match outcome {
            Ok(ticket) => tracing::info!(window = %w, %id, ?ticket, "pad command applied"),
            Err(code) => tracing::info!(window = %w, %id, %code, "pad command refused"),
        }));
    }

    /// Remembers a reply (in memory now, in the log with the batch) and
    /// sends it once the batch is durable. Should the commit fail, the pad
    /// is told `storage_failed` instead and nothing is remembered.
    fn answer(
        &mut self,
        now: Millis,
        window: String,
        topic: String,
        id: String,
        reply: Reply,
        p: &mut Pending,
    ) {
        let body = serde_json::to_string(&reply).expect("reply serializes");
        if self.replies.len() % 4096 == 4095 {
            self.replies
                .retain(|_, (_, at)| *at >= now - REPLY_MEMORY_MS);
        }
        self.replies
            .insert((window.clone(), id.clone()), (body.clone(), now));
        p.batch.replies.push(StoredReply {
            window,
            command_id: id.clone(),
            body: body.clone(),
            at_ms: now,
        });
        p.pad_replies.push((topic.clone(), id));
        let out = Outgoing {
            topic,
            payload: body.into_bytes(),
            retain: false,
            qos: 1,
        };
        let mqtt = self.sinks.mqtt.clone();
        p.deferred.push(Box::new(move || {
            mqtt.send(out);
        }));
    }

    /// Tells the pads of a batch that could not be stored that their
    /// commands were not done (they may send them again, same id).
    pub(super) fn refuse_unstored(&self, pad_replies: Vec<(String, String)>) {
        for (topic, id) in pad_replies {
            let reply = Reply::err(
                &id,
                "storage_failed",
                "存储故障，命令未执行，请稍后重试 / cannot store: not done, try again",
            );
            self.sinks.mqtt.send(Outgoing {
                topic,
                payload: serde_json::to_vec(&reply).expect("reply serializes"),
                retain: false,
                qos: 1,
            });
        }
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
            Op::Accept => Command::Accept {
                window,
                case: super::case_code(),
            },
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
            // The PIN was checked at the edge (`bridge`) and goes no further.
            Op::Open { clerk, pin: _ } => Command::Open { window, clerk },
            Op::Close => Command::Close { window },
        };
        self.hall.handle(now, cmd)
    }
}
