//! What devices send to the server, and — with an external broker — the
//! server's own MQTT client: pad commands, ratings and device statuses to
//! the owner, and what the owner hands out back to the broker. With the
//! embedded broker there is no client: the broker's hooks call
//! [`ServerInbox`] and the owner publishes through the broker's injector.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hallq_client::Login;
use hallq_contract::payload::Op;
use hallq_contract::topic::filter;
use hallq_contract::{DeviceStatus, PadCommand, Topic};
use rumqttc::{Event, Packet, QoS};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::engine::{EngineHandle, MqttOut, Outgoing};
use crate::staff::StaffLogin;
use crate::stream::Line;

/// Last known status of each device, from their retained `device/{dev}/status`.
pub type DeviceHealth = Arc<Mutex<BTreeMap<String, DeviceStatus>>>;

/// What the server does with a message on one of its topics: pad commands
/// and ratings to the owner (an `open` has its PIN checked first, off the
/// path), device statuses to the health table and the dashboard's stream.
/// The embedded broker's hooks call it directly; with an external broker
/// the server's MQTT client does.
#[derive(Debug, Clone)]
pub struct ServerInbox {
    pub hall: String,
    pub engine: EngineHandle,
    pub health: DeviceHealth,
    pub staff: Option<Arc<StaffLogin>>,
    pub stream: broadcast::Sender<Arc<Line>>,
    pub out: MqttOut,
}

#[async_trait::async_trait]
impl crate::broker::Inbox for ServerInbox {
    async fn deliver(&self, topic: &str, payload: &[u8], retained: bool) {
        if let (Some(staff), Some((h, Topic::PadCmd(window)))) = (&self.staff, Topic::parse(topic))
            && h == self.hall
            && !retained
        {
            // Opening a window needs the clerk's PIN: checked off this
            // path (it is slow on purpose), the command goes on without it.
            let (staff, engine, out, hall) = (
                staff.clone(),
                self.engine.clone(),
                self.out.clone(),
                self.hall.clone(),
            );
            let window = window.to_owned();
            let payload = payload.to_vec();
            tokio::spawn(async move {
                open_with_pin(&staff, &engine, &out, &hall, window, payload).await
            });
            return;
        }
        incoming(
            &self.hall,
            &self.engine,
            &self.health,
            &self.stream,
            topic,
            payload,
            retained,
        )
        .await
    }
}

/// Runs the server's MQTT client for an external broker until the process
/// ends, reconnecting when the broker goes. The returned receiver fires once
/// the server's subscriptions are granted: before that, a pad's command
/// would find nobody listening.
pub fn spawn(
    login: Login,
    inbox: ServerInbox,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
) -> oneshot::Receiver<()> {
    use crate::broker::Inbox;
    let (ready_tx, ready) = oneshot::channel();
    // Unguessable, and under the embedded broker's rule only the server's
    // own account may use an id starting with its name: nobody can take this
    // session over by connecting with the same client id.
    let client_id = login.client_id(uuid::Uuid::new_v4().simple());
    let (client, mut eventloop) = login.connect(&client_id, None);
    let publisher = client.clone();
    tokio::spawn(async move {
        while let Some(o) = outgoing.recv().await {
            let qos = if o.qos == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            if let Err(e) = publisher.publish(o.topic, qos, o.retain, o.payload).await {
                tracing::error!(error = %e, "MQTT publish failed");
            }
        }
    });
    let hall = login.hall.clone();
    tokio::spawn(async move {
        let mut ready_tx = Some(ready_tx);
        let mut pending_subacks = 0;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    tracing::info!("server connected to the MQTT broker");
                    // A broker that restarted may have lost the retained
                    // window states: publish them all again.
                    inbox.engine.republish().await;
                    let filters = [
                        filter::pad_cmds(&hall),
                        filter::ratings(&hall),
                        filter::device_statuses(&hall),
                    ];
                    pending_subacks = filters.len();
                    for f in filters {
                        if let Err(e) = client.subscribe(f, QoS::AtLeastOnce).await {
                            tracing::error!(error = %e, "MQTT subscribe failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    pending_subacks = pending_subacks.saturating_sub(1);
                    if pending_subacks == 0
                        && let Some(r) = ready_tx.take()
                    {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    inbox.deliver(&p.topic, &p.payload, p.retain).await
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "MQTT connection lost; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
    ready
}

/// A pad command where the hall keeps a staff list: an `open` has its PIN
/// checked (and removed); anything else goes to the owner as it is.
async fn open_with_pin(
    staff: &Arc<StaffLogin>,
    engine: &EngineHandle,
    out: &MqttOut,
    hall: &str,
    window: String,
    payload: Vec<u8>,
) {
    let cmd = match PadCommand::parse(&payload) {
        Ok(cmd) => cmd,
        // The owner answers what it cannot read.
        Err(_) => return engine.pad(window, payload).await,
    };
    let Op::Open { clerk, pin } = cmd.op else {
        return engine.pad(window, payload).await;
    };
    match staff.check(&window, clerk.as_deref(), pin.as_deref()).await {
        Ok(()) => {
            let clean = PadCommand {
                id: cmd.id,
                op: Op::Open { clerk, pin: None },
            };
            let body = serde_json::to_vec(&clean).expect("command serializes");
            engine.pad(window, body).await
        }
        Err((code, message)) => {
            let reply = hallq_contract::Reply::err(&cmd.id, code, message);
            out.send(Outgoing {
                topic: Topic::PadReply(&window).to_string(hall),
                payload: serde_json::to_vec(&reply).expect("reply serializes"),
                retain: false,
                qos: 1,
            });
        }
    }
}

async fn incoming(
    hall: &str,
    engine: &EngineHandle,
    health: &DeviceHealth,
    stream: &broadcast::Sender<Arc<Line>>,
    topic: &str,
    payload: &[u8],
    retained: bool,
) {
    match Topic::parse(topic) {
        // A retained command is stale by definition (an external broker may
        // keep one that a pad set): it is never applied, whatever its id.
        Some((h, Topic::PadCmd(_) | Topic::Rating(_))) if h == hall && retained => {
            tracing::warn!(
                topic,
                "retained command ignored: commands are never retained"
            );
        }
        Some((h, Topic::PadCmd(window))) if h == hall => {
            engine.pad(window.to_owned(), payload.to_vec()).await
        }
        Some((h, Topic::DeviceStatus(dev))) if h == hall => {
            match serde_json::from_slice::<DeviceStatus>(payload) {
                Ok(s) => {
                    tracing::info!(device = dev, online = s.online, "device status");
                    // The dashboard hears of it at once (the stream).
                    let line = Line::staff_only(
                        "device",
                        &serde_json::json!({ "device": dev, "status": &s }),
                    );
                    health
                        .lock()
                        .expect("health lock")
                        .insert(dev.to_owned(), s);
                    let _ = stream.send(line);
                }
                Err(e) => tracing::warn!(device = dev, error = %e, "unreadable device status"),
            }
        }
        Some((h, Topic::Rating(window))) if h == hall => {
            engine.rating(window.to_owned(), payload.to_vec()).await
        }
        _ => tracing::warn!(topic, "message on an unexpected topic ignored"),
    }
}
