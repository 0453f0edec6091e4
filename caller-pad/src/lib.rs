//! A clerk's call pad over MQTT: sends contract commands with fresh ids on
//! `pad/{win}/cmd` and waits for the reply with the same id on
//! `pad/{win}/reply`.

pub mod model;
pub mod session;
pub mod tui;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hallq_client::{Login, Presence};
use hallq_contract::payload::Op;
use hallq_contract::{PadCommand, Reply, Topic};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio::sync::{mpsc, oneshot};

/// How long a pad waits for the server's reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected pad for one window.
#[derive(Debug)]
pub struct Pad {
    client: AsyncClient,
    cmd_topic: String,
    replies: mpsc::UnboundedReceiver<Reply>,
    /// Ids are `{device}-{start time}-{n}`: unique across restarts of the pad.
    id_prefix: String,
    next: u64,
}

impl Pad {
    /// Connects, subscribes to the window's replies and announces the pad.
    pub async fn connect(login: &Login, window: &str) -> anyhow::Result<Pad> {
        let presence = Presence {
            role: "pad",
            window: Some(window.to_owned()),
        };
        let started = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
        let (client, mut eventloop) = login.connect(
            &login.client_id(format_args!("{started:x}")),
            Some(&presence),
        );
        let reply_topic = Topic::PadReply(window).to_string(&login.hall);
        let (tx, replies) = mpsc::unbounded_channel();
        let (ready_tx, ready) = oneshot::channel::<Result<(), String>>();
        let sub = client.clone();
        let (login2, topic2) = (login.clone(), reply_topic.clone());
        tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = sub.subscribe(&topic2, QoS::AtLeastOnce).await;
                        let _ = login2.announce(&sub, &presence).await;
                    }
                    Ok(Event::Incoming(Packet::SubAck(ack))) => {
                        if let Some(r) = ready_tx.take() {
                            let ok = ack
                                .return_codes
                                .iter()
                                .all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)));
                            let _ = r.send(if ok {
                                Ok(())
                            } else {
                                Err("subscription refused".into())
                            });
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topic2 => {
                        if let Ok(reply) = serde_json::from_slice::<Reply>(&p.payload) {
                            let _ = tx.send(reply);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        if let Some(r) = ready_tx.take() {
                            let _ = r.send(Err(e.to_string()));
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        });
        match tokio::time::timeout(REPLY_TIMEOUT, ready).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => anyhow::bail!("cannot connect the pad: {e}"),
            _ => anyhow::bail!("cannot connect the pad: no answer from the broker"),
        }
        Ok(Pad {
            client,
            cmd_topic: Topic::PadCmd(window).to_string(&login.hall),
            replies,
            id_prefix: format!("{}-{started:x}", login.user),
            next: 0,
        })
    }

    /// A fresh command id.
    pub fn next_id(&mut self) -> String {
        self.next += 1;
        format!("{}-{}", self.id_prefix, self.next)
    }

    /// Sends a command and waits for its reply.
    pub async fn send(&mut self, op: Op) -> anyhow::Result<Reply> {
        let cmd = PadCommand {
            id: self.next_id(),
            op,
        };
        self.send_command(&cmd).await
    }

    /// Sends a command as given (its id too) and waits for its reply.
    pub async fn send_command(&mut self, cmd: &PadCommand) -> anyhow::Result<Reply> {
        self.send_command_within(cmd, REPLY_TIMEOUT).await
    }

    /// Sends a command and waits for its reply up to `timeout`. A pad that
    /// gets no reply sends the same command again (same id): the server
    /// applies an id once and answers a repeat with the first reply.
    pub async fn send_command_within(
        &mut self,
        cmd: &PadCommand,
        timeout: Duration,
    ) -> anyhow::Result<Reply> {
        self.client
            .publish(
                &self.cmd_topic,
                QoS::AtLeastOnce,
                false,
                serde_json::to_vec(cmd)?,
            )
            .await?;
        let wait = async {
            while let Some(r) = self.replies.recv().await {
                if r.id == cmd.id {
                    return Some(r);
                }
            }
            None
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Some(r)) => Ok(r),
            _ => anyhow::bail!("no reply to {} within {:?}", cmd.id, timeout),
        }
    }
}

