//! A ticket's way through the real system: HTTP → pad over MQTT → display
//! state and call → kill -9 → restart → everything is still there.

use hallq_contract::Topic;
use hallq_contract::payload::Op;
use hallq_pad::Pad;
use hallq_tests::{HALL, Server, Watcher, topic};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_is_called_shown_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let first = server.take("business");
    assert_eq!(first["number"], "A001");
    assert_eq!(first["status"], "waiting");
    assert_eq!(first["ahead"], 0);
    assert!(first["estimated_wait_s"].as_u64().unwrap() > 0);
    assert_eq!(first["materials"].as_array().unwrap().len(), 5);
    let second = server.take("business");
    assert_eq!(
        (second["number"].as_str(), second["ahead"].as_u64()),
        (Some("A002"), Some(1))
    );

    let state3 = topic(Topic::WindowState("3"));
    let calls = topic(Topic::Calls);
    let mut voice = Watcher::new(&server.device("voice-1"), std::slice::from_ref(&calls)).await;
    let mut pad = Pad::connect(&server.device("pad-3"), "3").await.unwrap();
    let open = pad
        .send(Op::Open {
            clerk: Some("zhang".into()),
            pin: None,
        })
        .await
        .unwrap();
    assert!(open.ok, "{open:?}");
    let reply = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert!(reply.ok, "{reply:?}");
    let ticket = reply.ticket.unwrap();
    assert_eq!(ticket.number, "A001");
    assert_eq!(ticket.materials.len(), 5, "the pad sees the materials list");

    let call = voice.expect(&calls, |_| true).await;
    assert_eq!(
        (call["ticket"].as_str(), call["window"].as_str()),
        (Some("A001"), Some("3"))
    );
    assert_eq!(call["window_name"], "3号窗口");
    assert_eq!(call["service_name"], "商事登记");
    assert_eq!(call["recall"], false);

    // A display that connects now learns everything from the retained state.
    let mut led = Watcher::new(&server.device("led-3"), std::slice::from_ref(&state3)).await;
    let shown = led.expect(&state3, |_| true).await;
    assert_eq!(shown["status"], "calling");
    assert_eq!(shown["ticket"]["number"], "A001");
    assert_eq!(shown["waiting"], 1);
    let seq_before = shown["seq"].as_u64().unwrap();

    let (_, t) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/tickets/{}",
            second["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(t["ahead"], 0, "A001 left the queue, so A002 is first");

    let data = server.data.clone();
    drop(pad);
    server.kill9();

    let server = Server::start(&data);
    let (status, t) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/tickets/{}",
            first["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(
        (t["status"].as_str(), t["window"].as_str()),
        (Some("called"), Some("3"))
    );
    let mut led = Watcher::new(&server.device("led-3"), std::slice::from_ref(&state3)).await;
    let shown = led.expect(&state3, |_| true).await;
    assert_eq!(
        (shown["status"].as_str(), shown["ticket"]["number"].as_str()),
        (Some("calling"), Some("A001"))
    );
    assert_eq!(shown["clerk"], "zhang");
    assert_eq!(
        shown["seq"].as_u64().unwrap(),
        seq_before,
        "no change of the hall, same seq"
    );
    assert_eq!(
        server.take("business")["number"],
        "A003",
        "numbering goes on after a crash"
    );

    // And the counter goes on where it stopped.
    let mut pad = Pad::connect(&server.device("pad-3"), "3").await.unwrap();
    assert!(pad.send(Op::Start).await.unwrap().ok);
    assert!(pad.send(Op::Finish).await.unwrap().ok);
    let next = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(next.ticket.unwrap().number, "A002");
    let done = server
        .http(
            "GET",
            &format!(
                "/api/v1/halls/{HALL}/tickets/{}",
                first["id"].as_str().unwrap()
            ),
            None,
        )
        .1;
    assert_eq!(done["status"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_command_id_gets_the_first_reply_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("social");
    server.take("social");
    let mut pad = server.open_pad("9").await;
    let cmd = hallq_contract::PadCommand {
        id: "pad9-000001".into(),
        op: Op::CallNext { service: None },
    };
    let first = pad.send_command(&cmd).await.unwrap();
    let seq = server.hall()["seq"].as_u64().unwrap();
    let again = pad.send_command(&cmd).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(first.ticket.unwrap().number, "D001");
    assert_eq!(
        server.hall()["seq"].as_u64().unwrap(),
        seq,
        "the repeat changed the hall"
    );

    // Also across a crash: the reply is in the log.
    let data = server.data.clone();
    drop(pad);
    server.kill9();
    let server = Server::start(&data);
    let mut pad = Pad::connect(&server.device("pad-9"), "9").await.unwrap();
    let after = pad.send_command(&cmd).await.unwrap();
    assert_eq!(after, again);
    let services = &server.hall()["services"];
    let social = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "social")
        .unwrap();
    assert_eq!(social["waiting"], 1, "D002 still waits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sends_a_snapshot_then_changes() {
    use futures_util::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let url = format!("ws://{}/api/v1/halls/{HALL}/stream", server.http);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut next = async || -> Value {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        serde_json::from_str(msg.to_text().unwrap()).unwrap()
    };
    let snap = next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["data"]["windows"].as_array().unwrap().len(), 12);
    let ticket = server.take("issue");
    loop {
        let m = next().await;
        if m["type"] == "event" && m["data"]["type"] == "ticket_issued" {
            assert_eq!(m["data"]["number"], "F001");
            assert_eq!(m["data"]["service"], "issue");
            assert!(
                !m.to_string().contains(ticket["id"].as_str().unwrap()),
                "the public stream must not carry the ticket's handle: {m}"
            );
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_display_program_logs_in_and_draws_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    let mut pad = server.open_pad("3").await;
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);
    let png = dir.path().join("led-3.png");
    let mut display = std::process::Command::new(hallq_tests::binary("hallq-display"))
        .args(["--port", &server.mqtt.port().to_string()])
        .args(["--password", "demo-led-3-pass", "--window", "3", "--quiet"])
        .arg("--png")
        .arg(&png)
        .spawn()
        .unwrap();
    let mut online = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        online = server.hall()["devices"]["led-3"]["online"] == true;
        if online && png.exists() {
            break;
        }
    }
    let _ = display.kill();
    let _ = display.wait();
    assert!(
        online,
        "the display did not come online: {}",
        server.hall()["devices"]
    );
    let bytes = std::fs::read(&png).expect("the display drew its window");
    assert!(bytes.starts_with(b"\x89PNG"));
    // Killed, it could not say goodbye: its will (offline) reaches the
    // server through the broker, and the dashboard's table has it.
    let mut offline = false;
    for _ in 0..50 {
        offline = server.hall()["devices"]["led-3"]["online"] == false;
        if offline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        offline,
        "the display's will did not reach the server: {}",
        server.hall()["devices"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_shows_offline_when_the_server_goes_and_the_ticket_when_it_is_back() {
    use hallq_display::{Frame, Shown, WindowModel};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    let mut pad = server.open_pad("3").await;
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);
    drop(pad);
    let (tx, mut shown) = tokio::sync::mpsc::unbounded_channel();
    let login = server.device("led-3");
    let presence = hallq_client::Presence {
        role: "display",
        window: Some("3".into()),
    };
    tokio::spawn(async move {
        let r = hallq_display::follow::<_, hallq_render::BinaryColor>(
            login,
            presence,
            WindowModel::new("3"),
            (128, 32),
            Duration::from_secs(2),
            move |fb, frame, s, m: &WindowModel| {
                if frame == Frame::Moved {
                    return;
                }
                let what = match s {
                    Shown::Live => m
                        .state()
                        .and_then(|st| st.ticket.as_ref())
                        .map(|t| t.number.clone())
                        .unwrap_or_default(),
                    Shown::Offline => "offline".to_owned(),
                };
                let _ = tx.send((what, fb.clone()));
            },
        )
        .await;
        eprintln!("the display stopped: {r:?}");
    });
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(6), shown.recv())
            .await
            .expect("the display shows something within 6 s")
            .unwrap()
    };
    let (first, calling) = next().await;
    assert_eq!(first, "A001");

    let (hall, data, http, mqtt) = (
        server.hall.clone(),
        server.data.clone(),
        server.http,
        server.mqtt,
    );
    server.kill9();
    let gone = Instant::now();
    let (what, picture) = next().await;
    assert_eq!(what, "offline", "no old ticket once the server is gone");
    let took = gone.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let mut offline = hallq_render::Framebuffer::new(128, 32);
    let sign = hallq_render::Sign::Offline {
        window_name: "3号窗口",
    };
    hallq_render::draw_sign(&mut offline, sign, 0).unwrap();
    assert_eq!(picture, offline, "the 离线 picture");
    assert_ne!(picture, calling);

    let _server = Server::start_again(&hall, &data, http, mqtt);
    let (back, _) = next().await;
    assert_eq!(
        back, "A001",
        "the ticket again, without a restart of the display"
    );
}

/// What a display may rely on (docs/contract.md): a change of what the
/// sign shows comes with the commit, counts and all; a change of the counts alone
/// (tickets taken at the kiosk) comes within half a second, once for the
/// burst, not once per ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_change_comes_at_once_and_count_changes_together() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let state3 = topic(Topic::WindowState("3"));
    let mut pad = server.open_pad("3").await;
    let mut led = Watcher::new(&server.device("led-3"), std::slice::from_ref(&state3)).await;
    led.drain(std::time::Duration::from_millis(800)).await;

    // Ten tickets for window 3's services, one after another.
    for _ in 0..10 {
        server.take("business");
    }
    let states = led.drain(std::time::Duration::from_millis(1500)).await;
    let waits: Vec<u64> = states
        .iter()
        .filter(|(t, _)| *t == state3)
        .map(|(_, v)| v["waiting"].as_u64().unwrap())
        .collect();
    assert!(
        !waits.is_empty() && waits.len() <= 4,
        "the counts come together, not once per ticket: {waits:?}"
    );
    assert_eq!(waits.last(), Some(&10), "{waits:?}");

    // A call: the sign's new state, with the counts as they are now.
    let reply = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert!(reply.ok);
    let shown = led.expect(&state3, |v| v["status"] == "calling").await;
    assert_eq!(shown["ticket"]["number"], "A001");
    assert_eq!(shown["waiting"], 9);
}
