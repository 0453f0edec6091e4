//! The peer baseline: the smallest program that does a queue server's job
//! on the wire — one thread that takes a pad's command, appends one line to
//! a file and fsyncs it, then publishes the window's new retained state.
//! No rules, no database, no checks: what a one-file script does. It sits
//! behind its own instance of the same broker hallq embeds, with the same
//! permissions, and is measured with the same clients as hallq.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hallq_client::Login;
use hallq_contract::{Role, Topic};
use hallq_server::broker::{self, Account, Accounts};
use rumqttc::{Event, Packet, QoS};

/// The relay's broker: the embedded broker on its own port, with a pad,
/// a display and the relay (server role) for window 3 of `hall`.
pub async fn broker(hall: &str) -> anyhow::Result<SocketAddr> {
    let account = |password: &str, role, window: Option<&str>| Account {
        hall: hall.into(),
        password: password.into(),
        role,
        window: window.map(Into::into),
    };
    let by_user = HashMap::from([
        (
            "relay".to_owned(),
            account("relay-pass", Role::Server, None),
        ),
        (
            "pad-3".to_owned(),
            account("pad-pass", Role::Pad, Some("3")),
        ),
        (
            "led-3".to_owned(),
            account("led-pass", Role::Display, Some("3")),
        ),
    ]);
    let broker = broker::Broker::new(Arc::default()).await;
    // No inbox: the relay is a client like any other.
    let bound = broker.listen(
        broker::Listen {
            plain: Some("127.0.0.1:0".parse()?),
            tls: None,
        },
        broker::Served {
            accounts: Accounts { by_user },
            inboxes: Default::default(),
        },
    )?;
    Ok(bound.plain.expect("plain listener"))
}

/// Runs the relay on a thread of its own until the process ends. Returns
/// once it is subscribed.
pub fn spawn(login: Login, log: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let (ready_tx, ready) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("relay".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let (client, mut ev) = login.connect(&login.client_id("relay"), None);
                let cmds = hallq_contract::topic::filter::pad_cmds(&login.hall);
                let mut seq = 0u64;
                loop {
                    match ev.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            client
                                .try_subscribe(&cmds, QoS::AtLeastOnce)
                                .expect("subscribe");
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            let _ = ready_tx.send(());
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let Some((_, Topic::PadCmd(window))) = Topic::parse(&p.topic) else {
                                continue;
                            };
                            seq += 1;
                            // One line per event, fsynced before anything is said;
                            // the state as hallq sends it (retained, QoS 0).
                            file.write_all(&p.payload).expect("log");
                            file.write_all(b"\n").expect("log");
                            file.sync_data().expect("fsync");
                            let state = format!(
                                r#"{{"seq":{seq},"window":"{window}","name":"{window}号窗口","status":"calling","ticket":"A{:03}","clerk":null,"paused":null}}"#,
                                seq % 1000
                            );
                            let topic = Topic::WindowState(window).to_string(&login.hall);
                            client
                                .try_publish(topic, QoS::AtMostOnce, true, state)
                                .expect("publish");
                        }
                        Ok(_) => {}
                        // The process is ending.
                        Err(_) => return,
                    }
                }
            })
        })?;
    ready
        .recv_timeout(std::time::Duration::from_secs(10))
        .map_err(|_| anyhow::anyhow!("the relay did not subscribe"))?;
    Ok(())
}

/// The issue's own peer: the one-file Python relay (`bench/relay.py`,
/// paho-mqtt), behind `login`'s broker. None, and why, when Debian's
/// `python3-paho-mqtt` is not installed.
pub fn spawn_python(login: &Login, log: &Path) -> Result<std::process::Child, String> {
    use std::io::BufRead;
    // Debian's interpreter, where Debian's package is (a pyenv shim on
    // the PATH may be another Python).
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("relay.py");
    let mut child = std::process::Command::new(python)
        .arg(&script)
        .args([
            login.host.as_str(),
            &login.port.to_string(),
            login.hall.as_str(),
            login.user.as_str(),
            login.password.as_str(),
        ])
        .arg(log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{python}: {e}"))?;
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(std::time::Duration::from_secs(10)) {
        Ok(line) if line.trim() == "ready" => Ok(child),
        _ => {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            Err(err
                .lines()
                .last()
                .unwrap_or("the Python relay did not start")
                .to_owned())
        }
    }
}
