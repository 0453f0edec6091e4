//! What citizens touch, in a real browser (headless Chromium): the kiosk
//! takes a ticket and prints it (ESC/POS to a file: read back, QR decoded
//! in the server's unit tests), the phone page opened from the ticket's
//! URL follows it live, the hall screen calls it, the phone page rates it.
//! Screenshots in `target/screenshots/`.

use std::path::Path;

use fantoccini::Locator;
use hallq_contract::payload::Op;
use hallq_tests::browser::Browser;
use hallq_tests::{Server, demo_hall, send_all};

/// The demo hall with kiosk-1's printer writing to `printer`.
fn hall_with_printer(dir: &Path, printer: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(demo_hall()).unwrap();
    let text = text.replace(
        "id = \"kiosk-1\"\nrole = \"kiosk\"\n",
        &format!(
            "id = \"kiosk-1\"\nrole = \"kiosk\"\nprinter = \"file:{}\"\n",
            printer.display()
        ),
    );
    assert!(
        text.contains("printer = "),
        "the demo hall's kiosk block moved"
    );
    let path = dir.join("hall.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_takes_a_ticket_follows_it_on_the_phone_and_rates_it() {
    let dir = tempfile::tempdir().unwrap();
    let printer = dir.path().join("printer.bin");
    let hall = hall_with_printer(dir.path(), &printer);
    let server = Server::start_hall(&hall, &dir.path().join("data"), &[]);
    let base = format!("http://{}", server.http);

    // The hall screen on a 1920×1080 TV.
    let tv = Browser::start(1920, 1080).await;
    tv.client.goto(&format!("{base}/screen")).await.unwrap();
    tv.wait_text("#hall-name", "许昌市民之家", 10).await;
    tv.wait_text("#queues", "商事登记", 10).await;

    // The kiosk: its staff logs it in once; a citizen picks a service, sees
    // the materials, takes the ticket; it is printed.
    let kiosk = Browser::start(1280, 1024).await;
    kiosk.client.goto(&format!("{base}/kiosk")).await.unwrap();
    kiosk.wait("#setup[open]").await;
    kiosk
        .wait("#setup-password")
        .await
        .send_keys("demo-kiosk-1-pass")
        .await
        .unwrap();
    kiosk.click("#setup-ok").await;
    kiosk.wait_text("#zones", "商事登记", 10).await;
    kiosk.screenshot("kiosk-services").await;
    kiosk.assert_accessible("kiosk-services").await;
    kiosk.click("button[data-service='business']").await;
    kiosk.wait_text("#service-materials", "公司章程", 5).await;
    kiosk.screenshot("kiosk-materials").await;
    kiosk.assert_accessible("kiosk-materials").await;
    kiosk.click("#take").await;
    let number = kiosk.wait_text("#ticket-number", "A", 10).await;
    kiosk.wait_text("#ticket-print", "凭条", 5).await;
    kiosk.screenshot("kiosk-ticket").await;
    kiosk.assert_accessible("kiosk-ticket").await;
    let url = kiosk
        .wait("#ticket-link")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(url.contains("/t/"), "{url}");
    kiosk.click("#ticket-ok").await;
    let printed = std::fs::read(&printer).expect("the ticket was printed");
    let (text, _, _) = encoding_rs::GB18030.decode(&printed);
    assert!(
        text.contains(&number) && text.contains("商事登记"),
        "{text}"
    );

    // A bad ID number: said on the kiosk, no ticket.
    kiosk.click("button[data-service='business']").await;
    kiosk
        .wait("#id-number")
        .await
        .send_keys("12345")
        .await
        .unwrap();
    kiosk.click("#take").await;
    kiosk.wait_text("#service-error", "身份证号", 5).await;
    kiosk.assert_accessible("kiosk-error").await;
    kiosk.click("#service-cancel").await;

    // The phone page from the printed URL, on a phone-sized screen.
    let phone = Browser::phone(390, 844, 100).await;
    phone.client.goto(&url).await.unwrap();
    phone.wait_text("#number", &number, 10).await;
    phone.wait_text("#status", "前面还有 0 人", 10).await;
    phone.wait_text("#live", "实时", 10).await;
    phone.screenshot("phone-waiting").await;
    phone.assert_accessible("phone-waiting").await;

    phone
        .client
        .execute(
            "window.buzz = []; navigator.vibrate = (p) => { window.buzz.push(p); return true; };",
            vec![],
        )
        .await
        .unwrap();
    // A clerk calls it: the TV shows it large, the phone says where to go.
    let mut pad = server.open_pad("3").await;
    send_all(&mut pad, [Op::CallNext { service: None }]).await;
    tv.wait_text("#newest-number", &number, 5).await;
    let cover = tv.wait("#offline").await;
    assert!(
        cover.attr("hidden").await.unwrap().is_some(),
        "no 离线 cover while live"
    );
    assert!(!cover.is_displayed().await.unwrap());
    tv.wait_text("#newest-where", "3号窗口", 5).await;
    tv.screenshot("screen-call").await;
    tv.assert_accessible_aaa("screen-call").await;
    phone.wait_text("#status", "请到 3号窗口 办理", 5).await;
    // Said at once to a screen reader (the live region), and felt and seen.
    let said = phone
        .client
        .execute(
            "return document.getElementById('announce').textContent",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(said, serde_json::json!("轮到您了，请到 3号窗口"));
    let buzz = phone
        .client
        .execute("return window.buzz.length", vec![])
        .await
        .unwrap();
    assert_eq!(
        buzz,
        serde_json::json!(1),
        "the phone vibrates once for the call"
    );
    phone.screenshot("phone-called").await;
    phone.assert_accessible("phone-called").await;

    // Served and finished: the phone asks for a rating, and takes it once.
    send_all(&mut pad, [Op::Start, Op::Finish]).await;
    phone.wait("#rating button[data-score='5']").await;
    phone.screenshot("phone-rate").await;
    phone.assert_accessible("phone-rate").await;
    phone.click("#rating button[data-score='5']").await;
    phone.wait_text("#status", "您的评价：5 分", 5).await;
    assert_eq!(
        phone
            .client
            .find_all(Locator::Css("#rating"))
            .await
            .unwrap()
            .len(),
        0
    );

    // English on the toggle.
    phone.click("button.lang").await;
    phone.wait_text("#status", "Your rating: 5/5", 5).await;
    phone.screenshot("phone-rated-en").await;
    phone.assert_accessible("phone-rated-en").await;

    // The same page with the phone's text at 200 %: still all there.
    let big = Browser::phone(390, 844, 100).await;
    big.client.goto(&url).await.unwrap();
    big.client
        .execute("document.documentElement.style.fontSize = '200%'", vec![])
        .await
        .unwrap();
    big.wait_text("#status", "您的评价", 10).await;
    let overflow = big
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        serde_json::json!(false),
        "no sideways scrolling with large text"
    );
    big.screenshot("phone-large-text").await;

    // An unknown id: a friendly page, not an error (in the language the
    // citizen chose, which the phone keeps).
    phone
        .client
        .goto(&format!("{base}/t/not-a-ticket"))
        .await
        .unwrap();
    phone.wait_text("#main", "Ticket not found", 10).await;
    phone.click("button.lang").await;
    phone.wait_text("#main", "找不到这张号", 5).await;
    phone.screenshot("phone-unknown").await;
    phone.assert_accessible("phone-unknown").await;

    // The server goes: the TV says 离线.
    drop(pad);
    server.kill9();
    tv.wait_text("#offline", "离线", 10).await;
    assert!(
        tv.wait("#offline").await.is_displayed().await.unwrap(),
        "the 离线 cover is shown"
    );
    tv.screenshot("screen-offline").await;
}

/// Booking on the web, cancelling, booking again, checking in at the kiosk
/// with the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_books_cancels_books_again_and_checks_in_at_the_kiosk() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let base = format!("http://{}", server.http);
    let phone = Browser::phone(390, 844, 100).await;
    phone.client.goto(&format!("{base}/book")).await.unwrap();
    phone.wait_text("#hall-name", "许昌市民之家", 10).await;
    phone.wait("#service option[value='social']").await;
    phone
        .wait("#service")
        .await
        .select_by_value("social")
        .await
        .unwrap();
    // Today's next slot is within the check-in window (30 min); after the
    // last slot of the day, tomorrow's first.
    let today_has_slots = {
        let mut found = false;
        for _ in 0..50 {
            if phone
                .client
                .find(Locator::Css("#slots button:not([disabled])"))
                .await
                .is_ok()
            {
                found = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        found
    };
    if !today_has_slots {
        phone.wait("#date").await.select_by_index(1).await.unwrap();
    }
    phone.click("#slots button:not([disabled])").await;
    phone
        .wait("#id-number")
        .await
        .send_keys("41100219800101123X")
        .await
        .unwrap();
    phone.click("#book").await;
    let code = phone.wait_some_text("#code").await;
    phone.wait_text("#when", "社保", 5).await;
    phone.screenshot("book-done").await;
    phone.assert_accessible("book-done").await;
    phone.click("#cancel").await;
    phone.wait_text("#when", "已取消", 5).await;
    let (_, _, b) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{}/bookings/{code}", hallq_tests::HALL),
        None,
        &[],
    );
    assert_eq!(b["state"], "cancelled");

    // Again, then at the kiosk with the code.
    phone.click("#slots button:not([disabled])").await;
    phone.click("#book").await;
    let code2 = loop {
        let c = phone.wait("#code").await.text().await.unwrap();
        if c != code && !c.is_empty() {
            break c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let kiosk = Browser::start(1280, 1024).await;
    kiosk.open_kiosk(&base).await;
    kiosk.click("#checkin").await;
    kiosk
        .wait("#booking-code")
        .await
        .send_keys(&code2)
        .await
        .unwrap();
    kiosk.click("#booking-ok").await;
    // A slot within the check-in window (today's next, or tomorrow's first
    // when the test runs just before midnight in an always-open hall):
    // checked in. Tomorrow's first far ahead: refused, and said so.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (ticket, error) = loop {
        let text = |css: &'static str| {
            let k = &kiosk;
            async move {
                match k.client.find(fantoccini::Locator::Css(css)).await {
                    Ok(e) => e.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                }
            }
        };
        let (t, e) = (text("#ticket-number").await, text("#booking-error").await);
        if !t.trim().is_empty() || !e.trim().is_empty() {
            break (t, e);
        }
        assert!(
            std::time::Instant::now() < until,
            "the kiosk shows neither a ticket nor why not"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    if today_has_slots {
        assert!(
            !ticket.trim().is_empty(),
            "today's booking refused: {error}"
        );
    }
    if !ticket.trim().is_empty() {
        kiosk.wait_text("#ticket-service", "社保", 5).await;
        kiosk.screenshot("kiosk-checked-in").await;
    } else {
        kiosk.screenshot("kiosk-check-in-refused").await;
    }
}

/// A kiosk whose printer is off: the ticket is taken all the same and the
/// answer says the printer failed, for the kiosk to show.
#[test]
fn an_offline_printer_is_reported_and_the_ticket_still_taken() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let text = std::fs::read_to_string(demo_hall()).unwrap().replace(
        "id = \"kiosk-1\"\nrole = \"kiosk\"\n",
        &format!("id = \"kiosk-1\"\nrole = \"kiosk\"\nprinter = \"tcp:{closed}\"\npaper_mm = 80\n"),
    );
    let hall = dir.path().join("hall.toml");
    std::fs::write(&hall, text).unwrap();
    let server = Server::start_hall(&hall, &dir.path().join("data"), &[]);
    let t = server.take("social");
    assert_eq!(t["number"], "D001");
    assert_eq!(t["print"]["ok"], false);
    assert!(
        t["print"]["error"].as_str().unwrap().contains("打印机"),
        "{t}"
    );
}

/// The kiosk with the keyboard alone (a kiosk may have a keypad): Tab to a
/// service, Enter, Tab to 取号, Enter — a ticket; the focus is visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyboard_alone_takes_a_ticket_at_the_kiosk() {
    use fantoccini::key::Key;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let kiosk = Browser::start(1280, 1024).await;
    kiosk.open_kiosk(&format!("http://{}", server.http)).await;
    let active = |what: &'static str| {
        let c = kiosk.client.clone();
        async move {
            c.execute(
                &format!("const a = document.activeElement; return a ? ({what}) : null;"),
                vec![],
            )
            .await
            .unwrap()
        }
    };
    let press = |key: Key| {
        let c = kiosk.client.clone();
        async move {
            c.active_element()
                .await
                .unwrap()
                .send_keys(&key.to_string())
                .await
                .unwrap();
        }
    };
    // The voice kiosk: the browser's speech, recorded here instead of heard.
    kiosk
        .client
        .execute(
            "window.said = []; speechSynthesis.speak = (u) => window.said.push(u.text); speechSynthesis.cancel = () => {};",
            vec![],
        )
        .await
        .unwrap();
    kiosk.click("#voice").await;
    assert_eq!(
        kiosk
            .wait("#voice")
            .await
            .attr("aria-pressed")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    let mut reached = false;
    for _ in 0..40 {
        press(Key::Tab).await;
        if active("a.dataset.service || ''").await == serde_json::json!("social") {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches the service");
    assert_eq!(
        active("getComputedStyle(a).outlineStyle").await,
        serde_json::json!("solid"),
        "the focus is visible"
    );
    press(Key::Enter).await;
    kiosk.wait("#service[open]").await;
    let mut on_take = false;
    for _ in 0..20 {
        if active("a.id").await == serde_json::json!("take") {
            on_take = true;
            break;
        }
        press(Key::Tab).await;
    }
    assert!(on_take, "Tab reaches 取号");
    press(Key::Enter).await;
    let number = kiosk.wait_some_text("#ticket-number").await;
    assert!(number.starts_with('D'), "{number}");
    let said = kiosk
        .client
        .execute("return window.said", vec![])
        .await
        .unwrap();
    let said: Vec<String> = serde_json::from_value(said).unwrap();
    assert!(said[0].starts_with("语音已打开"), "{said:?}");
    assert!(
        said.iter()
            .any(|s| s.contains("社保医保") && s.contains("身份证")),
        "materials read: {said:?}"
    );
    assert!(
        said.iter().any(|s| s.contains("您的号码是 D")),
        "the number read: {said:?}"
    );
    kiosk.screenshot("kiosk-keyboard-ticket").await;
}

/// The accessibility check can fail: an image without a text alternative
/// on the phone page is named by its rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accessibility_check_names_a_violation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let phone = Browser::phone(390, 844, 100).await;
    phone
        .client
        .goto(&format!("http://{}/t/none", server.http))
        .await
        .unwrap();
    phone.wait_text("#main", "找不到这张号", 10).await;
    phone.assert_accessible("phone-unknown-clean").await;
    phone
        .client
        .execute(
            "const i = document.createElement('img'); i.src = 'x.png'; document.body.append(i);",
            vec![],
        )
        .await
        .unwrap();
    let failed =
        tokio::spawn(async move { phone.assert_accessible("phone-with-a-bad-image").await }).await;
    let panic = failed.expect_err("the check fails").into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("image-alt"), "{message}");
}
