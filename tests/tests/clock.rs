//! The wall clock goes back an hour: a server that ran with a fast clock is
//! restarted after NTP put the clock right (the core's own tests set the
//! clock back under a running hall). Numbering goes on, the log stays in
//! time order, nothing is lost. The fast clock comes from Debian's
//! libfaketime (`apt-get install faketime`), for the server process only.

use std::time::Duration;

use futures_util::StreamExt;
use hallq_contract::payload::Op;
use hallq_pad::Pad;
use hallq_tests::{HALL, Server, demo_hall};
use serde_json::Value;

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// How far the server's clock (its HTTP `Date` header) is behind ours, in
/// seconds (within a day).
fn seconds_behind(head: &str) -> i64 {
    let date = head
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .expect("a Date header");
    let hms = date.split(' ').nth(4).expect("HH:MM:SS");
    let p: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    let theirs = p[0] * 3600 + p[1] * 60 + p[2];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now % 86_400 - theirs).rem_euclid(86_400)
}

/// Event times on the stream until it is quiet.
async fn event_times<S>(ws: &mut S) -> Vec<i64>
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    let mut times = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
        let v: Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
        if v["type"] == "event" {
            times.push(v["data"]["at_ms"].as_i64().unwrap());
        }
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_put_back_an_hour_keeps_numbering_and_order() {
    assert!(
        std::path::Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: apt-get install faketime"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // An hour fast.
    let fast = [("LD_PRELOAD", LIBFAKETIME), ("FAKETIME", "+1h")];
    let server = Server::try_start_env(&demo_hall(), &data, &[], &fast).unwrap();
    let (_, head, _) = server.http_with("GET", "/healthz", None, &[]);
    let ahead = (86_400 - seconds_behind(&head)) % 86_400;
    assert!(
        (3590..=3610).contains(&ahead),
        "the server's clock is {ahead} s ahead, not an hour: {head}"
    );
    let first = server.take("business");
    assert_eq!(first["number"], "A001");
    let mut pad = server.open_pad("3").await;
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);
    drop(pad);
    let (http, mqtt) = (server.http, server.mqtt);
    server.kill9();

    // NTP puts the clock right: an hour back. Same data, same ports.
    let server = Server::start_again(&demo_hall(), &data, http, mqtt);
    // A manager's stream: every event (the public one is thinned).
    let mut ws = server.manager_stream("demo-manager-pass").await.unwrap();
    let second = server.take("business");
    assert_eq!(second["number"], "A002", "the day did not start again");
    let mut pad = Pad::connect(&server.device("pad-3"), "3").await.unwrap();
    assert!(pad.send(Op::Start).await.unwrap().ok);
    assert!(pad.send(Op::Finish).await.unwrap().ok);
    let r = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(r.ticket.unwrap().number, "A002");
    let (status, t) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/tickets/{}",
            first["id"].as_str().unwrap()
        ),
        None,
    );
    assert_eq!((status, t["status"].as_str()), (200, Some("done")));

    let times = event_times(&mut ws).await;
    assert!(times.len() >= 4, "{times:?}");
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "events went back in time: {times:?}"
    );
    let before = first["issued_ms"].as_i64().unwrap();
    assert!(
        second["issued_ms"].as_i64().unwrap() >= before && times[0] >= before,
        "the log went back in time: A001 at {before}, A002 at {}, events {times:?}",
        second["issued_ms"]
    );
}
