//! No stranger can make the hall call a number: wrong credentials, another
//! window's topic, a forged state or will — each changes nothing.

use std::time::Duration;

use hallq_contract::Topic;
use hallq_pad::Pad;
use hallq_tests::{Server, Watcher, topic};
use rumqttc::{Event, Packet, QoS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    let seq = server.hall()["seq"].clone();
    let cmd = topic(Topic::PadCmd("3"));
    for (user, pass) in [
        ("pad-3", "wrong-password"),
        ("nobody", "demo-pad-3-pass"),
        ("pad-3", ""),
    ] {
        let out = server.mosquitto_pub(user, pass, &cmd, r#"{"id":"x1","op":"open"}"#);
        assert!(!out.status.success(), "{user}/{pass} was let in");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("refused"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(server.hall()["seq"], seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pad_cannot_command_another_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    let seq = server.hall()["seq"].clone();
    // pad-3's valid credentials, window 5's topic.
    let out = server.mosquitto_pub(
        "pad-3",
        "demo-pad-3-pass",
        &topic(Topic::PadCmd("5")),
        r#"{"id":"evil","op":"open"}"#,
    );
    assert!(
        out.status.success(),
        "MQTT 3.1.1 acknowledges and silently drops a refused publish"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hall = server.hall();
    assert_eq!(hall["seq"], seq, "the hall changed");
    let w5 = hallq_tests::window_of(&hall, "5");
    assert_eq!(w5["status"], "closed");
    // And pad-3 can still do its own work.
    server.open_pad("3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_but_the_server_publishes_state_or_calls() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let state3 = topic(Topic::WindowState("3"));
    let calls = topic(Topic::Calls);
    let mut wall = Watcher::new(
        &server.device("led-wall"),
        &[
            hallq_contract::topic::filter::window_states("xuchang"),
            calls.clone(),
        ],
    )
    .await;
    wall.drain(Duration::from_millis(300)).await;
    let forged = r#"{"window":"3","name":"3号窗口","status":"calling","ticket":{"number":"X999"},"waiting":0,"seq":999999}"#;
    for (user, pass) in [
        ("led-3", "demo-led-3-pass"),
        ("pad-3", "demo-pad-3-pass"),
        ("manager", "demo-manager-pass"),
    ] {
        server.mosquitto_pub(user, pass, &state3, forged);
        server.mosquitto_pub(
            user,
            pass,
            &calls,
            r#"{"seq":1,"ticket":"X999","window":"3","window_name":"3号窗口","service_name":"x","recall":false,"at_ms":0}"#,
        );
    }
    let seen = wall.drain(Duration::from_millis(500)).await;
    assert!(
        seen.is_empty(),
        "forged messages reached a display: {seen:?}"
    );
    // A display connecting now still gets the server's retained state, not a forgery.
    let mut led = Watcher::new(&server.device("led-3"), std::slice::from_ref(&state3)).await;
    let shown = led.expect(&state3, |_| true).await;
    assert_eq!(shown["status"], "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_will_on_a_foreign_topic_is_refused_at_login() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let login = server.device("pad-3");
    let mut opts = rumqttc::MqttOptions::new("pad-3.forger", "127.0.0.1", server.mqtt.port());
    opts.set_credentials(&login.user, &login.password);
    let forged = r#"{"window":"3","name":"3号窗口","status":"calling","ticket":{"number":"X999"},"waiting":0,"seq":999999}"#;
    opts.set_last_will(rumqttc::LastWill::new(
        topic(Topic::WindowState("3")),
        forged,
        QoS::AtLeastOnce,
        true,
    ));
    let (_client, mut ev) = rumqttc::AsyncClient::new(opts, 10);
    match tokio::time::timeout(Duration::from_secs(5), ev.poll())
        .await
        .unwrap()
    {
        Err(rumqttc::ConnectionError::ConnectionRefused(_)) => {}
        Ok(Event::Incoming(Packet::ConnAck(a))) => panic!("forged will accepted: {a:?}"),
        other => panic!("unexpected {other:?}"),
    }
    // Its own status as a will is fine.
    let mut pad = Pad::connect(&login, "3").await;
    assert!(pad.as_mut().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pad_cannot_read_another_windows_replies() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let login = server.device("pad-3");
    let (client, mut ev) = login.connect("pad-3.snoop", None);
    let mut refused = None;
    for _ in 0..10 {
        match tokio::time::timeout(Duration::from_secs(5), ev.poll())
            .await
            .unwrap()
            .unwrap()
        {
            Event::Incoming(Packet::ConnAck(_)) => client
                .subscribe(topic(Topic::PadReply("5")), QoS::AtLeastOnce)
                .await
                .unwrap(),
            Event::Incoming(Packet::SubAck(a)) => {
                refused = Some(
                    a.return_codes
                        .iter()
                        .all(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure)),
                );
                break;
            }
            _ => {}
        }
    }
    assert_eq!(refused, Some(true));
}
