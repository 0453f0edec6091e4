//! The hall manager's dashboard in a real browser (headless Chromium):
//! log in, watch a call arrive live, switch a window's work profile and set
//! the notice from the page, each seen in the window's retained MQTT state
//! and on the `notice` topic. Screenshots in `target/screenshots/`.
//! And the rules of the routes behind it: roles, stale actions, bad bodies.

use fantoccini::Locator;
use hallq_contract::payload::Op;
use hallq_tests::browser::Browser;
use hallq_tests::{HALL, Server, Watcher, topic};

/// Logs in over the API; the session cookie (`name=value`).
fn login(server: &Server, id: &str, password: &str) -> Option<String> {
    server.web_login(id, password)
}

/// Fills the login form and sends it.
async fn log_in(b: &Browser, id: &str, password: &str) {
    b.wait("#login-id").await.send_keys(id).await.unwrap();
    b.wait("#login-password")
        .await
        .send_keys(password)
        .await
        .unwrap();
    b.click("#login-submit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_watches_the_hall_and_rebalances_it_from_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for _ in 0..3 {
        server.take("business");
    }
    server.take("social");
    let base = format!("http://{}", server.http);
    let b = Browser::start(1400, 1100).await;

    // Not logged in: the page sends us to the login form; a wrong password
    // is said so, on the form.
    b.client.goto(&format!("{base}/manager")).await.unwrap();
    b.wait("#login-form").await;
    log_in(&b, "manager", "wrong-password").await;
    b.wait_text("#login-error", "错误", 10).await;
    b.screenshot("manager-login-refused").await;
    let pw = b.wait("#login-password").await;
    pw.clear().await.unwrap();
    pw.send_keys("demo-manager-pass").await.unwrap();
    b.click("#login-submit").await;

    // The dashboard: queues, windows, live.
    b.wait_text("#services", "商事登记", 10).await;
    b.wait_text("#live", "实时", 10).await;
    b.wait_text("#me", "值班经理", 10).await;

    // A call at window 3 appears live (the stream), in the windows table
    // and the live list.
    let mut pad = server.open_pad("3").await;
    let r = pad.send(Op::CallNext { service: None }).await.unwrap();
    let number = r.ticket.unwrap().number;
    b.wait_text("#events", &number, 5).await;
    b.wait_text("tr[data-window='3']", &number, 5).await;
    b.screenshot("manager-dashboard-call").await;

    // Switch window 1's profile from the page: only 社保 (social).
    let mut watch = Watcher::new(
        &server.device("manager"),
        &[
            topic(hallq_contract::Topic::WindowState("1")),
            topic(hallq_contract::Topic::Notice),
        ],
    )
    .await;
    b.click("tr[data-window='1'] .edit-profile").await;
    b.wait("#profile[open]").await;
    for cb in b
        .client
        .find_all(Locator::Css("#profile-services input[type=checkbox]"))
        .await
        .unwrap()
    {
        let value = cb.attr("value").await.unwrap().unwrap_or_default();
        let checked = cb.prop("checked").await.unwrap().as_deref() == Some("true");
        if checked != (value == "social") {
            cb.click().await.unwrap();
        }
    }
    b.wait("#profile-policy")
        .await
        .select_by_value("strict")
        .await
        .unwrap();
    b.screenshot("manager-profile-dialog").await;
    b.click("#profile-save").await;
    b.wait_text("#confirm-text", "社保", 5).await;
    b.click("#confirm-ok").await;
    let state = watch
        .expect(&topic(hallq_contract::Topic::WindowState("1")), |s| {
            s["queues"]
                .as_array()
                .is_some_and(|q| q.len() == 1 && q[0]["service"] == "social")
        })
        .await;
    assert_eq!(state["queues"][0]["service"], "social");
    b.wait_text("tr[data-window='1']", "顺序", 5).await;

    // The notice, from the page to the LED wall's topic.
    b.wait("#notice-text")
        .await
        .send_keys("今日16:30停止取号")
        .await
        .unwrap();
    b.click("#notice-submit").await;
    b.click("#confirm-ok").await;
    watch
        .expect(&topic(hallq_contract::Topic::Notice), |n| {
            n["text"] == "今日16:30停止取号"
        })
        .await;
    b.wait_text("#notice-now", "16:30", 5).await;
    b.wait_text("#banner", "已办", 5).await;
    b.screenshot("manager-dashboard").await;

    // A display comes and goes: the devices list follows live.
    let mut display = std::process::Command::new(hallq_tests::binary("hallq-display"))
        .args(["--port", &server.mqtt.port().to_string()])
        .args(["--password", "demo-led-3-pass", "--window", "3", "--quiet"])
        .spawn()
        .unwrap();
    b.wait_text("#devices", "在线 online · led-3", 10).await;
    let _ = display.kill();
    let _ = display.wait();
    b.wait_text("#devices", "离线 OFFLINE · led-3", 10).await;
    b.wait_text("#events", "led-3", 5).await;

    // The day so far as a report: tables, chart, A4.
    for op in [Op::Start, Op::Finish] {
        assert!(pad.send(op).await.unwrap().ok);
    }
    b.client
        .goto(&format!("{base}/manager/report"))
        .await
        .unwrap();
    b.wait_text("#by-window", "3号窗口", 10).await;
    b.wait_text("#by-service", "商事登记", 10).await;
    b.wait("#chart-hours canvas").await;
    // What the log says: three business tickets today, one served (too
    // quickly to count as a service time: it was started and finished at
    // once), none a no-show.
    let learned = b.wait_text("#learned", "商事登记", 10).await;
    assert!(learned.contains("3.0"), "{learned}");
    assert!(learned.contains("0.0 %"), "{learned}");
    b.wait_text("#learned-note", "1 个服务日", 5).await;
    b.screenshot("manager-report").await;
    b.client
        .execute(
            "document.getElementById('learned').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    b.screenshot("manager-report-learned").await;
    let pdf = b.print_a4("manager-report").await;
    assert!(pdf.starts_with(b"%PDF"));
    let pages = pdf.windows(10).filter(|w| w == b"/Type /Pag").count();
    assert!((1..=3).contains(&pages), "{pages} pages (and /Pages)");
    drop(pad);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_day_report_as_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for _ in 0..2 {
        server.take("social");
    }
    let mut pad = hallq_pad::Pad::connect(&server.device("pad-9"), "9")
        .await
        .unwrap();
    let open = Op::Open {
        clerk: Some("li".into()),
        pin: None,
    };
    let call = || Op::CallNext { service: None };
    hallq_tests::send_all(
        &mut pad,
        [open, call(), Op::Start, Op::Finish, call(), Op::NoShow],
    )
    .await;
    let sup = login(&server, "supervisor", "demo-supervisor-pass").unwrap();
    let cookie = [("Cookie", sup.as_str())];
    let path = format!("/api/v1/halls/{HALL}/reports/day");
    let (status, _, r) = server.http_with("GET", &path, None, &cookie);
    assert_eq!(status, 200, "{r}");
    let li = r["by_clerk"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "li")
        .expect("the clerk li");
    assert_eq!(
        (
            li["tickets"].as_u64(),
            li["served"].as_u64(),
            li["no_shows"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert!(li["idle_s"].as_u64().is_some(), "{li}");
    let social = r["by_service"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "social")
        .unwrap();
    assert_eq!(social["tickets"], 2);
    let date = r["date"].as_str().unwrap().to_owned();
    // CSV: a BOM for Excel, a header, one line per part.
    let (status, head, _) = server.http_with(
        "GET",
        &format!("{path}?date={date}&format=csv"),
        None,
        &cookie,
    );
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-disposition: attachment"),
        "{head}"
    );
    let raw = hallq_tests::http_raw(
        server.http,
        &format!("{path}?date={date}&format=csv"),
        &cookie,
    );
    assert!(raw.starts_with('\u{feff}'), "a BOM");
    let lines: Vec<&str> = raw.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("部分 part,键 key"));
    assert!(
        lines.iter().any(|l| l.starts_with("clerk,li,li,2,1,1,")),
        "{raw}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("service,social,")),
        "{raw}"
    );
    // Another day: nothing, not an error; a bad date: 400; no login: 401.
    let (status, _, empty) =
        server.http_with("GET", &format!("{path}?date=2020-01-01"), None, &cookie);
    assert_eq!(
        (status, empty["totals"]["tickets"].as_u64()),
        (200, Some(0))
    );
    assert_eq!(
        server
            .http_with("GET", &format!("{path}?date=2020-13-01"), None, &cookie)
            .0,
        400
    );
    assert_eq!(server.http_with("GET", &path, None, &[]).0, 401);
}

#[test]
fn roles_logins_and_stale_actions_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let manage = format!("/api/v1/halls/{HALL}/manage");
    let open3 = r#"{"action":"open","window":"3"}"#;
    let post = |body: &str, cookie: Option<&str>| {
        let h: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
        let (status, _, v) = server.http_with("POST", &manage, Some(body), &h);
        (status, v["error"]["code"].as_str().unwrap_or("").to_owned())
    };
    // No login: 401; a page's request gets no Basic challenge.
    assert_eq!(post(open3, None), (401, "unauthorized".into()));
    let (_, head, _) =
        server.http_with("POST", &manage, Some(open3), &[("Sec-Fetch-Mode", "cors")]);
    assert!(
        !head.to_ascii_lowercase().contains("www-authenticate"),
        "{head}"
    );
    assert_eq!(login(&server, "manager", "nope"), None);
    // A supervisor watches but may not act; a clerk may not even watch.
    let sup = login(&server, "supervisor", "demo-supervisor-pass").unwrap();
    assert_eq!(post(open3, Some(&sup)), (403, "forbidden".into()));
    let dash = format!("/api/v1/halls/{HALL}/dashboard");
    assert_eq!(
        server.http_with("GET", &dash, None, &[("Cookie", &sup)]).0,
        200
    );
    let clerk = login(&server, "clerk", "demo-clerk-pass").unwrap();
    assert_eq!(
        server
            .http_with("GET", &dash, None, &[("Cookie", &clerk)])
            .0,
        403
    );
    assert_eq!(server.window("3")["status"], "closed", "nothing changed");

    let mgr = login(&server, "manager", "demo-manager-pass").unwrap();
    // Bad bodies: 400 in the JSON error form.
    for bad in ["", "{", r#"{"action":"explode"}"#, r#"{"action":"open"}"#] {
        assert_eq!(post(bad, Some(&mgr)).0, 400, "{bad}");
    }
    // The page's view of window 3, then someone else opens it: an action on
    // the old view is stale.
    let (_, _, d) = server.http_with("GET", &dash, None, &[("Cookie", &mgr)]);
    let w3 = d["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window"] == "3")
        .unwrap()
        .clone();
    let seen = w3["seq"].as_u64().unwrap();
    assert_eq!(
        post(
            &format!(r#"{{"action":"open","window":"3","seen":{seen}}}"#),
            Some(&mgr)
        )
        .0,
        200
    );
    let profile = format!(
        r#"{{"action":"profile","window":"3","serves":["social"],"policy":"strict","seen":{seen}}}"#
    );
    let (status, code) = post(&profile, Some(&mgr));
    assert_eq!((status, code.as_str()), (409, "stale"));
    assert_eq!(
        server.window("3")["serves"],
        serde_json::json!(["business", "property", "invest"])
    );
    // Logged out: the cookie is dead.
    server.http_with("POST", "/api/v1/logout", None, &[("Cookie", &mgr)]);
    assert_eq!(post(open3, Some(&mgr)).0, 401);
    // Guessing passwords: after ten failures a minute the address is locked
    // out, the right password included.
    for _ in 0..10 {
        assert_eq!(login(&server, "manager", "guess"), None);
    }
    let body = r#"{"id":"manager","password":"demo-manager-pass"}"#;
    let (status, _, e) = server.http_with("POST", "/api/v1/login", Some(body), &[]);
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (429, Some("locked_out"))
    );
}

