//! The wait forecast on the ticket (issue 14, part 3): a ticket's reply and
//! its look-up carry the forecast's mean and its 20–80 % range, later
//! tickets wait longer, and the phone page says it as a range.

use hallq_tests::browser::Browser;
use hallq_tests::{HALL, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_ticket_is_told_a_range_that_grows_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    // Tickets carried over at midnight, so that the forecast is the same
    // whatever the hour the test runs at (without, a run past midnight
    // expires the queue, as the hall would).
    let demo = std::fs::read_to_string(hallq_tests::demo_hall()).unwrap();
    assert!(demo.contains("carry_over = false"));
    let hall = dir.path().join("hall.toml");
    std::fs::write(
        &hall,
        demo.replace("carry_over = false", "carry_over = true"),
    )
    .unwrap();
    let server = Server::start_hall(&hall, &dir.path().join("data"), &[]);
    // One window open for business (window 3), its clerk busy with A001.
    let mut pad = server.open_pad("3").await;
    let tickets: Vec<serde_json::Value> = (0..6).map(|_| server.take("business")).collect();
    use hallq_contract::payload::Op;
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);
    assert!(pad.send(Op::Start).await.unwrap().ok);
    // Every reply of a waiting ticket had a range around its estimate.
    for t in &tickets[1..] {
        let [low, high] = [t["wait_range_s"][0].as_u64(), t["wait_range_s"][1].as_u64()];
        let (low, high) = (low.expect("a range"), high.expect("a range"));
        let mean = t["estimated_wait_s"].as_u64().unwrap();
        assert!(low <= mean && mean <= high, "{t}");
    }
    // Now, looked up: the further back, the longer (one window, business
    // takes about 18 minutes).
    let mut means = Vec::new();
    for t in &tickets[1..] {
        let (s, now) = server.http(
            "GET",
            &format!("/api/v1/halls/{HALL}/tickets/{}", t["id"].as_str().unwrap()),
            None,
        );
        assert_eq!(s, 200, "{now}");
        let mean = now["estimated_wait_s"].as_u64().unwrap();
        let range = &now["wait_range_s"];
        assert!(range[0].as_u64().unwrap() <= mean && mean <= range[1].as_u64().unwrap());
        means.push(mean);
    }
    assert!(
        means.windows(2).all(|w| w[0] < w[1]),
        "later tickets wait longer: {means:?}"
    );
    // A001 is at the window: no wait left, no range.
    let (_, first) = server.http(
        "GET",
        &format!(
            "/api/v1/halls/{HALL}/tickets/{}",
            tickets[0]["id"].as_str().unwrap()
        ),
        None,
    );
    assert!(first["wait_range_s"].is_null(), "{first}");

    // The phone page says it as a range of minutes.
    let last = tickets[5]["id"].as_str().unwrap();
    let phone = Browser::phone(390, 844, 100).await;
    phone
        .client
        .goto(&format!("http://{}/t/{last}", server.http))
        .await
        .unwrap();
    let said = phone.wait_text("#status", "预计等候约", 10).await;
    assert!(said.contains('–') && said.contains("分钟"), "{said}");
    phone.screenshot("phone-wait-range").await;
}
