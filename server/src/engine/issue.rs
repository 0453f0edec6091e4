//! Tickets over HTTP, at most once per idempotency key: a kiosk that timed
//! out and asks again with the same `Idempotency-Key` gets the ticket it
//! was given the first time, not a second one. The key, a fingerprint of
//! the request and the ticket's handle are kept beside the pad replies, in
//! the same commit as the ticket, for the same two days.

use hallq_core::{Command, CoreError, Millis};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::{Engine, Pending};
use crate::store::StoredReply;
use crate::views::{TicketInfo, Views};

/// A request's idempotency key, scoped to whoever sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The kiosk's device id, or `public@{address}`: nobody replays another's.
    pub scope: String,
    pub key: String,
    /// A digest of the request body: the same key with another body is a
    /// mistake, answered 422.
    pub fingerprint: String,
}

/// A ticket issued (or issued before, for a repeated key).
#[derive(Debug, Clone)]
pub struct Issued {
    pub ticket: TicketInfo,
    /// True when this is the first answer again.
    pub replayed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueError {
    Core(CoreError),
    /// The key was used before with another request.
    KeyReused,
}

/// What is remembered of a key.
#[derive(Debug, Serialize, Deserialize)]
struct Remembered {
    fp: String,
    token: String,
}

impl Engine {
    pub(super) fn issue(
        &mut self,
        now: Millis,
        cmd: Command,
        token: String,
        key: Option<IdempotencyKey>,
        respond: oneshot::Sender<Result<Issued, IssueError>>,
        p: &mut Pending,
    ) {
        let memory = key
            .as_ref()
            .map(|k| (format!("idem:{}", k.scope), k.key.clone()));
        fn views(e: &Engine, now: Millis) -> Views<'_> {
            Views { hall: &e.hall, now }
        }
        if let (Some(k), Some(m)) = (&key, &memory)
            && let Some((body, _)) = self.replies.get(m)
        {
            let answer = match serde_json::from_str::<Remembered>(body) {
                Ok(r) if r.fp == k.fingerprint => views(self, now)
                    .ticket_by_token(&r.token)
                    .map(|ticket| Issued {
                        ticket,
                        replayed: true,
                    })
                    .ok_or(IssueError::Core(CoreError::UnknownTicket)),
                _ => Err(IssueError::KeyReused),
            };
            tracing::info!(key = %k.key, replayed = answer.is_ok(), "repeated idempotency key");
            p.deferred.push(Box::new(move || {
                let _ = respond.send(answer);
            }));
            return;
        }
        let answer = match self.hall.handle(now, cmd) {
            Ok(records) => {
                p.batch.records.extend(records);
                if let (Some(k), Some(m)) = (key, memory) {
                    let body = serde_json::to_string(&Remembered {
                        fp: k.fingerprint,
                        token: token.clone(),
                    })
                    .expect("serializes");
                    self.replies.insert(m.clone(), (body.clone(), now));
                    p.batch.replies.push(StoredReply {
                        window: m.0,
                        command_id: m.1,
                        body,
                        at_ms: now,
                    });
                }
                views(self, now)
                    .ticket_by_token(&token)
                    .map(|ticket| Issued {
                        ticket,
                        replayed: false,
                    })
                    .ok_or(IssueError::Core(CoreError::UnknownTicket))
            }
            Err(e) => Err(IssueError::Core(e)),
        };
        p.deferred.push(Box::new(move || {
            let _ = respond.send(answer);
        }));
    }
}
