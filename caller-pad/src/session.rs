//! The pad's connection: keeps [`PadModel`] in step with the broker — its
//! window's retained state, its replies, the connection itself — sends what
//! the model lets through, and resends an unanswered command with its id.
//! The full-screen pad and the tests drive it through [`PadHandle`].

use std::time::Duration;

use hallq_client::{Login, Presence, now_ms};
use hallq_contract::payload::Op;
use hallq_contract::{PadCommand, Reply, Topic, WindowState};
use rumqttc::{Event, Packet, QoS};
use tokio::sync::{mpsc, watch};

use crate::model::PadModel;

/// Buttons in, the model out.
#[derive(Debug)]
pub struct PadHandle {
    pub buttons: mpsc::UnboundedSender<Op>,
    pub model: watch::Receiver<PadModel>,
}

/// Connects (and reconnects) the pad for `window`; runs until the handle's
/// button sender is dropped.
pub fn spawn(login: &Login, window: &str) -> PadHandle {
    let started = now_ms();
    let presence = Presence {
        role: "pad",
        window: Some(window.to_owned()),
    };
    let (client, mut events) = login.connect(
        &login.client_id(format_args!("{started:x}")),
        Some(&presence),
    );
    let model = PadModel::new(window, &format!("{}-{started:x}", login.user));
    let (model_tx, model_rx) = watch::channel(model.clone());
    let (buttons, mut presses) = mpsc::unbounded_channel::<Op>();
    let hall = login.hall.clone();
    let (cmd_topic, reply_topic, state_topic, layout_topic) = (
        Topic::PadCmd(window).to_string(&hall),
        Topic::PadReply(window).to_string(&hall),
        Topic::WindowState(window).to_string(&hall),
        Topic::Layout.to_string(&hall),
    );
    let login = login.clone();
    tokio::spawn(async move {
        let mut model = model;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let send = |cmd: PadCommand| {
            let (c, t) = (client.clone(), cmd_topic.clone());
            async move {
                let body = serde_json::to_vec(&cmd).expect("command serializes");
                let _ = c.publish(t, QoS::AtLeastOnce, false, body).await;
            }
        };
        loop {
            tokio::select! {
                ev = events.poll() => match ev {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = client.subscribe(&reply_topic, QoS::AtLeastOnce).await;
                        let _ = client.subscribe(&state_topic, QoS::AtLeastOnce).await;
                        let _ = client.subscribe(&layout_topic, QoS::AtLeastOnce).await;
                        let _ = login.announce(&client, &presence).await;
                    }
                    // Online once the subscriptions hold: replies can reach us.
                    Ok(Event::Incoming(Packet::SubAck(_))) => model.connection(true, now_ms()),
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if p.topic == reply_topic {
                            if let Ok(r) = serde_json::from_slice::<Reply>(&p.payload) {
                                model.reply(r);
                            }
                        } else if p.topic == state_topic
                            && let Ok(s) = serde_json::from_slice::<WindowState>(&p.payload)
                        {
                            model.window_state(s, now_ms());
                        } else if p.topic == layout_topic
                            && let Ok(l) = serde_json::from_slice::<hallq_contract::Layout>(&p.payload)
                        {
                            model.layout = Some(l);
                        }
                    }
                    Ok(_) => continue,
                    Err(_) => {
                        model.connection(false, now_ms());
                        let _ = model_tx.send(model.clone());
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        continue;
                    }
                },
                press = presses.recv() => {
                    let Some(op) = press else { return };
                    if let Ok(cmd) = model.press(op, now_ms()) {
                        send(cmd).await;
                    }
                }
                _ = tick.tick() => {
                    match model.due_retry(now_ms()) {
                        Some(cmd) => send(cmd).await,
                        None => continue,
                    }
                }
            }
            let _ = model_tx.send(model.clone());
        }
    });
    PadHandle {
        buttons,
        model: model_rx,
    }
}
