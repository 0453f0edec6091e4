//! The server behind an external Mosquitto instead of its embedded broker:
//! the same contract, the same flow.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hallq_contract::Topic;
use hallq_contract::payload::Op;
use hallq_pad::Pad;
use hallq_tests::{Server, Watcher, binary, demo_hall, topic};
use rumqttc::QoS;

struct Mosquitto(Child);

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Mosquitto configured with the files `hallq mosquitto` writes.
fn mosquitto(dir: &Path) -> (Mosquitto, u16) {
    let out = Command::new(binary("hallq"))
        .args(["mosquitto", "--hall"])
        .arg(demo_hall())
        .arg("--out")
        .arg(dir)
        .args(["--server-password", "server-secret-1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = dir.join("passwd");
    assert!(
        !std::fs::read_to_string(&passwd)
            .unwrap()
            .contains("demo-pad-3-pass"),
        "passwords were not hashed"
    );
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    // `user root`: Mosquitto started as root would drop to its own user and
    // then could not read the password file in our private temp folder.
    std::fs::write(
        &conf,
        format!("user root\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\nset_tcp_nodelay true\npersistence false\n", passwd.display(), dir.join("acl").display()),
    )
    .unwrap();
    (run_mosquitto(&conf, port), port)
}

/// Starts Mosquitto with a config and waits until it listens on `port`.
fn run_mosquitto(conf: &Path, port: u16) -> Mosquitto {
    let exe = if Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    };
    let child = Command::new(exe)
        .arg("-c")
        .arg(conf)
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto (apt-get install mosquitto)");
    let broker = Mosquitto(child);
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return broker;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("mosquitto did not start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_against_an_external_mosquitto() {
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = mosquitto(dir.path());
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
    let (_broker, port) = mosquitto(dir.path());
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
    let (broker, port) = mosquitto(dir.path());
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