/// The rebalancing advisor on the dashboard: social's queue is long at its
/// one window while two business windows stand idle; the page says which
/// window to switch and what the hall's simulation predicts, and one click
/// (an ordinary profile change) takes it — seen in the window's state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advisors_word_is_shown_and_taken_with_one_click() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // The queue first, then the windows: the advice the page shows is the
    // one for the whole queue.
    for _ in 0..12 {
        server.take("social");
    }
    let mut pads = Vec::new();
    for w in ["2", "3", "9"] {
        pads.push(server.open_pad(w).await);
    }
    let base = format!("http://{}", server.http);
    let b = Browser::start(1400, 1100).await;
    b.client.goto(&format!("{base}/manager")).await.unwrap();
    log_in(&b, "manager", "demo-manager-pass").await;
    b.wait_text("#services", "社保医保", 10).await;
    // The advisor looks within 10 s of a change (and every minute).
    let text = b.wait_text("#advice-text", "社保医保 优先", 60).await;
    assert!(text.contains("预计平均等候 −"), "{text}");
    let window = if text.contains("2号窗口") {
        "2"
    } else {
        "3"
    };
    assert!(text.contains(&format!("{window}号窗口")), "{text}");
    let detail = b.wait_text("#advice-detail", "→", 5).await;
    assert!(detail.contains("社保医保"), "{detail}");
    b.screenshot("manager-advice").await;

    let mut watch = Watcher::new(
        &server.device("manager"),
        &[topic(hallq_contract::Topic::WindowState(window))],
    )
    .await;
    b.click("#advice-take").await;
    b.wait_text("#confirm-text", "社保医保", 5).await;
    b.click("#confirm-ok").await;
    watch
        .expect(&topic(hallq_contract::Topic::WindowState(window)), |s| {
            s["queues"]
                .as_array()
                .is_some_and(|q| q.first().is_some_and(|x| x["service"] == "social"))
        })
        .await;
    b.wait_text("#banner", "已办", 5).await;
    b.wait_text(&format!("tr[data-window='{window}']"), "顺序", 5)
        .await;
    drop(pads);
}

