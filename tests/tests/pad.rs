//! The clerk's pad against the real server: its model follows the window's
//! retained state, a double press is one command, a dropped connection
//! sends nothing and resyncs when back; the full-screen pad in a real
//! terminal (tmux) shows the call one key made.

use std::process::Command;
use std::time::Duration;

use hallq_contract::WindowStatus;
use hallq_contract::payload::Op;
use hallq_pad::model::{Notice, PadModel};
use hallq_pad::session::{self, PadHandle};
use hallq_tests::{Server, binary};

/// Waits until the model satisfies `want` (5 s).
async fn until(h: &mut PadHandle, what: &str, want: impl Fn(&PadModel) -> bool) -> PadModel {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        {
            let m = h.model.borrow_and_update();
            if want(&m) {
                return m.clone();
            }
        }
        if tokio::time::timeout_at(deadline, h.model.changed())
            .await
            .is_err()
        {
            panic!("{what}: not within 5 s; model {:?}", h.model.borrow());
        }
    }
}

fn status(m: &PadModel) -> Option<WindowStatus> {
    m.state.as_ref().map(|s| s.status)
}

fn number(m: &PadModel) -> Option<String> {
    m.state.as_ref()?.ticket.as_ref().map(|t| t.number.clone())
}

/// The full-screen pad drawn from a model, as text (wide characters' second
/// cells dropped).
fn render(m: &PadModel) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 16)).unwrap();
    t.draw(|f| hallq_pad::tui::draw(f, m, &hallq_pad::tui::Ui::default(), 0))
        .unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out.replace(' ', "")
}

