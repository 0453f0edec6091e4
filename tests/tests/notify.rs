//! The notification webhook against a local receiver: near, called and
//! transferred notices, signed; retried while the gateway is down; none
//! lost and none sent twice across a `kill -9` and restart.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hallq_contract::payload::Op;
use hallq_tests::{Server, demo_hall, send_all};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct Gateway {
    up: bool,
    /// Key → the bodies accepted (2xx) for it.
    accepted: BTreeMap<String, Vec<serde_json::Value>>,
    refused: usize,
    bad_signatures: usize,
}

const SECRET: &str = "gateway-secret";

/// A gateway on port 0: answers 200 while up, 503 while down; checks the
/// signature of everything.
async fn gateway() -> (u16, Arc<Mutex<Gateway>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = Arc::new(Mutex::new(Gateway::default()));
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let st = st.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let header = |name: &str| {
                        head.lines().find_map(|l| {
                            l.split_once(": ")
                                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                                .map(|(_, v)| v.to_owned())
                        })
                    };
                    let len: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if body.len() < len {
                        continue;
                    }
                    let ts: i64 = header("x-hallq-timestamp")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let good = header("x-hallq-signature")
                        == Some(hallq_server::notify::sign(SECRET, ts, body));
                    let key = header("x-hallq-key").unwrap_or_default();
                    let up = {
                        let mut g = st.lock().unwrap();
                        if !good {
                            g.bad_signatures += 1;
                        }
                        if g.up {
                            g.accepted
                                .entry(key)
                                .or_default()
                                .push(serde_json::from_str(body).unwrap());
                        } else {
                            g.refused += 1;
                        }
                        g.up
                    };
                    let status = if up {
                        "200 OK"
                    } else {
                        "503 Service Unavailable"
                    };
                    let _ = s
                        .write_all(
                            format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                        )
                        .await;
                    buf.clear();
                }
            });
        }
    });
    (port, state)
}

fn hall_with_gateway(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(demo_hall()).unwrap();
    text.push_str(&format!(
        "\n[notify]\nurl = \"http://127.0.0.1:{port}/hallq\"\nsecret = \"{SECRET}\"\nplaces_before = 1\n"
    ));
    let path = dir.join("hall.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn until(state: &Arc<Mutex<Gateway>>, what: &str, ok: impl Fn(&Gateway) -> bool) {
    for _ in 0..300 {
        if ok(&state.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let g = state.lock().unwrap();
    panic!(
        "the gateway never saw {what}: {:?}",
        g.accepted.keys().collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_are_signed_retried_and_neither_lost_nor_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let (port, gw) = gateway().await;
    gw.lock().unwrap().up = true;
    let hall = hall_with_gateway(dir.path(), port);
    let data = dir.path().join("data");
    let server = Server::start_hall(&hall, &data, &[]);
    let a1 = server.take("business")["id"].as_str().unwrap().to_owned();
    let a2 = server.take("business")["id"].as_str().unwrap().to_owned();
    let a3 = server.take("business")["id"].as_str().unwrap().to_owned();
    // Near: A001 (0 ahead) and A002 (1 ahead); A003 has 2 ahead.
    until(&gw, "two near notices", |g| {
        g.accepted.contains_key(&format!("near:{a1}"))
            && g.accepted.contains_key(&format!("near:{a2}"))
    })
    .await;
    assert!(
        !gw.lock()
            .unwrap()
            .accepted
            .contains_key(&format!("near:{a3}"))
    );
    let near = gw.lock().unwrap().accepted[&format!("near:{a2}")][0].clone();
    assert_eq!(
        (
            near["kind"].as_str(),
            near["number"].as_str(),
            near["ahead"].as_u64()
        ),
        (Some("near"), Some("A002"), Some(1))
    );

    // The gateway goes down; A001 is called (A003 comes near): refused,
    // kept, retried.
    gw.lock().unwrap().up = false;
    let mut pad = server.open_pad("3").await;
    send_all(&mut pad, [Op::CallNext { service: None }]).await;
    until(&gw, "a refusal", |g| g.refused > 0).await;
    // The server is killed while they wait; it starts again.
    drop(pad);
    let server = server.crash_and_restart();
    gw.lock().unwrap().up = true;
    until(&gw, "the call and A003 near", |g| {
        g.accepted
            .keys()
            .any(|k| k.starts_with(&format!("called:{a1}:")))
            && g.accepted.contains_key(&format!("near:{a3}"))
    })
    .await;
    let called = {
        let g = gw.lock().unwrap();
        g.accepted
            .iter()
            .find(|(k, _)| k.starts_with("called:"))
            .unwrap()
            .1[0]
            .clone()
    };
    assert_eq!(
        (called["number"].as_str(), called["window_name"].as_str()),
        (Some("A001"), Some("3号窗口"))
    );

    // A transfer is told too.
    let mut pad = hallq_pad::Pad::connect(&server.device("pad-3"), "3")
        .await
        .unwrap();
    send_all(
        &mut pad,
        [
            Op::Start,
            Op::Transfer {
                to_service: Some("property".into()),
                to_window: None,
                note: Some("转不动产".into()),
            },
        ],
    )
    .await;
    until(&gw, "the transfer", |g| {
        g.accepted
            .keys()
            .any(|k| k.starts_with(&format!("transferred:{a1}:")))
    })
    .await;

    // A case accepted from A002 and made ready by the approval system: the
    // citizen is told where to pick the result up.
    send_all(
        &mut pad,
        [
            Op::CallNext {
                service: Some("business".into()),
            },
            Op::Start,
        ],
    )
    .await;
    let code = pad.send(Op::Accept).await.unwrap().case.expect("a case");
    for (key, action) in [("k1", "review"), ("k2", "approve"), ("k3", "ready")] {
        let (status, _, v) = server.http_with(
            "POST",
            &format!(
                "/api/v1/halls/{}/integration/cases/{code}",
                hallq_tests::HALL
            ),
            Some(&format!(r#"{{"action":"{action}"}}"#)),
            &[
                (
                    "Authorization",
                    "Basic YXBwcm92YWw6ZGVtby1hcHByb3ZhbC1wYXNz",
                ),
                ("Idempotency-Key", key),
            ],
        );
        assert_eq!(status, 200, "{action}: {v}");
    }
    until(&gw, "the case ready", |g| {
        g.accepted
            .keys()
            .any(|k| k.starts_with(&format!("case:{code}:")))
    })
    .await;
    let ready = {
        let g = gw.lock().unwrap();
        g.accepted
            .iter()
            .find(|(k, _)| k.starts_with("case:"))
            .unwrap()
            .1[0]
            .clone()
    };
    assert_eq!(
        (
            ready["kind"].as_str(),
            ready["state"].as_str(),
            ready["case"].as_str()
        ),
        (Some("case"), Some("ready"), Some(code.as_str()))
    );
    assert!(
        ready["message"].as_str().unwrap().contains("11号窗口"),
        "{ready}"
    );
    assert_eq!(
        ready["ticket"].as_str(),
        Some(a2.as_str()),
        "the phone page's handle"
    );

    // Once more time to repeat anything it would repeat.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let g = gw.lock().unwrap();
    assert_eq!(g.bad_signatures, 0);
    for (key, bodies) in &g.accepted {
        assert_eq!(bodies.len(), 1, "{key} accepted {} times", bodies.len());
    }
    drop(server);
}
