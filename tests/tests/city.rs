//! Several halls in one server (issue 13, part 1): one broker, one HTTP
//! listener, one owner and one log per hall; a device logs in to its own
//! hall only; a hall that cannot start leaves the others running; a staff
//! account for one hall sees only that hall.

use std::process::{Command, Stdio};

use base64::Engine;
use hallq_contract::Topic;
use hallq_contract::payload::Op;
use hallq_tests::{HALL, KIOSK, Server, Watcher, binary, demo_hall, other_hall};

const OTHER: &str = "yuzhou";

/// Basic credentials as a header value.
fn basic(user: &str, password: &str) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b}")
}

/// The hall ids of a `{"halls": [{"hall": …}, …]}` answer, in order.
fn hall_ids(list: &serde_json::Value) -> Vec<String> {
    list["halls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hall"].as_str().unwrap().to_owned())
        .collect()
}

/// `hallq staff add` with the password `a-long-password`.
fn add_staff(file: &std::path::Path, id: &str, role: &str, extra: &[&str]) {
    let mut add = Command::new(binary("hallq"))
        .args(["staff", "add", "--file"])
        .arg(file)
        .args(["--id", id, "--name", "督查", "--role", role])
        .args(extra)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
}

fn take(server: &Server, hall: &str, kiosk: &str, service: &str) -> (u16, serde_json::Value) {
    let auth = basic(kiosk, "demo-kiosk-1-pass");
    let (status, _, body) = server.http_with(
        "POST",
        &format!("/api/v1/halls/{hall}/tickets"),
        Some(&format!(r#"{{"service":"{service}"}}"#)),
        &[("Authorization", &auth)],
    );
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_halls_share_a_server_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let other = other_hall(dir.path(), OTHER, "禹州市民之家", "yz-");
    let data = dir.path().join("data");
    let server = Server::start_halls(&[&demo_hall(), &other], &data, &[]);

    let (status, list) = server.http("GET", "/api/v1/halls", None);
    assert_eq!(status, 200, "{list}");
    let ids = hall_ids(&list);
    assert_eq!(ids, [HALL, OTHER]);
    assert_eq!(list["halls"][1]["pages"], "/h/yuzhou");

    // Each hall numbers its own tickets, behind its own kiosk login.
    let (s, a) = take(&server, HALL, "kiosk-1", "business");
    assert_eq!((s, a["number"].as_str()), (201, Some("A001")), "{a}");
    let (s, b) = take(&server, OTHER, "yz-kiosk-1", "business");
    assert_eq!((s, b["number"].as_str()), (201, Some("A001")), "{b}");
    let (s, b2) = take(&server, OTHER, "yz-kiosk-1", "business");
    assert_eq!((s, b2["number"].as_str()), (201, Some("A002")), "{b2}");
    let (s, e) = take(&server, OTHER, "kiosk-1", "business");
    assert_eq!(
        s, 401,
        "the first hall's kiosk takes tickets in the other: {e}"
    );
    let (s, e) = server.http("GET", "/api/v1/halls/nowhere", None);
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("unknown_hall"))
    );

    // A pad of the second hall calls its hall's ticket; the first hall's
    // displays hear nothing of it.
    let first_led = server.login("led-3", "demo-led-3-pass");
    let mut first = Watcher::new(&first_led, &[Topic::WindowState("3").to_string(HALL)]).await;
    first.drain(std::time::Duration::from_millis(300)).await;
    let other_led = server.login("yz-led-3", "demo-led-3-pass");
    let mut second = Watcher::new(&other_led, &[Topic::WindowState("3").to_string(OTHER)]).await;
    let mut login = server.login("yz-pad-3", "demo-pad-3-pass");
    login.hall = OTHER.into();
    let mut pad = hallq_pad::Pad::connect(&login, "3")
        .await
        .expect("pad connects");
    let r = pad
        .send(Op::Open {
            clerk: None,
            pin: None,
        })
        .await
        .unwrap();
    assert!(r.ok, "{r:?}");
    let r = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(r.ticket.unwrap().number, "A001");
    second
        .expect(&Topic::WindowState("3").to_string(OTHER), |v| {
            v["ticket"]["number"] == "A001"
        })
        .await;
    let heard = first.drain(std::time::Duration::from_millis(500)).await;
    assert!(
        heard.iter().all(|(_, v)| v["ticket"].is_null()),
        "the first hall's display saw the other hall's call: {heard:?}"
    );
    assert_eq!(
        server.window("3")["status"],
        "closed",
        "opened in the other hall only"
    );

    // A device of one hall cannot subscribe to, or command, the other.
    let (client, mut ev) = first_led.connect("led-3.spy", None);
    let spy = tokio::spawn(async move {
        let mut refused = false;
        while let Ok(e) = ev.poll().await {
            if let rumqttc::Event::Incoming(rumqttc::Packet::SubAck(ack)) = e {
                refused = ack
                    .return_codes
                    .iter()
                    .all(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure));
                break;
            }
        }
        refused
    });
    client
        .subscribe(
            Topic::WindowState("3").to_string(OTHER),
            rumqttc::QoS::AtLeastOnce,
        )
        .await
        .unwrap();
    assert!(
        spy.await.unwrap(),
        "a display subscribed to another hall's window"
    );
    let out = server.mosquitto_pub(
        "pad-2",
        "demo-pad-2-pass",
        &Topic::PadCmd("2").to_string(OTHER),
        r#"{"op":"open","id":"x1"}"#,
    );
    let said = String::from_utf8_lossy(&out.stderr);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, yz) = server.http("GET", &format!("/api/v1/halls/{OTHER}"), None);
    let w2 = hallq_tests::window_of(&yz, "2");
    assert_eq!(
        w2["status"], "closed",
        "a pad of another hall opened window 2 ({said})"
    );

    // Pages per hall, under /h/{hall}/; the QR link of a ticket goes there too.
    let (s, _, kiosk) =
        hallq_tests::http_text(server.http, "GET", "/h/yuzhou/kiosk", None, &[]).unwrap();
    assert_eq!(s, 200);
    assert!(kiosk.contains(r#"content="yuzhou""#), "{kiosk}");
    let (s, _, _) =
        hallq_tests::http_text(server.http, "GET", "/h/nowhere/kiosk", None, &[]).unwrap();
    assert_eq!(s, 404);
    let (s, _, phone) = hallq_tests::http_text(
        server.http,
        "GET",
        &format!("/h/yuzhou/t/{}", b["id"].as_str().unwrap()),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(s, 200);
    assert!(phone.contains(r#"content="yuzhou""#));

    // One health check and one metrics page for the server, per hall.
    let (s, health) = server.http("GET", "/healthz", None);
    assert_eq!(s, 200, "{health}");
    assert_eq!(health["halls"][OTHER]["ok"], true, "{health}");
    let (s, _, metrics) =
        hallq_tests::http_text(server.http, "GET", "/metrics", None, &[]).unwrap();
    assert_eq!(s, 200);
    assert!(
        metrics.contains(r#"hallq_tickets_issued_today{service="business",hall="yuzhou"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"hallq_tickets_issued_today{service="business",hall="xuchang"} 1"#));
    assert_eq!(
        metrics.matches("# TYPE hallq_tickets_issued_today").count(),
        1,
        "one family for all halls"
    );

    // Each hall's log is in its own folder, and survives a crash.
    assert!(data.join(HALL).join("hall.db").exists());
    assert!(data.join(OTHER).join("hall.db").exists());
    let (http, mqtt) = (server.http.to_string(), server.mqtt.to_string());
    server.kill9();
    let server = Server::start_halls(
        &[&demo_hall(), &other],
        &data,
        &["--http", &http, "--mqtt", &mqtt],
    );
    let (_, yz) = server.http("GET", &format!("/api/v1/halls/{OTHER}"), None);
    assert_eq!(hallq_tests::window_of(&yz, "3")["ticket"], "A001", "{yz}");
    let (s, b3) = take(&server, OTHER, "yz-kiosk-1", "business");
    assert_eq!((s, b3["number"].as_str()), (201, Some("A003")));
    let (s, a2) = take(&server, HALL, "kiosk-1", "business");
    assert_eq!((s, a2["number"].as_str()), (201, Some("A002")));
}

#[test]
fn a_hall_that_cannot_start_leaves_the_others_running() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[hall]\nid = \"broken\"\n").unwrap();
    // Same hall id as another file: neither copy runs (which one is meant?).
    let twin_a = other_hall(&dir.path().join("a"), "twin", "甲", "ta-");
    let twin_b = other_hall(&dir.path().join("b"), "twin", "乙", "tb-");
    // Its devices are the demo hall's: the second hall with them is left out.
    let clash = other_hall(dir.path(), "clash", "撞名大厅", "");
    let good = other_hall(dir.path(), OTHER, "禹州市民之家", "yz-");
    let data = dir.path().join("data");
    let server = Server::start_halls(
        &[&demo_hall(), &broken, &twin_a, &twin_b, &clash, &good],
        &data,
        &[],
    );
    let (_, list) = server.http("GET", "/api/v1/halls", None);
    let ids = hall_ids(&list);
    assert_eq!(ids, [HALL, OTHER], "{list}");
    let (s, health) = server.http("GET", "/healthz", None);
    assert_eq!(
        s, 503,
        "halls not running make the server unhealthy: {health}"
    );
    let why: Vec<String> = health["not_running"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r["hall"], r["why"]))
        .collect();
    assert_eq!(why.len(), 4, "{why:?}");
    assert!(why.iter().any(|w| w.contains("broken.toml")), "{why:?}");
    assert_eq!(why.iter().filter(|w| w.contains("hall id twin")).count(), 2);
    assert!(
        why.iter()
            .any(|w| w.contains("clash") && w.contains("pad-1 (hall xuchang)")),
        "{why:?}"
    );
    // The halls that run, run.
    let (s, t) = take(&server, OTHER, "yz-kiosk-1", "social");
    assert_eq!(s, 201, "{t}");
    let (s, _, t) = server.http_with(
        "POST",
        &format!("/api/v1/halls/{HALL}/tickets"),
        Some(r#"{"service":"social"}"#),
        &[KIOSK],
    );
    assert_eq!(s, 201, "{t}");
}

#[test]
fn a_staff_account_for_one_hall_sees_only_that_hall() {
    let dir = tempfile::tempdir().unwrap();
    let other = other_hall(dir.path(), OTHER, "禹州市民之家", "yz-");
    let staff = dir.path().join("staff.toml");
    add_staff(&staff, "li", "manager", &["--hall", OTHER]);
    add_staff(&staff, "zhao", "manager", &[]);
    let staff_arg = staff.to_str().unwrap();
    let server = Server::start_halls(
        &[&demo_hall(), &other],
        &dir.path().join("data"),
        &["--staff", staff_arg],
    );
    let cookie = |id: &str| {
        let body = format!(r#"{{"id":"{id}","password":"a-long-password"}}"#);
        let (s, head, _) = server.http_with("POST", "/api/v1/login", Some(&body), &[]);
        assert_eq!(s, 200);
        let c = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with("set-cookie:")
                    .then(|| l[11..].trim().to_owned())
            })
            .unwrap();
        c.split(';').next().unwrap().to_owned()
    };
    let li = cookie("li");
    let dash = |hall: &str, c: &str| {
        server
            .http_with(
                "GET",
                &format!("/api/v1/halls/{hall}/dashboard"),
                None,
                &[("Cookie", c)],
            )
            .0
    };
    assert_eq!(dash(OTHER, &li), 200);
    assert_eq!(dash(HALL, &li), 403, "a hall's manager sees another hall");
    let (_, _, me) = server.http_with("GET", "/api/v1/me", None, &[("Cookie", &li)]);
    assert_eq!(me["hall"], OTHER, "{me}");
    let zhao = cookie("zhao");
    assert_eq!(dash(OTHER, &zhao), 200);
    assert_eq!(dash(HALL, &zhao), 200, "a city account sees every hall");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_view_shows_each_hall_to_those_it_is_for() {
    use hallq_tests::browser::Browser;
    let dir = tempfile::tempdir().unwrap();
    let other = other_hall(dir.path(), OTHER, "禹州市民之家", "yz-");
    let staff = dir.path().join("staff.toml");
    add_staff(&staff, "city", "supervisor", &[]);
    add_staff(&staff, "li", "manager", &["--hall", OTHER]);
    let server = Server::start_halls(
        &[&demo_hall(), &other],
        &dir.path().join("data"),
        &["--staff", staff.to_str().unwrap()],
    );
    for _ in 0..3 {
        assert_eq!(take(&server, HALL, "kiosk-1", "business").0, 201);
    }
    assert_eq!(take(&server, OTHER, "yz-kiosk-1", "social").0, 201);
    let (s, e) = server.http("GET", "/api/v1/city", None);
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );

    let b = Browser::start(1300, 700).await;
    let base = format!("http://{}", server.http);
    b.client.goto(&format!("{base}/city")).await.unwrap();
    b.wait("#login-form").await;
    b.wait("#login-id").await.send_keys("city").await.unwrap();
    b.wait("#login-password")
        .await
        .send_keys("a-long-password")
        .await
        .unwrap();
    b.click("#login-submit").await;
    b.wait_text("#me", "督查", 10).await;
    b.client.goto(&format!("{base}/city")).await.unwrap();
    let row = b
        .wait_text("tr[data-hall='xuchang']", "许昌市民之家", 10)
        .await;
    assert!(row.contains("3"), "three waiting: {row}");
    b.wait_text("tr[data-hall='yuzhou']", "禹州市民之家", 10)
        .await;
    b.wait_text("#totals", "2 个大厅", 10).await;
    b.screenshot("city-view").await;
    // The hall's name leads to its dashboard.
    b.click("tr[data-hall='yuzhou'] a").await;
    b.wait_text("#services", "社保医保", 10).await;
    let url = b.client.current_url().await.unwrap();
    assert!(url.path().starts_with("/h/yuzhou/manager"), "{url}");
    b.screenshot("city-view-hall-dashboard").await;

    // A hall's manager sees only that hall.
    let body = r#"{"id":"li","password":"a-long-password"}"#;
    let (_, head, _) = server.http_with("POST", "/api/v1/login", Some(body), &[]);
    let cookie = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie:")
                .then(|| l[11..].trim().split(';').next().unwrap().to_owned())
        })
        .unwrap();
    let (s, _, view) = server.http_with("GET", "/api/v1/city", None, &[("Cookie", &cookie)]);
    assert_eq!(s, 200);
    let halls = hall_ids(&view);
    assert_eq!(halls, [OTHER]);
    assert_eq!(view["halls"][0]["waiting"], 1, "{view}");
}
