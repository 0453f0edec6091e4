//! The server behind an external Mosquitto instead of its embedded broker:
//! the same contract, the same flow.

use std::time::Duration;

use hallq_contract::Topic;
use hallq_contract::payload::Op;
use hallq_pad::Pad;
use hallq_tests::mosquitto::{mosquitto, run_mosquitto};
use hallq_tests::{Server, Watcher, demo_hall, topic};
use rumqttc::QoS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_against_an_external_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = mosquitto(dir.path(), &[&demo_hall()]);
    let url = format!("mqtt://hallq-server:server-secret-1@127.0.0.1:{port}");
    let server = Server::start_with(&dir.path().join("data"), &["--broker-url", &url]);
    assert_eq!(server.mqtt.port(), port);
    server.take("business");
    let mut pad = server.open_pad("3").await;
    let reply = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(reply.ticket.unwrap().number, "A001");
    let state3 = topic(Topic::WindowState("3"));
    let mut led = Watcher::new(&server.device("led-3"), std::slice::from_ref(&state3)).await;
    let shown = led.expect(&state3, |_| true).await;
    assert_eq!(
        (shown["status"].as_str(), shown["ticket"]["number"].as_str()),
        (Some("calling"), Some("A001"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_acl_holds_in_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = mosquitto(dir.path(), &[&demo_hall()]);
    let url = format!("mqtt://hallq-server:server-secret-1@127.0.0.1:{port}");
    let server = Server::start_with(&dir.path().join("data"), &["--broker-url", &url]);
    server.take("business");
    let seq = server.hall()["seq"].clone();
    // pad-3 on window 5's topic, and on the state topic.
    let pad3 = server.device("pad-3");
    let (client, mut ev) = pad3.connect("pad-3.acl-probe", None);
    tokio::spawn(async move { while ev.poll().await.is_ok() {} });
    client
        .publish(
            topic(Topic::PadCmd("5")),
            QoS::AtLeastOnce,
            false,
            r#"{"id":"e1","op":"open"}"#,
        )
        .await
        .unwrap();
    client.publish(topic(Topic::WindowState("3")), QoS::AtLeastOnce, true, r#"{"window":"3","name":"x","status":"calling","ticket":{"number":"X9"},"waiting":0,"seq":99999}"#).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(server.hall()["seq"], seq, "window 5 was commanded by pad-3");
    let state3 = topic(Topic::WindowState("3"));
    let mut led = Watcher::new(&server.device("led-3"), std::slice::from_ref(&state3)).await;
    assert_eq!(
        led.expect(&state3, |_| true).await["status"],
        "closed",
        "a forged state reached the display"
    );
    // The pad's own window works.
    let mut pad = Pad::connect(&pad3, "3").await.unwrap();
    assert!(
        pad.send(Op::Open {
            clerk: None,
            pin: None
        })
        .await
        .unwrap()
        .ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_states_come_back_after_the_broker_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, port) = mosquitto(dir.path(), &[&demo_hall()]);
    let url = format!("mqtt://hallq-server:server-secret-1@127.0.0.1:{port}");
    let server = Server::start_with(&dir.path().join("data"), &["--broker-url", &url]);
    let mut pad = Pad::connect(&server.device("pad-3"), "3").await.unwrap();
    assert!(
        pad.send(Op::Open {
            clerk: Some("wu".into()),
            pin: None
        })
        .await
        .unwrap()
        .ok
    );
    drop(pad);
    // The broker restarts without persistence: its retained messages are gone.
    drop(broker);
    let _broker = run_mosquitto(&dir.path().join("mosquitto.conf"), port);
    // The server reconnects and publishes every window state again.
    let state3 = topic(Topic::WindowState("3"));
    let mut shown = serde_json::Value::Null;
    for _ in 0..50 {
        let mut led = Watcher::new(&server.device("led-3"), std::slice::from_ref(&state3)).await;
        if let Some((_, v)) = led
            .drain(Duration::from_millis(200))
            .await
            .into_iter()
            .next()
        {
            shown = v;
            break;
        }
    }
    assert_eq!(
        (shown["status"].as_str(), shown["clerk"].as_str()),
        (Some("idle"), Some("wu"))
    );
}
