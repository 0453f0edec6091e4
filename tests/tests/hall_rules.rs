//! The hall's rules through the real server: priority tickets, a transfer
//! that keeps its owner, a rating pad, bookings with hashed ID numbers and
//! quotas, the manager switching a window, and cards reaching `metrics`.

use std::path::Path;
use std::time::Duration;

use hallq_contract::Topic;
use hallq_contract::payload::Op;
use hallq_pad::Pad;
use hallq_tests::{HALL, Server, Watcher, topic};
use serde_json::Value;

fn ticket(server: &Server, id: &Value) -> Value {
    let (status, t) = server.http(
        "GET",
        &format!("/api/v1/halls/{HALL}/tickets/{}", id.as_str().unwrap()),
        None,
    );
    assert_eq!(status, 200, "{t}");
    t
}

/// A POST from the hall's kiosk (not held to the public rate limit).
fn post(server: &Server, path: &str, body: &str) -> (u16, Value) {
    let (status, _, body) = server.http_with(
        "POST",
        &format!("/api/v1/halls/{HALL}{path}"),
        Some(body),
        &[hallq_tests::KIOSK],
    );
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn priority_transfer_with_owner_and_a_rating_pad() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let plain = server.take("business");
    let (status, elderly) = post(
        &server,
        "/tickets",
        r#"{"service":"business","priority":"elderly"}"#,
    );
    assert_eq!((status, elderly["class"].as_str()), (201, Some("elderly")));
    let (status, e) = post(
        &server,
        "/tickets",
        r#"{"service":"business","priority":"booking"}"#,
    );
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("unknown_class")),
        "a kiosk cannot claim the booking class"
    );

    let mut pad3 = Pad::connect(&server.device("pad-3"), "3").await.unwrap();
    assert!(
        pad3.send(Op::Open {
            clerk: Some("wang".into()),
            pin: None
        })
        .await
        .unwrap()
        .ok
    );
    let called = pad3
        .send(Op::CallNext { service: None })
        .await
        .unwrap()
        .ticket
        .unwrap();
    assert_eq!(
        (called.number.as_str(), called.class.as_deref()),
        ("A002", Some("elderly")),
        "the elderly citizen first"
    );
    assert_eq!(called.owner.as_deref(), Some("wang"));
    assert_eq!(called.limit_min, Some(30));

    // A real-estate matter: hand it to property; it keeps its owner (首问负责).
    let op = Op::Transfer {
        to_service: Some("property".into()),
        to_window: None,
        note: Some("不动产".into()),
    };
    assert!(pad3.send(op).await.unwrap().ok);
    let t = ticket(&server, &elderly["id"]);
    assert_eq!(
        (
            t["service"].as_str(),
            t["status"].as_str(),
            t["transfers"].as_u64()
        ),
        (Some("property"), Some("waiting"), Some(1))
    );
    assert_eq!(t["owner"], "wang");
    let mut pad6 = Pad::connect(&server.device("pad-6"), "6").await.unwrap();
    assert!(
        pad6.send(Op::Open {
            clerk: Some("li".into()),
            pin: None
        })
        .await
        .unwrap()
        .ok
    );
    let at6 = pad6
        .send(Op::CallNext { service: None })
        .await
        .unwrap()
        .ticket
        .unwrap();
    assert_eq!(
        (at6.number.as_str(), at6.owner.as_deref()),
        ("A002", Some("wang"))
    );
    assert!(pad6.send(Op::Start).await.unwrap().ok);
    assert!(pad6.send(Op::Finish).await.unwrap().ok);

    // The rating pad at window 6 (a client we did not write).
    let out = server.mosquitto_pub(
        "rate-6",
        "demo-rate-6-pass",
        &topic(Topic::Rating("6")),
        r#"{"id":"r-1","ticket":"A002","score":5}"#,
    );
    assert!(out.status.success());
    let mut rated = Value::Null;
    for _ in 0..50 {
        rated = ticket(&server, &elderly["id"]);
        if rated["rating"] == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rated["rating"], 5);
    let (status, again) = post(
        &server,
        &format!("/tickets/{}/rating", elderly["id"].as_str().unwrap()),
        r#"{"score":1}"#,
    );
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("already_rated"))
    );
    let (status, by_number) = post(&server, "/tickets/A002/rating", r#"{"score":1}"#);
    assert_eq!(
        (status, by_number["error"]["code"].as_str()),
        (404, Some("unknown_ticket")),
        "a number is not enough over HTTP"
    );
    // The ordinary ticket is next at window 3; rating it before it is done is refused.
    let (status, early) = post(
        &server,
        &format!("/tickets/{}/rating", plain["id"].as_str().unwrap()),
        r#"{"score":4}"#,
    );
    assert_eq!(
        (status, early["error"]["code"].as_str()),
        (409, Some("not_finished"))
    );

    // All of it survives kill -9.
    let data = server.data.clone();
    drop((pad3, pad6));
    server.kill9();
    let server = Server::start(&data);
    let t = ticket(&server, &elderly["id"]);
    assert_eq!(
        (
            t["rating"].as_u64(),
            t["transfers"].as_u64(),
            t["owner"].as_str()
        ),
        (Some(5), Some(1), Some("wang"))
    );
    assert_eq!(
        (t["status"].as_str(), t["class"].as_str()),
        (Some("done"), Some("elderly"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_check_in_and_id_quotas() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let half_hour = 30 * 60_000;
    let slot = (now / half_hour + 1) * half_hour;
    let body =
        format!(r#"{{"service":"social","id_number":"41100219800101123x","slot_ms":{slot}}}"#);
    let (status, booking) = post(&server, "/bookings", &body);
    assert_eq!(status, 201, "{booking}");
    assert_eq!(
        (booking["state"].as_str(), booking["slot_ms"].as_i64()),
        (Some("booked"), Some(slot))
    );
    assert!(
        !booking.to_string().contains("411002"),
        "the ID number never comes back"
    );
    let (status, bad) = post(
        &server,
        "/bookings",
        &body.replace("41100219800101123x", "12345"),
    );
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("bad_id_number"))
    );
    let (status, bad) = post(
        &server,
        "/bookings",
        &body.replace(&slot.to_string(), &(slot + 60_000).to_string()),
    );
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (422, Some("bad_slot"))
    );

    server.take("social");
    let (status, t) = post(
        &server,
        "/tickets",
        &format!(r#"{{"appointment":"{}"}}"#, booking["id"].as_str().unwrap()),
    );
    assert_eq!((status, t["class"].as_str()), (201, Some("booking")), "{t}");
    assert_eq!(
        t["ahead"], 0,
        "a checked-in booking goes before the ordinary ticket"
    );
    let (status, again) = post(
        &server,
        &format!("/bookings/{}/check-in", booking["id"].as_str().unwrap()),
        "",
    );
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("booking_closed"))
    );
    let (_, b) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/bookings/{}",
            booking["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!(
        (b["state"].as_str(), b["ticket"]["number"].as_str()),
        (Some("checked_in"), t["number"].as_str())
    );

    // Five tickets per ID number a day: the booking's ticket was the first.
    for _ in 0..4 {
        let (status, _) = post(
            &server,
            "/tickets",
            r#"{"service":"issue","id_number":"41100219800101123X"}"#,
        );
        assert_eq!(status, 201);
    }
    let (status, e) = post(
        &server,
        "/tickets",
        r#"{"service":"issue","id_number":"41100219800101123X"}"#,
    );
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (429, Some("quota_exceeded"))
    );
    let (status, _) = post(
        &server,
        "/tickets",
        r#"{"service":"issue","id_number":"110101199001011234"}"#,
    );
    assert_eq!(status, 201, "another citizen is not affected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_switches_a_window_and_reads_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("social");
    let path = format!("/api/v1/halls/{HALL}/windows/1/profile");
    let body = r#"{"serves":["consult","social"],"policy":"strict"}"#;
    let (status, head, e) = server.http_with("PUT", &path, Some(body), &[]);
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: basic"),
        "{head}"
    );
    // pad-1's password is not a manager's.
    let pad_auth = format!("Basic {}", b64("pad-1:demo-pad-1-pass"));
    assert_eq!(
        server
            .http_with("PUT", &path, Some(body), &[("Authorization", &pad_auth)])
            .0,
        401
    );
    let auth = format!("Basic {}", b64("manager:demo-manager-pass"));
    let (status, _, w) = server.http_with("PUT", &path, Some(body), &[("Authorization", &auth)]);
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["serves"], serde_json::json!(["consult", "social"]));
    assert_eq!(w["policy"], "strict");

    let mut pad1 = Pad::connect(&server.device("pad-1"), "1").await.unwrap();
    assert!(
        pad1.send(Op::Open {
            clerk: Some("zhao".into()),
            pin: None
        })
        .await
        .unwrap()
        .ok
    );
    let t = pad1
        .send(Op::CallNext { service: None })
        .await
        .unwrap()
        .ticket
        .unwrap();
    assert_eq!(t.number, "D001", "window 1 now helps with social insurance");
    assert!(pad1.send(Op::Start).await.unwrap().ok);
    assert!(pad1.send(Op::Finish).await.unwrap().ok);

    let (status, _, report) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{HALL}/report"),
        None,
        &[("Authorization", &auth)],
    );
    assert_eq!(status, 200);
    assert_eq!(report["clerks"]["zhao"]["served"], 1);
    assert_eq!(
        server
            .http("GET", &format!("/api/v1/halls/{HALL}/report"), None)
            .0,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_reach_the_dashboard_when_their_time_comes() {
    let dir = tempfile::tempdir().unwrap();
    let hall = Path::new(env!("CARGO_MANIFEST_DIR")).join("halls/fast-cards.toml");
    let server = Server::start_hall(&hall, dir.path(), &[]);
    let metrics = topic(Topic::Metrics);
    let mut board = Watcher::new(&server.device("manager"), std::slice::from_ref(&metrics)).await;
    let t = server.take("social");
    let m = board
        .expect(&metrics, |m| m["red_today"].as_u64() == Some(1))
        .await;
    let card = &m["cards"][0];
    assert_eq!(
        (
            card["ticket"].as_str(),
            card["kind"].as_str(),
            card["level"].as_str()
        ),
        (t["number"].as_str(), Some("wait"), Some("red"))
    );
    assert_eq!(m["yellow_today"], 1, "the yellow card came first");
}

fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