fn idle(m: &PadModel) -> bool {
    m.in_flight.is_none()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_served_with_a_double_press_and_a_hold_called_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for _ in 0..3 {
        server.take("business");
    }
    let mut pad = session::spawn(&server.device("pad-3"), "3");
    until(&mut pad, "online with the window's state", |m| {
        m.connected && status(m) == Some(WindowStatus::Closed)
    })
    .await;
    pad.buttons
        .send(Op::Open {
            clerk: Some("zhang".into()),
            pin: None,
        })
        .unwrap();
    until(&mut pad, "open", |m| {
        status(m) == Some(WindowStatus::Idle) && idle(m)
    })
    .await;

    // A double press of call-next: one call.
    pad.buttons.send(Op::CallNext { service: None }).unwrap();
    pad.buttons.send(Op::CallNext { service: None }).unwrap();
    let m = until(&mut pad, "called", |m| number(m).is_some() && idle(m)).await;
    assert_eq!(number(&m).as_deref(), Some("A001"));
    let queue = server.hall()["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "business")
        .unwrap()["waiting"]
        .clone();
    assert_eq!(queue, 2, "the second press called nobody");

    // Hold A001, serve A002, call A001 back by number.
    pad.buttons.send(Op::Hold).unwrap();
    let m = until(&mut pad, "held", |m| {
        status(m) == Some(WindowStatus::Idle) && idle(m)
    })
    .await;
    assert_eq!(
        m.state.unwrap().held,
        ["A001"],
        "the pad sees what it holds"
    );
    assert!(
        m.layout.is_some(),
        "and the hall's layout, for transfer targets"
    );
    pad.buttons.send(Op::CallNext { service: None }).unwrap();
    until(&mut pad, "A002", |m| {
        number(m).as_deref() == Some("A002") && idle(m)
    })
    .await;
    pad.buttons.send(Op::Start).unwrap();
    until(&mut pad, "serving", |m| {
        status(m) == Some(WindowStatus::Serving) && idle(m)
    })
    .await;
    // Start again makes no sense while serving: refused on the pad.
    pad.buttons.send(Op::Start).unwrap();
    let m = until(&mut pad, "refused", |m| {
        matches!(m.notice, Some(Notice::Refused(_)))
    })
    .await;
    assert!(m.in_flight.is_none());
    pad.buttons.send(Op::Finish).unwrap();
    until(&mut pad, "finished", |m| {
        status(m) == Some(WindowStatus::Idle) && idle(m)
    })
    .await;
    pad.buttons
        .send(Op::Call {
            ticket: "A001".into(),
            reason: None,
        })
        .unwrap();
    until(&mut pad, "A001 back", |m| {
        number(m).as_deref() == Some("A001") && idle(m)
    })
    .await;

    // Pause and resume; a change made elsewhere (another pad of the window)
    // shows on this one.
    pad.buttons.send(Op::Start).unwrap();
    until(&mut pad, "serving A001", |m| {
        status(m) == Some(WindowStatus::Serving) && idle(m)
    })
    .await;
    pad.buttons.send(Op::Finish).unwrap();
    let m = until(&mut pad, "done", |m| {
        status(m) == Some(WindowStatus::Idle) && idle(m)
    })
    .await;
    // The clerk's day so far, and the window's queues, on the pad.
    let state = m.state.unwrap();
    let today = state.clerk_today.expect("the clerk's figures");
    assert_eq!(today.served, 2, "A002 and A001 finished by zhang");
    assert_eq!(state.queues.len(), 3, "window 3 serves three services");
    assert_eq!(state.queues[0].name, "商事登记");
    assert_eq!(state.queues[0].waiting, 1, "A003 waits");

    // A003 is called, then handed on to window 6 (首问负责 stays with zhang);
    // the screen, drawn from the live model, shows each step.
    pad.buttons.send(Op::CallNext { service: None }).unwrap();
    let m = until(&mut pad, "A003", |m| {
        number(m).as_deref() == Some("A003") && idle(m)
    })
    .await;
    let screen = render(&m);
    assert!(
        screen.contains("A003") && screen.contains("叫号中"),
        "{screen}"
    );
    pad.buttons
        .send(Op::Transfer {
            to_service: None,
            to_window: Some("6".into()),
            note: Some("买房过户".into()),
        })
        .unwrap();
    let m = until(&mut pad, "transferred", |m| {
        status(m) == Some(WindowStatus::Idle) && idle(m)
    })
    .await;
    assert!(render(&m).contains("✓"), "{}", render(&m));
    let w6 = server.window("6");
    assert_eq!(w6["waiting"], 1, "A003 waits at window 6: {w6}");

    let mut other = hallq_pad::Pad::connect(&server.device("pad-3"), "3")
        .await
        .unwrap();
    assert!(
        other
            .send(Op::Pause {
                reason: "午休".into()
            })
            .await
            .unwrap()
            .ok
    );
    let m = until(&mut pad, "paused elsewhere", |m| {
        status(m) == Some(WindowStatus::Paused)
    })
    .await;
    assert_eq!(m.state.unwrap().pause_reason.as_deref(), Some("午休"));
    pad.buttons.send(Op::Resume).unwrap();
    until(&mut pad, "resumed", |m| {
        status(m) == Some(WindowStatus::Idle) && idle(m)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_sends_nothing_and_resyncs_when_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    server.take("business");
    let mut pad = session::spawn(&server.device("pad-3"), "3");
    until(&mut pad, "online", |m| m.connected && m.state.is_some()).await;
    pad.buttons
        .send(Op::Open {
            clerk: None,
            pin: None,
        })
        .unwrap();
    until(&mut pad, "open", |m| {
        status(m) == Some(WindowStatus::Idle) && idle(m)
    })
    .await;

    let (hall, data, http, mqtt) = (
        server.hall.clone(),
        server.data.clone(),
        server.http,
        server.mqtt,
    );
    server.kill9();
    until(&mut pad, "offline", |m| !m.connected).await;
    pad.buttons.send(Op::CallNext { service: None }).unwrap();
    let m = until(&mut pad, "refused offline", |m| {
        matches!(m.notice, Some(Notice::Refused(_)))
    })
    .await;
    assert!(m.in_flight.is_none(), "nothing waits to be sent");

    let server = Server::start_again(&hall, &data, http, mqtt);
    until(&mut pad, "back online", |m| m.connected).await;
    // Nothing was called while it was down.
    assert_eq!(server.take("business")["ahead"], 2);
    pad.buttons.send(Op::CallNext { service: None }).unwrap();
    let m = until(&mut pad, "called after the restart", |m| {
        number(m).is_some() && idle(m)
    })
    .await;
    assert_eq!(number(&m).as_deref(), Some("A001"));
    let w3 = server.window("3");
    assert_eq!(w3["ticket"], "A001", "the server agrees with the pad");
}

/// tmux's pane, as text.
fn pane(session: &str) -> String {
    let out = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", session])
        .output()
        .expect("tmux (apt-get install tmux)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_screen_pad_in_a_terminal_calls_with_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    let session = format!("hallq-pad-{}", std::process::id());
    let cmd = format!(
        "{} --port {} --window 3 --password demo-pad-3-pass",
        binary("hallq-pad").display(),
        server.mqtt.port()
    );
    let ok = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "100",
            "-y",
            "20",
            &cmd,
        ])
        .env("LANG", "C.UTF-8")
        .status()
        .expect("tmux (apt-get install tmux)");
    assert!(ok.success());
    let keys = |k: &[&str]| {
        Command::new("tmux")
            .args(["send-keys", "-t", &session])
            .args(k)
            .status()
            .unwrap();
    };
    let wait_for = |want: &str| {
        for _ in 0..50 {
            let p = pane(&session);
            if p.replace(' ', "").contains(want) {
                return p;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{want} not on the screen:\n{}", pane(&session));
    };
    wait_for("在线");
    keys(&["o"]);
    wait_for("clerkid");
    keys(&["zhang", "Enter"]);
    wait_for("工号zhang");
    keys(&["n"]);
    let screen = wait_for("A001");
    keys(&["q"]);
    // The pad has quit, and its session with it; this is for a failed run.
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .stderr(std::process::Stdio::null())
        .status();
    assert!(screen.replace(' ', "").contains("叫号中"), "{screen}");
    let w3 = server.window("3");
    assert_eq!(w3["ticket"], "A001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_opens_only_with_a_listed_clerk_and_the_right_pin() {
    let dir = tempfile::tempdir().unwrap();
    let hall = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/staffed.toml");
    let server = Server::start_hall(&hall, dir.path(), &[]);
    let login = server.login("pad-1", "test-pad-1-secret");
    let mut pad = hallq_pad::Pad::connect(&login, "1").await.unwrap();
    let open = |clerk: Option<&str>, pin: Option<&str>| Op::Open {
        clerk: clerk.map(Into::into),
        pin: pin.map(Into::into),
    };
    let code = |r: hallq_contract::Reply| r.error.map(|e| e.code).unwrap_or_default();
    assert_eq!(
        code(pad.send(open(Some("zhang"), None)).await.unwrap()),
        "pin_required"
    );
    assert_eq!(
        code(pad.send(open(Some("zhang"), Some("0000"))).await.unwrap()),
        "bad_pin"
    );
    assert_eq!(
        code(pad.send(open(Some("li"), Some("Q7x9zz"))).await.unwrap()),
        "bad_pin"
    );
    let ok = pad.send(open(Some("zhang"), Some("Q7x9zz"))).await.unwrap();
    assert!(ok.ok, "{ok:?}");
    let w1 = server.window("1");
    assert_eq!(
        (w1["status"].as_str(), w1["clerk"].as_str()),
        (Some("idle"), Some("zhang"))
    );
    // The PIN is nowhere in the log.
    for f in ["hall.db", "hall.db-wal"] {
        let bytes = std::fs::read(dir.path().join(f)).unwrap_or_default();
        assert!(
            !bytes.windows(6).any(|w| w == b"Q7x9zz"),
            "the PIN is in {f}"
        );
    }
    // Five wrong PINs at window 2 lock its logins, the right PIN too.
    let mut pad2 = hallq_pad::Pad::connect(&server.login("pad-2", "test-pad-2-secret"), "2")
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            code(pad2.send(open(Some("zhang"), Some("1111"))).await.unwrap()),
            "bad_pin"
        );
    }
    assert_eq!(
        code(
            pad2.send(open(Some("zhang"), Some("Q7x9zz")))
                .await
                .unwrap()
        ),
        "pin_locked"
    );
}
