//! A case from the window to its delivery, through the whole system: a
//! ticket taken at the kiosk, accepted (受理) at window 2 from the pad, seen
//! on the phone page, taken up and decided by the back office and an
//! approval system (idempotent by key), ready at window 11, a pick-up
//! ticket taken with the case code that goes first, handed out — and still
//! so after a restart on the same ports. Then the back-office page in a
//! real browser. Bad changes get stable codes and change nothing.

use fantoccini::Locator;
use hallq_contract::payload::Op;
use hallq_tests::browser::Browser;
use hallq_tests::{HALL, KIOSK, Server};
use serde_json::Value;

/// Logs a demo account in over the API; the session cookie header.
fn login(server: &Server, id: &str) -> (String, String) {
    let cookie = server
        .web_login(id, &format!("demo-{id}-pass"))
        .unwrap_or_else(|| panic!("{id} logs in"));
    ("Cookie".to_owned(), cookie)
}

fn with(h: &(String, String)) -> [(&str, &str); 1] {
    [(h.0.as_str(), h.1.as_str())]
}

/// `POST …/cases/{code}` as a staff login.
fn change(server: &Server, who: &(String, String), code: &str, body: &str) -> (u16, Value) {
    let (status, _, v) = server.http_with(
        "POST",
        &format!("/api/v1/halls/{HALL}/cases/{code}"),
        Some(body),
        &with(who),
    );
    (status, v)
}

const APPROVAL: (&str, &str) = (
    "Authorization",
    // approval:demo-approval-pass
    "Basic YXBwcm92YWw6ZGVtby1hcHByb3ZhbC1wYXNz",
);

/// `POST …/integration/cases/{code}` as the approval system.
fn push(server: &Server, code: &str, key: Option<&str>, body: &str) -> (u16, Value) {
    let mut headers = vec![APPROVAL];
    if let Some(k) = key {
        headers.push(("Idempotency-Key", k));
    }
    let (status, _, v) = server.http_with(
        "POST",
        &format!("/api/v1/halls/{HALL}/integration/cases/{code}"),
        Some(body),
        &headers,
    );
    (status, v)
}

fn ticket(server: &Server, token: &str) -> Value {
    let (status, v) = server.http(
        "GET",
        &format!("/api/v1/halls/{HALL}/tickets/{token}"),
        None,
    );
    assert_eq!(status, 200, "{v}");
    v
}

