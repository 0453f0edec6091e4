//! The hall's LED wall and the manager's notice: set over HTTP, kept in the
//! log, published retained, shown by the wall with the last calls and the
//! queues; the wall program writing its picture to a PNG and a framebuffer.

use std::time::Duration;

use hallq_contract::payload::Op;
use hallq_display::{Frame, WallModel};
use hallq_render::Wall;
use hallq_tests::{HALL, MANAGER, Server};

fn set_notice(server: &Server, body: &str, auth: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let path = format!("/api/v1/halls/{HALL}/notice");
    let (status, _, v) = server.http_with("PUT", &path, Some(body), auth);
    (status, v)
}

fn notice(server: &Server) -> String {
    let (status, v) = server.http("GET", &format!("/api/v1/halls/{HALL}/notice"), None);
    assert_eq!(status, 200, "{v}");
    v["text"].as_str().unwrap().to_owned()
}

#[test]
fn the_manager_sets_the_notice_and_nobody_else_can() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(notice(&server), "", "no notice at first");
    let (status, v) = set_notice(&server, r#"{"text":"今日16:30停止取号"}"#, &[MANAGER]);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["text"], "今日16:30停止取号");
    assert_eq!(notice(&server), "今日16:30停止取号");

    // Refused, and nothing changes: no login, a wrong one, too long, a
    // control character, not JSON.
    let wrong = ("Authorization", "Basic bWFuYWdlcjp3cm9uZw==");
    for (body, auth, want) in [
        (r#"{"text":"x"}"#.to_owned(), vec![], 401),
        (r#"{"text":"x"}"#.to_owned(), vec![wrong], 401),
        (
            format!(r#"{{"text":"{}"}}"#, "长".repeat(201)),
            vec![MANAGER],
            409,
        ),
        (r#"{"text":"a\nb"}"#.to_owned(), vec![MANAGER], 409),
        ("text=x".to_owned(), vec![MANAGER], 400),
    ] {
        let (status, v) = set_notice(&server, &body, &auth);
        assert_eq!(status, want, "{body}: {v}");
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    assert_eq!(notice(&server), "今日16:30停止取号");

    // Kept in the log: after a crash it is still there.
    let server = server.crash_and_restart();
    assert_eq!(notice(&server), "今日16:30停止取号");
    // Cleared with an empty text.
    assert_eq!(set_notice(&server, r#"{"text":""}"#, &[MANAGER]).0, 200);
    assert_eq!(notice(&server), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_shows_calls_queues_and_the_notice() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for _ in 0..3 {
        server.take("business");
    }
    let mut pad = server.open_pad("3").await;
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);

    let (tx, mut walls) = tokio::sync::mpsc::unbounded_channel::<(Wall, usize)>();
    let login = server.device("led-wall");
    let presence = hallq_client::Presence {
        role: "display",
        window: None,
    };
    tokio::spawn(hallq_display::follow::<_, hallq_render::Rgb888>(
        login,
        presence,
        WallModel::new(),
        (256, 64),
        Duration::from_secs(15),
        move |fb, frame, _, m: &WallModel| {
            if frame == Frame::Changed {
                let _ = tx.send((m.wall(), fb.lit()));
            }
        },
    ));
    let mut until = async |what: &str, ok: &dyn Fn(&Wall) -> bool| -> Wall {
        loop {
            let (wall, lit) = tokio::time::timeout(Duration::from_secs(5), walls.recv())
                .await
                .unwrap_or_else(|_| panic!("the wall never showed {what}"))
                .unwrap();
            if ok(&wall) {
                assert!(lit > 200, "the wall is lit");
                return wall;
            }
        }
    };
    // Started after the call: the retained window state seeds the list.
    let w = until("A001 at window 3", &|w| {
        w.calls.first().is_some_and(|c| c.number == "A001")
    })
    .await;
    assert_eq!(w.calls[0].window_name, "3号窗口");
    // Queues from metrics, by the service's name from the layout.
    let w = until("2 waiting for business", &|w| {
        w.queues.iter().any(|q| q.waiting == 2)
    })
    .await;
    assert!(w.queues.iter().all(|q| !q.service_name.is_empty()));
    let business = w.queues.iter().find(|q| q.waiting == 2).unwrap();
    assert_ne!(
        business.service_name, "business",
        "named from the layout: {w:?}"
    );

    // A live call goes on top; the one before moves down.
    for op in [Op::Start, Op::Finish, Op::CallNext { service: None }] {
        assert!(pad.send(op).await.unwrap().ok);
    }
    let w = until("A002 on top", &|w| {
        w.calls.first().is_some_and(|c| c.number == "A002")
    })
    .await;
    assert_eq!(w.calls[1].number, "A001");

    // The manager's notice reaches the wall.
    let (status, v) = set_notice(
        &server,
        r#"{"text":"请带好身份证 Bring your ID"}"#,
        &[MANAGER],
    );
    assert_eq!(status, 200, "{v}");
    until("the notice", &|w| w.notice == "请带好身份证 Bring your ID").await;
}

/// The program as installed: `hallq-display --wall` in colour, writing a
/// PNG and a framebuffer (a plain file with the geometry given).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_program_draws_to_png_and_framebuffer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    let mut pad = server.open_pad("3").await;
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);
    let png = dir.path().join("wall.png");
    let fb = dir.path().join("fb0");
    std::fs::write(&fb, []).unwrap();
    let mut wall = std::process::Command::new(hallq_tests::binary("hallq-display"))
        .args(["--port", &server.mqtt.port().to_string()])
        .args(["--password", "demo-wall-pass", "--wall", "--quiet"])
        .args(["--size", "p10:8x4", "--colors", "rgb"])
        .args(["--fb-geometry", "512x128@16", "--fb"])
        .arg(&fb)
        .arg("--png")
        .arg(&png)
        .spawn()
        .unwrap();
    // 256×64 LEDs doubled on 512×128: the red bar of the newest call at the
    // top left, RGB565 little-endian, once the call is on the wall (the
    // first frames may come before the window's retained state).
    let red_at_top_left = || {
        let bytes = std::fs::read(&fb).unwrap_or_default();
        bytes.len() == 512 * 128 * 2 && {
            let px = u16::from_le_bytes([bytes[(2 * 512 + 2) * 2], bytes[(2 * 512 + 2) * 2 + 1]]);
            px >> 11 == 31
        }
    };
    let mut drawn = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if png.exists() && red_at_top_left() {
            drawn = true;
            break;
        }
    }
    let _ = wall.kill();
    let _ = wall.wait();
    assert!(
        drawn,
        "the wall wrote its PNG and a framebuffer frame with the call's red bar"
    );
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}