/// `[advisor] auto = true`: the advisor makes its change itself (as
/// `advisor`, within its bounds) — the idle business window takes social's
/// long queue first, seen in its retained state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advisor_in_automatic_mode_makes_the_change_itself() {
    let dir = tempfile::tempdir().unwrap();
    let hall = dir.path().join("hall.toml");
    let text = std::fs::read_to_string(hallq_tests::demo_hall()).unwrap();
    std::fs::write(
        &hall,
        format!("{text}\n[advisor]\nauto = true\nchanges_per_hour = 1\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start_hall(&hall, &data, &[]);
    for _ in 0..12 {
        server.take("social");
    }
    let mut watch = Watcher::new(
        &server.device("manager"),
        &[
            topic(hallq_contract::Topic::WindowState("2")),
            topic(hallq_contract::Topic::WindowState("3")),
        ],
    )
    .await;
    let mut pads = Vec::new();
    for w in ["2", "3", "9"] {
        pads.push(server.open_pad(w).await);
    }
    // Within the advisor's next look (10 s after the hall moved).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(40);
    let mut changed = None;
    while changed.is_none() && tokio::time::Instant::now() < deadline {
        for (t, s) in watch.drain(std::time::Duration::from_millis(500)).await {
            let first = s["queues"]
                .as_array()
                .and_then(|q| q.first())
                .map(|q| q["service"].clone());
            if first == Some("social".into()) {
                changed = Some(t);
            }
        }
    }
    let changed = changed.expect("the advisor changed a window within 40 s");
    assert!(changed.ends_with("/window/2/state") || changed.ends_with("/window/3/state"));
    // One change an hour at most: the other business window stays as it was.
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    let windows = server.hall()["windows"].clone();
    let social_first = windows
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["window"] == "2" || w["window"] == "3")
        .filter(|w| w["serves"].as_array().and_then(|s| s.first()) == Some(&"social".into()))
        .count();
    assert_eq!(social_first, 1, "one advised window: {windows}");
    drop(pads);
}