fn events_in_log(server: &Server) -> u64 {
    server.hall()["seq"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_goes_from_the_window_through_the_back_office_to_its_pick_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let applicant = server.take("business");
    let token = applicant["id"].as_str().unwrap().to_owned();

    // 受理 at window 2: the reply carries the case code for the receipt.
    let mut pad = server.open_pad("2").await;
    pad.send(Op::CallNext { service: None }).await.unwrap();
    pad.send(Op::Start).await.unwrap();
    let reply = pad.send(Op::Accept).await.unwrap();
    assert!(reply.ok, "{reply:?}");
    let code = reply.case.clone().expect("a case code");
    assert_eq!(code.len(), 10, "ten digits: {code}");
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        reply.ticket.unwrap().number,
        applicant["number"].as_str().unwrap()
    );
    // A second accept has no ticket to accept.
    let again = pad.send(Op::Accept).await.unwrap();
    assert_eq!(again.error.unwrap().code, "no_current_ticket");

    // The phone page of the ticket follows the case.
    let t = ticket(&server, &token);
    assert_eq!(t["status"], "done");
    assert_eq!(t["case"]["code"], code.as_str());
    assert_eq!(t["case"]["state"], "accepted");
    assert!(
        t["case"]["message"]
            .as_str()
            .unwrap()
            .contains("承诺 3 个工作日"),
        "{t}"
    );

    // The back office sees it in its list; a clerk may not list cases, and
    // no one without a login sees any.
    let officer = login(&server, "officer");
    let clerk = login(&server, "clerk");
    let (status, _, list) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{HALL}/cases?department=market"),
        None,
        &with(&officer),
    );
    assert_eq!(status, 200, "{list}");
    let row = &list["cases"][0];
    assert_eq!(row["code"], code.as_str());
    assert_eq!(
        (
            row["department_name"].as_str(),
            row["window"].as_str(),
            row["limit_days"].as_u64(),
            row["used_days"].as_u64()
        ),
        (Some("市场监管局"), Some("2"), Some(3), Some(0))
    );
    assert!(row["due_date"].is_string());
    let (status, _, _) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{HALL}/cases"),
        None,
        &with(&clerk),
    );
    assert_eq!(status, 403);
    let (status, _) = server.http("GET", &format!("/api/v1/halls/{HALL}/cases"), None);
    assert_eq!(status, 401);

    // Bad changes: stable codes, nothing changes.
    let seq = events_in_log(&server);
    for (body, status, code_want) in [
        (r#"{"action":"ready"}"#, 409, "case_state"),
        (r#"{"action":"refuse","note":"  "}"#, 409, "reason_required"),
        (r#"{"action":"fly"}"#, 400, "bad_request"),
    ] {
        let (s, v) = change(&server, &officer, &code, body);
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code_want)),
            "{body}: {v}"
        );
    }
    let (s, v) = change(&server, &officer, "0000000000", r#"{"action":"review"}"#);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_case"))
    );
    let (s, _) = change(&server, &clerk, &code, r#"{"action":"approve"}"#);
    assert_eq!(s, 403, "a clerk does not decide");
    assert_eq!(events_in_log(&server), seq, "nothing was logged");

    // The approval system takes it up; the same key again changes nothing.
    let (s, v) = push(&server, &code, None, r#"{"action":"review"}"#);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("bad_idempotency_key"))
    );
    let (s, v) = push(&server, &code, Some("sys-7f3a"), r#"{"action":"review"}"#);
    assert_eq!((s, v["state"].as_str()), (200, Some("in_review")), "{v}");
    let seq = events_in_log(&server);
    let (s, v) = push(&server, &code, Some("sys-7f3a"), r#"{"action":"review"}"#);
    assert_eq!((s, v["state"].as_str()), (200, Some("in_review")), "{v}");
    assert_eq!(events_in_log(&server), seq, "a repeat is not logged again");
    let (s, _, _) = server.http_with(
        "POST",
        &format!("/api/v1/halls/{HALL}/integration/cases/{code}"),
        Some(r#"{"action":"approve"}"#),
        &[KIOSK, ("Idempotency-Key", "k2")],
    );
    assert_eq!(s, 401, "a kiosk is not an approval system");

    // The officer approves and sends it to the pick-up window.
    let (s, v) = change(
        &server,
        &officer,
        &code,
        r#"{"action":"approve","note":"材料齐全"}"#,
    );
    assert_eq!(
        (s, v["state"].as_str(), v["late"].as_bool()),
        (200, Some("decided"), Some(false))
    );
    let (s, v) = change(&server, &officer, &code, r#"{"action":"ready"}"#);
    assert_eq!((s, v["state"].as_str()), (200, Some("ready")));
    let t = ticket(&server, &token);
    assert_eq!(t["case"]["pickup_window"], "11号窗口");
    assert!(
        t["case"]["message"]
            .as_str()
            .unwrap()
            .contains("办结，请到 11号窗口 取件"),
        "{t}"
    );

    // At the kiosk: an unknown code is said so; the right one gives a
    // pick-up ticket that goes before an ordinary one taken earlier.
    let ordinary = server.take("issue");
    let kiosk = |body: &str| {
        server.http_with(
            "POST",
            &format!("/api/v1/halls/{HALL}/tickets"),
            Some(body),
            &[KIOSK],
        )
    };
    let (s, _, v) = kiosk(r#"{"case":"1234"}"#);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_case"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("没有这个办件编号")
    );
    let (s, _, pickup) = kiosk(&format!(r#"{{"case":"{code}"}}"#));
    assert_eq!(s, 201, "{pickup}");
    assert_eq!(
        (pickup["service"].as_str(), pickup["class"].as_str()),
        (Some("issue"), Some("pickup"))
    );
    let (s, _, v) = kiosk(&format!(r#"{{"case":"{code}"}}"#));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("pickup_taken"))
    );

    let mut pad11 = server.open_pad("11").await;
    let called = pad11.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(
        called.ticket.unwrap().number,
        pickup["number"].as_str().unwrap()
    );
    pad11.send(Op::Start).await.unwrap();
    assert!(pad11.send(Op::Finish).await.unwrap().ok);
    let (_, _, case) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{HALL}/cases/{code}"),
        None,
        &with(&officer),
    );
    assert_eq!(case["state"], "delivered");
    assert_eq!(
        (
            case["delivery"]["by"].as_str(),
            case["delivery"]["window"].as_str()
        ),
        (Some("window"), Some("11"))
    );
    let states: Vec<&str> = case["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["accepted", "in_review", "decided", "ready", "delivered"]
    );
    let next = pad11.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(
        next.ticket.unwrap().number,
        ordinary["number"].as_str().unwrap()
    );

    // The report and the metrics count it, per department.
    let (s, _, report) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{HALL}/reports/day"),
        None,
        &with(&login(&server, "manager")),
    );
    assert_eq!(s, 200);
    let market = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["department"] == "market")
        .unwrap()
        .clone();
    assert_eq!(
        (
            market["decided"].as_u64(),
            market["on_time_percent"].as_f64()
        ),
        (Some(1), Some(100.0))
    );
    let metrics = hallq_tests::http_raw(server.http, "/metrics", &[]);
    assert!(
        metrics.contains(r#"hallq_cases_decided{department="market",timely="on_time"} 1"#),
        "{metrics}"
    );

    // After a restart on the same ports the case is as it was.
    drop(pad);
    drop(pad11);
    let (http, mqtt) = (server.http, server.mqtt);
    assert_eq!(server.terminate(), Some(0));
    let server = Server::start_again(&hallq_tests::demo_hall(), dir.path(), http, mqtt);
    let t = ticket(&server, &token);
    assert_eq!(t["case"]["state"], "delivered");
    assert!(t["case"]["message"].as_str().unwrap().contains("已取件"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_back_office_decides_from_its_page_and_the_phone_shows_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut pad = server.open_pad("4").await;
    let mut codes = Vec::new();
    let mut tokens = Vec::new();
    for service in ["property", "business"] {
        let t = server.take(service);
        tokens.push(t["id"].as_str().unwrap().to_owned());
        pad.send(Op::CallNext {
            service: Some(service.into()),
        })
        .await
        .unwrap();
        pad.send(Op::Start).await.unwrap();
        codes.push(pad.send(Op::Accept).await.unwrap().case.unwrap());
    }
    let base = format!("http://{}", server.http);
    let b = Browser::start(1400, 900).await;
    b.staff_login(&base, "officer", "demo-officer-pass").await;
    // A back-office login lands on its own page with both cases.
    let row = format!("tr[data-case='{}']", codes[1]);
    b.wait_text(&row, "商事登记", 10).await;
    b.wait_text(&format!("tr[data-case='{}']", codes[0]), "不动产登记", 5)
        .await;
    b.wait_text("#me", "审批人员", 5).await;
    b.wait_text("#report", "市场监管局", 5).await;
    b.screenshot("backoffice-list").await;
    b.assert_accessible("backoffice-list").await;

    // Review, then refuse: the dialog wants the reason.
    b.click(&format!("{row} button[data-action='review']"))
        .await;
    b.click("#change-ok").await;
    b.wait_text(&format!("{row} .state"), "审查中", 5).await;
    b.click(&format!("{row} button[data-action='refuse']"))
        .await;
    b.click("#change-ok").await;
    let open = b
        .client
        .execute("return document.getElementById('change').open", vec![])
        .await
        .unwrap();
    assert_eq!(open, Value::Bool(true), "an empty reason does not go");
    b.wait("#change-note")
        .await
        .send_keys("经营场所证明不符合要求")
        .await
        .unwrap();
    b.screenshot("backoffice-refuse-dialog").await;
    b.assert_accessible("backoffice-refuse-dialog").await;
    b.click("#change-ok").await;
    b.wait_text(&format!("{row} .state"), "不予批准", 5).await;
    // Sent by post from the page.
    b.click(&format!("{row} button[data-action='express']"))
        .await;
    b.wait("#change-tracking")
        .await
        .send_keys("1187654321098")
        .await
        .unwrap();
    b.click("#change-ok").await;
    let mut gone = false;
    for _ in 0..50 {
        let n = b.client.find_all(Locator::Css(&row)).await.unwrap().len();
        if n == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "a delivered case leaves the list");
    b.screenshot("backoffice-after").await;

    // The applicant's phone page says where the result went.
    let phone = Browser::phone(390, 844, 100).await;
    phone
        .client
        .goto(&format!("{base}/t/{}", tokens[1]))
        .await
        .unwrap();
    phone.wait_text("#case", "已邮寄", 10).await;
    phone.wait_text("#case", "1187654321098", 5).await;
    phone.screenshot("phone-case-posted").await;
    let t = ticket(&server, &tokens[1]);
    assert_eq!(
        (t["case"]["carrier"].as_str(), t["case"]["state"].as_str()),
        (Some("EMS"), Some("delivered"))
    );

    // The other case is decided and ready: its phone page sends the
    // citizen to window 11, and the kiosk gives a pick-up ticket for its
    // code (an unknown code is said so).
    let officer = login(&server, "officer");
    for action in ["review", "approve", "ready"] {
        let (s, v) = change(
            &server,
            &officer,
            &codes[0],
            &format!(r#"{{"action":"{action}"}}"#),
        );
        assert_eq!(s, 200, "{action}: {v}");
    }
    phone
        .client
        .goto(&format!("{base}/t/{}", tokens[0]))
        .await
        .unwrap();
    phone.wait_text("#case", "11号窗口", 10).await;
    phone.screenshot("phone-case-ready").await;
    phone.assert_accessible("phone-case-ready").await;
    let kiosk = Browser::start(1280, 1024).await;
    kiosk.open_kiosk(&base).await;
    kiosk.click("#pickup").await;
    kiosk
        .wait("#case-code")
        .await
        .send_keys("123")
        .await
        .unwrap();
    kiosk.click("#case-ok").await;
    kiosk.wait_text("#case-error", "没有这个办件编号", 5).await;
    kiosk.screenshot("kiosk-pickup-unknown").await;
    let input = kiosk.wait("#case-code").await;
    input.clear().await.unwrap();
    input.send_keys(&codes[0]).await.unwrap();
    kiosk.click("#case-ok").await;
    kiosk.wait_text("#ticket-number", "F", 5).await;
    kiosk.wait_text("#ticket-service", "统一发证", 5).await;
    kiosk.screenshot("kiosk-pickup-ticket").await;
    kiosk.assert_accessible("kiosk-pickup-ticket").await;

    // The citizen asks for post instead: the pick-up window's clerk finds
    // the case by its code and records the carrier and tracking number.
    let clerk = Browser::start(1400, 700).await;
    clerk.staff_login(&base, "clerk", "demo-clerk-pass").await;
    clerk
        .wait("#find-code")
        .await
        .send_keys(&codes[0])
        .await
        .unwrap();
    clerk.click("#find-form button").await;
    let row = format!("#found tr[data-case='{}']", codes[0]);
    clerk.wait_text(&row, "待取件", 5).await;
    let shown = clerk
        .client
        .execute(
            "return document.getElementById('list-section').hidden",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, Value::Bool(true), "a clerk has no list of cases");
    assert!(
        clerk
            .client
            .find(Locator::Css(&format!(
                "{row} button[data-action='approve']"
            )))
            .await
            .is_err(),
        "a clerk does not decide"
    );
    clerk
        .click(&format!("{row} button[data-action='express']"))
        .await;
    clerk
        .wait("#change-tracking")
        .await
        .send_keys("9876543210")
        .await
        .unwrap();
    clerk.click("#change-ok").await;
    clerk.wait_text(&format!("{row} .state"), "已送达", 5).await;
    clerk.screenshot("clerk-case-posted").await;
    let t = ticket(&server, &tokens[0]);
    assert_eq!(t["case"]["tracking"].as_str(), Some("9876543210"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_sees_the_case_cards_of_three_weeks_behind_the_counter() {
    // Three weeks of cases up to yesterday, written to the log before the
    // server starts (as the demo does), on the calendar the server keeps
    // with --always-open (Monday to Friday).
    let dir = tempfile::tempdir().unwrap();
    let mut config = hallq_server::config::load_hall(&hallq_tests::demo_hall()).unwrap();
    config.hours = None;
    let day = hallq_demo::DayPattern::demo();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let today = hallq_core::calendar::local(now, config.hall.utc_offset_minutes).0;
    let w = hallq_demo::cases::simulate(
        &config,
        day.cases.as_ref().unwrap(),
        day.tickets_per_day,
        &day.mix,
        today - 21,
        21,
        11,
    )
    .unwrap();
    let mut store = hallq_server::store::SqliteStore::open(&dir.path().join("hall.db")).unwrap();
    hallq_server::store::EventStore::append(
        &mut store,
        &hallq_server::store::Batch {
            records: w.records,
            ..Default::default()
        },
    )
    .unwrap();
    drop(store);
    let server = Server::start(dir.path());
    let manager = login(&server, "manager");
    let (s, _, d) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{HALL}/dashboard"),
        None,
        &with(&manager),
    );
    assert_eq!(s, 200);
    let cards = d["case_cards"].as_array().unwrap();
    assert!(!cards.is_empty(), "open cases with cards: {d}");
    for c in cards {
        let (used, limit) = (
            c["used_days"].as_u64().unwrap(),
            c["limit_days"].as_u64().unwrap(),
        );
        match c["card"].as_str() {
            Some("red") => assert!(used > limit, "{c}"),
            Some("yellow") => assert!(used * 100 >= limit * 80 && used <= limit, "{c}"),
            other => panic!("{other:?}"),
        }
    }
    let all = d["cases"].as_array().unwrap().last().unwrap().clone();
    assert!(all["decided"].as_u64().unwrap() > 100, "{all}");

    let base = format!("http://{}", server.http);
    let b = Browser::start(1400, 1300).await;
    b.staff_login(&base, "manager", "demo-manager-pass").await;
    b.wait_text("#case-report", "市场监管局", 10).await;
    b.wait_text("#case-cards", "工作日", 5).await;
    b.client
        .execute("document.getElementById('cases').scrollIntoView()", vec![])
        .await
        .unwrap();
    b.screenshot("manager-case-cards").await;
    b.assert_accessible("manager-case-cards").await;

    // The day report gives the on-time share per department.
    b.client
        .goto(&format!("{base}/manager/report"))
        .await
        .unwrap();
    let row = b.wait_text("#cases", "市场监管局", 10).await;
    assert!(row.contains('%'), "{row}");
    b.client
        .execute(
            "document.getElementById('cases-section').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    b.screenshot("report-cases").await;
}