/// The pad's buttons, by the words a clerk types.
pub fn op_from_words(words: &[&str]) -> Option<Op> {
    let rest_from = |i: usize| words.get(i..).unwrap_or(&[]).join(" ");
    let rest = rest_from(1);
    let arg = (!rest.is_empty()).then(|| rest.clone());
    Some(match *words.first()? {
        "n" | "next" | "call-next" | "call_next" => Op::CallNext { service: arg },
        "call" | "k" => Op::Call {
            ticket: (*words.get(1)?).to_owned(),
            reason: Some(rest_from(2)).filter(|r| !r.is_empty()),
        },
        "r" | "recall" => Op::Recall,
        "x" | "no-show" | "no_show" => Op::NoShow,
        "s" | "start" => Op::Start,
        "f" | "finish" => Op::Finish,
        "a" | "accept" => Op::Accept,
        "h" | "hold" => Op::Hold,
        "t" | "transfer" => {
            let note = Some(rest_from(3)).filter(|n| !n.is_empty());
            let target = (*words.get(2)?).to_owned();
            match *words.get(1)? {
                "service" => Op::Transfer {
                    to_service: Some(target),
                    to_window: None,
                    note,
                },
                "window" => Op::Transfer {
                    to_service: None,
                    to_window: Some(target),
                    note,
                },
                _ => return None,
            }
        }
        "p" | "pause" => Op::Pause { reason: rest },
        "c" | "resume" => Op::Resume,
        "o" | "open" => Op::Open {
            clerk: words.get(1).map(|c| (*c).to_owned()),
            pin: words.get(2).map(|p| (*p).to_owned()),
        },
        "e" | "close" => Op::Close,
        _ => return None,
    })
}

/// One line for the clerk: Chinese first.
pub fn describe(reply: &Reply) -> String {
    match (&reply.ticket, &reply.error) {
        (_, Some(e)) => format!("✗ {} ({})", e.message, e.code),
        (Some(t), None) => {
            let mut s = format!("✓ {} {}", t.number, t.service_name.as_deref().unwrap_or(""));
            if let Some(c) = &t.class {
                s.push_str(&format!(" [{c}]"));
            }
            if let Some(limit) = t.limit_min {
                s.push_str(&format!("  限时 {limit} 分钟 / limit {limit} min"));
            }
            if let Some(o) = &t.owner {
                s.push_str(&format!("\n  首问负责 / owner: {o}"));
            }
            if !t.materials.is_empty() {
                s.push_str(&format!("\n  材料 / materials: {}", t.materials.join("；")));
            }
            if let Some(c) = &reply.case {
                s.push_str(&format!("\n  已受理，办件编号 / case accepted: {c}"));
            }
            s
        }
        (None, None) => "✓ 好 / ok".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accept_reply_shows_the_case_code() {
        assert_eq!(op_from_words(&["a"]), Some(Op::Accept));
        let r = Reply {
            case: Some("4821907715".into()),
            ..Reply::ok("i", Some(hallq_contract::TicketRef::numbered("A012")))
        };
        assert!(
            describe(&r).contains("办件编号 / case accepted: 4821907715"),
            "{}",
            describe(&r)
        );
    }

    #[test]
    fn words_map_to_buttons() {
        assert_eq!(op_from_words(&["n"]), Some(Op::CallNext { service: None }));
        assert_eq!(
            op_from_words(&["call-next", "social"]),
            Some(Op::CallNext {
                service: Some("social".into())
            })
        );
        assert_eq!(
            op_from_words(&["pause", "午休", "1h"]),
            Some(Op::Pause {
                reason: "午休 1h".into()
            })
        );
        assert_eq!(
            op_from_words(&["open", "zhang"]),
            Some(Op::Open {
                clerk: Some("zhang".into()),
                pin: None
            })
        );
        assert_eq!(
            op_from_words(&["call", "A005", "急事"]),
            Some(Op::Call {
                ticket: "A005".into(),
                reason: Some("急事".into())
            })
        );
        assert_eq!(
            op_from_words(&["call", "A005"]),
            Some(Op::Call {
                ticket: "A005".into(),
                reason: None
            })
        );
        assert_eq!(op_from_words(&["call"]), None);
        assert_eq!(op_from_words(&["h"]), Some(Op::Hold));
        assert_eq!(
            op_from_words(&["transfer", "service", "property", "买房"]),
            Some(Op::Transfer {
                to_service: Some("property".into()),
                to_window: None,
                note: Some("买房".into())
            })
        );
        assert_eq!(
            op_from_words(&["t", "window", "11"]),
            Some(Op::Transfer {
                to_service: None,
                to_window: Some("11".into()),
                note: None
            })
        );
        assert_eq!(op_from_words(&["transfer", "elsewhere", "x"]), None);
        assert_eq!(op_from_words(&["dance"]), None);
        assert_eq!(op_from_words(&[]), None);
    }

    #[test]
    fn replies_read_chinese_first() {
        let r = Reply::err("i", "queue_empty", "没有等候的号 / no one is waiting");
        assert_eq!(
            describe(&r),
            "✗ 没有等候的号 / no one is waiting (queue_empty)"
        );
    }
}
