//! What a stranger on the hall LAN, a crash or a restart could do — each
//! defect the outside review found, tried against the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use futures_util::StreamExt;
use hallq_contract::Topic;
use hallq_contract::payload::Op;
use hallq_pad::Pad;
use hallq_tests::{HALL, Server, Watcher, binary, demo_hall, topic};
use rumqttc::{Event, Packet};
use serde_json::Value;

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// Connects with a client id and says whether the broker let it in.
async fn connects(server: &Server, user: &str, password: &str, client_id: &str) -> bool {
    let mut opts = rumqttc::MqttOptions::new(client_id, "127.0.0.1", server.mqtt.port());
    opts.set_credentials(user, password);
    let (_client, mut ev) = rumqttc::AsyncClient::new(opts, 10);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ev.poll())
            .await
            .expect("an answer within 5 s")
        {
            Ok(Event::Incoming(Packet::ConnAck(_))) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_at_once_on_the_same_ports_after_kill_9_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (http, mqtt) = (server.http, server.mqtt);
    let first = server.take("business");
    // Connected clients leave sockets in TIME_WAIT on the server's side.
    let _led = Watcher::new(&server.device("led-3"), &[topic(Topic::WindowState("3"))]).await;
    let _pad = server.open_pad("3").await;

    let server = server.crash_and_restart();
    assert_eq!((server.http, server.mqtt), (http, mqtt), "same ports");
    let (status, t) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/tickets/{}",
            first["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!((status, t["number"].as_str()), (200, Some("A001")));
    let mut pad = Pad::connect(&server.device("pad-3"), "3").await.unwrap();
    let called = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(called.ticket.unwrap().number, "A001");

    // SIGTERM: the owner finishes its batch, the process exits 0, and a
    // start on the same ports works at once too.
    let (hall, data) = (server.hall.clone(), server.data.clone());
    assert_eq!(server.terminate(), Some(0), "SIGTERM is a clean stop");
    drop(pad);
    let server = Server::start_again(&hall, &data, http, mqtt);
    let led = Watcher::new(&server.device("led-3"), &[topic(Topic::WindowState("3"))]).await;
    let mut led = led;
    let shown = led.expect(&topic(Topic::WindowState("3")), |_| true).await;
    assert_eq!(shown["ticket"]["number"], "A001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devices_password_cannot_knock_the_server_off_its_broker() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for _ in 0..3 {
        server.take("business");
    }
    let (user, pass) = ("pad-5", "demo-pad-5-pass");
    for stolen in [
        format!("hallq-server-{}", server.pid()),
        "hallq-server".to_owned(),
        "hallq-server.x".to_owned(),
        "pad-3".to_owned(),
        "led-3.display".to_owned(),
    ] {
        assert!(
            !connects(&server, user, pass, &stolen).await,
            "{user} was let in as {stolen}"
        );
    }
    assert!(connects(&server, user, pass, "pad-5.mine").await);

    // A stranger with pad-5's password keeps trying ids while pad 3 works.
    let port = server.mqtt.port();
    let pid = server.pid();
    let stranger = tokio::spawn(async move {
        for i in 0.. {
            let id = match i % 3 {
                0 => format!("hallq-server-{pid}"),
                1 => "hallq-server".to_owned(),
                _ => "pad-3".to_owned(),
            };
            let mut opts = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
            opts.set_credentials(user, pass);
            let (_c, mut ev) = rumqttc::AsyncClient::new(opts, 10);
            let _ = tokio::time::timeout(Duration::from_millis(200), ev.poll()).await;
        }
    });
    let mut pad = server.open_pad("3").await;
    let mut answered = 0;
    for _ in 0..3 {
        let r = pad.send(Op::CallNext { service: None }).await.unwrap();
        assert!(r.ok, "{r:?}");
        answered += 1;
        assert!(pad.send(Op::Start).await.unwrap().ok);
        answered += 1;
    }
    stranger.abort();
    assert_eq!(answered, 6, "every command answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_command_is_refused_and_never_applied() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    let seq = server.hall()["seq"].clone();
    let cmd = topic(Topic::PadCmd("3"));
    let out = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &server.mqtt.port().to_string()])
        .args(["-u", "pad-3", "-P", "demo-pad-3-pass", "-I", "pad-3."])
        .args([
            "-q",
            "1",
            "-r",
            "-t",
            &cmd,
            "-m",
            r#"{"id":"r1","op":"open"}"#,
        ])
        .output()
        .expect("mosquitto_pub");
    assert!(out.status.success(), "{out:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.hall()["seq"],
        seq,
        "the retained command was applied"
    );
    // Nothing was kept for later subscribers (the server after a reconnect).
    let mut manager = Watcher::new(&server.device("manager"), std::slice::from_ref(&cmd)).await;
    let kept = manager.drain(Duration::from_millis(500)).await;
    assert!(kept.is_empty(), "the broker kept a command: {kept:?}");
    // A device's own status may still be retained.
    server.open_pad("3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_over_its_limit_is_refused_and_shown_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut pad = server.open_pad("3").await;
    let seq = server.hall()["seq"].clone();
    let r = pad
        .send(Op::Pause {
            reason: "午".repeat(20_000),
        })
        .await
        .unwrap();
    assert!(!r.ok);
    assert_eq!(r.error.as_ref().unwrap().code, "bad_text", "{r:?}");
    let note = pad
        .send(Op::Transfer {
            to_service: Some("social".into()),
            to_window: None,
            note: Some("x".repeat(101)),
        })
        .await
        .unwrap();
    assert!(!note.ok);
    assert_eq!(
        note.error.unwrap().code,
        "bad_text",
        "the note's length, before anything else"
    );
    assert_eq!(
        server.hall()["seq"],
        seq,
        "a refused command changed the hall"
    );
    let state3 = topic(Topic::WindowState("3"));
    let mut led = Watcher::new(&server.device("led-3"), std::slice::from_ref(&state3)).await;
    let shown = led.expect(&state3, |_| true).await;
    assert_eq!(shown["status"], "idle");
    assert!(shown.to_string().len() < 1000);
    // An MQTT message over the broker's limit does not get through at all.
    let huge = format!(
        r#"{{"id":"big","op":"pause","reason":"{}"}}"#,
        "x".repeat(100_000)
    );
    server.mosquitto_pub(
        "pad-3",
        "demo-pad-3-pass",
        &topic(Topic::PadCmd("3")),
        &huge,
    );
    assert_eq!(server.hall()["seq"], seq);
    // HTTP bodies have a limit too.
    let big_body = format!(
        r#"{{"service":"business","pad":"{}"}}"#,
        "x".repeat(100_000)
    );
    let (status, _) = server.http(
        "POST",
        &format!("/api/v1/halls/{HALL}/tickets"),
        Some(&big_body),
    );
    assert_eq!(status, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_stream_carries_no_handle_and_no_id_hash() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let url = format!("ws://{}/api/v1/halls/{HALL}/stream", server.http);
    let (mut public, _) = tokio_tungstenite::connect_async(url.clone()).await.unwrap();
    let mut staff = server.manager_stream("demo-manager-pass").await.unwrap();

    let (status, t) = server.http(
        "POST",
        &format!("/api/v1/halls/{HALL}/tickets"),
        Some(r#"{"service":"social","id_number":"41100219800101123X"}"#),
    );
    assert_eq!(status, 201, "{t}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let half_hour = 30 * 60_000;
    let slot = (now / half_hour + 1) * half_hour;
    let (status, b) = server.http(
        "POST",
        &format!("/api/v1/halls/{HALL}/bookings"),
        Some(&format!(
            r#"{{"service":"social","id_number":"110101199001011234","slot_ms":{slot}}}"#
        )),
    );
    assert_eq!(status, 201, "{b}");
    let mut pad = Pad::connect(&server.device("pad-9"), "9").await.unwrap();
    assert!(
        pad.send(Op::Open {
            clerk: Some("li".into()),
            pin: None
        })
        .await
        .unwrap()
        .ok
    );
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);

    let secrets = [t["id"].as_str().unwrap(), b["id"].as_str().unwrap()];
    let is_hash = |s: &str| s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit());
    for (who, ws) in [("public", &mut public), ("staff", &mut staff)] {
        let mut kinds = Vec::new();
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(Duration::from_millis(700), ws.next()).await
        {
            let text = m.to_text().unwrap().to_owned();
            for s in secrets {
                assert!(!text.contains(s), "{who} stream carries a handle: {text}");
            }
            let v: Value = serde_json::from_str(&text).unwrap();
            let mut strings = Vec::new();
            collect_strings(&v, &mut strings);
            assert!(
                !strings.iter().any(|s| is_hash(s)),
                "{who} stream carries a hash: {text}"
            );
            if v["type"] == "event" {
                kinds.push(v["data"]["type"].as_str().unwrap().to_owned());
                if v["data"]["type"] == "window_opened" {
                    assert_eq!(v["data"]["clerk"], "li");
                }
            }
        }
        // The public stream is thinned in a busy spell (the newest event
        // stands for those before it); a manager's has every one.
        let want: &[&str] = if who == "staff" {
            &["ticket_issued", "booking_made", "ticket_called"]
        } else {
            &["ticket_called"]
        };
        for k in want {
            assert!(
                kinds.iter().any(|x| x == k),
                "{who} stream lacks {k}: {kinds:?}"
            );
        }
    }
    // A wrong manager password is refused, not served the public form.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        url.as_str(),
    )
    .unwrap();
    req.headers_mut().insert(
        "authorization",
        "Basic bWFuYWdlcjp3cm9uZw==".parse().unwrap(),
    );
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hall_file_that_drops_a_service_still_serves_its_old_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_hall(&data_file("two-services.toml"), dir.path(), &[]);
    let old = server.take("property");
    let kept = server.take("business");
    let data = server.data.clone();
    server.kill9();

    let server = Server::start_hall(&data_file("one-service.toml"), &data, &[]);
    let hall = server.hall();
    assert_eq!(hall["services"].as_array().unwrap().len(), 1);
    let (status, t) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/tickets/{}",
            old["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["number"], "B001");
    assert_eq!(t["service"], "property");
    let (status, t) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/tickets/{}",
            kept["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!((status, t["number"].as_str()), (200, Some("A001")));
    assert_eq!(server.take("business")["number"], "A002");
    let (status, _) = server.http("GET", "/metrics", None);
    assert_eq!(status, 200);
}

#[test]
fn the_demo_passwords_are_refused_for_a_real_hall() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary("hallq"))
        .args(["serve", "--hall"])
        .arg(demo_hall())
        .arg("--data")
        .arg(dir.path())
        .args(["--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("demo hall") && said.contains("pad-3"),
        "{said}"
    );
    assert!(out.stdout.is_empty(), "it must not say ready");
}

#[test]
fn a_damaged_id_key_stops_the_start_and_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id.key");
    std::fs::write(&key, b"short").unwrap();
    let err = Server::try_start(&demo_hall(), dir.path(), &[]).unwrap_err();
    assert!(err.contains("id.key"), "{err}");
    assert_eq!(
        std::fs::read(&key).unwrap(),
        b"short",
        "the key was replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_failed_logins_lock_the_address_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert!(connects(&server, "pad-3", "demo-pad-3-pass", "pad-3.a").await);
    for _ in 0..10 {
        assert!(!connects(&server, "pad-3", "guess", "pad-3.b").await);
    }
    assert!(
        !connects(&server, "pad-3", "demo-pad-3-pass", "pad-3.c").await,
        "the right password is refused too while the address is locked out"
    );
    // The manager's HTTP login shares the lock.
    let (status, _, _) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{HALL}/report"),
        None,
        &[(
            "Authorization",
            "Basic bWFuYWdlcjpkZW1vLW1hbmFnZXItcGFzcw==",
        )],
    );
    assert_eq!(status, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_that_retries_with_its_idempotency_key_gets_one_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = format!("/api/v1/halls/{HALL}/tickets");
    let body = r#"{"service":"business"}"#;
    let key = ("Idempotency-Key", "kiosk-1-4f1c2a9e-0001");
    let (status, head, first) = server.http_with("POST", &path, Some(body), &[key]);
    assert_eq!(status, 201, "{first}");
    assert!(!head.to_ascii_lowercase().contains("idempotent-replayed"));
    let (status, head, again) = server.http_with("POST", &path, Some(body), &[key]);
    assert_eq!(status, 201);
    assert!(
        head.to_ascii_lowercase()
            .contains("idempotent-replayed: true"),
        "{head}"
    );
    assert_eq!(
        (&again["id"], &again["number"]),
        (&first["id"], &first["number"])
    );
    // Also after a crash: the key is in the log with the ticket.
    let server = server.crash_and_restart();
    let (status, _, after) = server.http_with("POST", &path, Some(body), &[key]);
    assert_eq!((status, &after["id"]), (201, &first["id"]));
    // The same key for another request is a mistake, not a replay.
    let (status, _, wrong) =
        server.http_with("POST", &path, Some(r#"{"service":"social"}"#), &[key]);
    assert_eq!(
        (status, wrong["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // One ticket was issued in all: the next one is A002.
    assert_eq!(server.take("business")["number"], "A002");
    let (status, _, bad) = server.http_with("POST", &path, Some(body), &[("Idempotency-Key", "")]);
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("bad_idempotency_key"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pad_that_lost_its_reply_sends_again_and_the_call_happens_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    server.take("business");
    let mut pad = server.open_pad("3").await;
    // A pad publishes and drops off before the reply (mosquitto_pub
    // disconnects right after its PUBACK, never reading the reply).
    let cmd = r#"{"id":"pad-3-lost-1","op":"call_next"}"#;
    let out = server.mosquitto_pub("pad-3", "demo-pad-3-pass", &topic(Topic::PadCmd("3")), cmd);
    assert!(out.status.success());
    let again = hallq_contract::PadCommand::parse(cmd.as_bytes()).unwrap();
    let reply = pad.send_command(&again).await.unwrap();
    assert!(reply.ok, "{reply:?}");
    assert_eq!(reply.ticket.unwrap().number, "A001");
    let reply = pad.send_command(&again).await.unwrap();
    assert_eq!(
        reply.ticket.unwrap().number,
        "A001",
        "still the first reply"
    );
    assert!(pad.send(Op::Start).await.unwrap().ok);
    assert!(pad.send(Op::Finish).await.unwrap().ok);
    let next = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(next.ticket.unwrap().number, "A002", "A001 was called once");
}

/// A data folder on its own small tmpfs, so the test can fill it or make it
/// read-only. Needs root (CI and the developers' machines are); says so
/// and returns None elsewhere.
fn small_disk(dir: &Path) -> Option<PathBuf> {
    let mnt = dir.join("disk");
    std::fs::create_dir_all(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?): the full-disk test did not run");
        return None;
    }
    Some(mnt)
}

struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_never_acknowledged_and_is_said_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = small_disk(dir.path()) else {
        return;
    };
    let _unmount = Unmount(disk.clone());
    let data = disk.join("data");
    let server = Server::start(&data);
    let acked = server.take("business");
    let mut pad = server.open_pad("3").await;

    // Fill the disk to the last byte.
    let filler = disk.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", filler.display()))
        .output();
    let mut refused = 0;
    for _ in 0..20 {
        let (status, body) = server.http(
            "POST",
            &format!("/api/v1/halls/{HALL}/tickets"),
            Some(r#"{"service":"business"}"#),
        );
        if status == 201 {
            // SQLite may still have had a free page; keep going until full.
            continue;
        }
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (503, Some("storage_failed")),
            "{body}"
        );
        refused += 1;
        break;
    }
    assert_eq!(refused, 1, "the full disk never refused a ticket");
    let reply = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert!(
        !reply.ok,
        "a call on a full disk was acknowledged: {reply:?}"
    );
    assert_eq!(reply.error.unwrap().code, "storage_failed");
    let (status, health) = server.http("GET", "/healthz", None);
    assert_eq!(status, 503);
    assert!(
        health["storage"]
            .as_str()
            .unwrap()
            .contains("refuses writes"),
        "{health}"
    );
    // Reads still work, and show only what is stored.
    let hall = server.hall();
    let w3 = hallq_tests::window_of(&hall, "3");
    assert_eq!(w3["status"], "idle", "the unstored call is not shown");

    // Space comes back: the hall goes on without a restart.
    std::fs::remove_file(&filler).unwrap();
    let reply = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert!(reply.ok, "{reply:?}");
    assert_eq!(reply.ticket.unwrap().number, "A001");
    assert_eq!(server.http("GET", "/healthz", None).0, 200);

    // After a crash, exactly what was acknowledged is there.
    let server = server.crash_and_restart();
    let (status, t) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/tickets/{}",
            acked["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(
        (status, t["status"].as_str(), t["window"].as_str()),
        (200, Some("called"), Some("3"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_routes_are_rate_limited_per_address_but_a_kiosk_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            "--public-writes-per-minute",
            "4",
            "--public-reads-per-minute",
            "6",
        ],
    );
    let path = format!("/api/v1/halls/{HALL}/tickets");
    let body = Some(r#"{"service":"business"}"#);
    // A burst of half the minute's quota, then 429 with Retry-After.
    let mut first = None;
    for _ in 0..2 {
        let (status, t) = server.http("POST", &path, body);
        assert_eq!(status, 201, "{t}");
        first.get_or_insert(t);
    }
    let (status, head, e) = server.http_with("POST", &path, body, &[]);
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{e}"
    );
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    // Bookings and ratings share the write limit.
    let (status, _) = server.http(
        "POST",
        &format!("/api/v1/halls/{HALL}/bookings"),
        Some(r#"{"service":"social","id_number":"110101199001011234","slot_ms":0}"#),
    );
    assert_eq!(status, 429);
    // The kiosk with its login is not held to it.
    for _ in 0..10 {
        server.take("business");
    }
    // A wrong kiosk password is refused, not treated as public.
    let (status, _, e) = server.http_with(
        "POST",
        &path,
        body,
        &[("Authorization", "Basic a2lvc2stMTp3cm9uZw==")],
    );
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    // Look-ups have their own, larger limit.
    let ticket = format!("{path}/{}", first.unwrap()["id"].as_str().unwrap());
    let statuses: Vec<u16> = (0..5)
        .map(|_| server.http("GET", &ticket, None).0)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    // The hall screen's reads are not limited.
    for _ in 0..20 {
        server.hall();
    }
}
