//! The display firmware on a host board against the real server's broker:
//! its own MQTT client (rust-mqtt) over a real TCP socket, its renderer on
//! an in-memory panel. The picture after calls, after the broker restarts,
//! and after the firmware itself restarts; its will when the plug is pulled.

use std::time::Duration;

use hallq_contract::payload::Op;
use hallq_contract::{WindowState, WindowStatus};
use hallq_render::{BLINK_MS, Framebuffer, Sign, draw_sign};
use hallq_tests::host_board::{HostBoard, SharedPanel};
use hallq_tests::{HALL, Server};

/// The steady picture of window 3 calling `number`.
fn calling(number: &str) -> Framebuffer {
    let state = WindowState::shown("3", "3号窗口", WindowStatus::Calling, Some(number));

    let mut fb = Framebuffer::new(128, 32);
    draw_sign(&mut fb, Sign::State(&state), BLINK_MS).unwrap();
    fb
}

/// Waits until the panel shows `want` (the blink is over within 4 s).
async fn shows(panel: &SharedPanel, want: &Framebuffer, what: &str) {
    for _ in 0..200 {
        if panel.picture() == *want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the firmware's panel does not show {what}:\n{}",
        panel.picture().to_halfblocks()
    );
}

fn online(server: &Server) -> serde_json::Value {
    server.hall()["devices"]["led-3"]["online"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_firmware_follows_its_window_through_broker_and_board_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    server.take("business");
    let panel = SharedPanel::new(128, 32);
    let board = HostBoard::boot(panel.clone(), server.mqtt, HALL, "3", "demo-led-3-pass");

    // A call: the picture of A001, drawn by the firmware from the broker.
    let mut pad = server.open_pad("3").await;
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);
    shows(&panel, &calling("A001"), "A001").await;
    assert_eq!(online(&server), true, "its status says online");

    // The broker (the whole server) is killed and comes back on the same
    // port: the firmware reconnects by itself and follows the next call.
    drop(pad);
    let server = server.crash_and_restart();
    let mut pad = hallq_pad::Pad::connect(&server.device("pad-3"), "3")
        .await
        .unwrap();
    for op in [Op::Start, Op::Finish, Op::CallNext { service: None }] {
        let r = pad.send(op).await.unwrap();
        assert!(r.ok, "{r:?}");
    }
    shows(&panel, &calling("A002"), "A002 after the broker restarted").await;

    // The board loses power: its will says offline. It boots again with a
    // blank panel and shows the window's retained state.
    board.stop();
    let mut gone = serde_json::Value::Null;
    for _ in 0..100 {
        gone = online(&server);
        if gone == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gone, false, "the firmware's will marks it offline");
    let panel = SharedPanel::new(128, 32);
    let _board = HostBoard::boot(panel.clone(), server.mqtt, HALL, "3", "demo-led-3-pass");
    shows(&panel, &calling("A002"), "A002 after the board restarted").await;
    assert_eq!(online(&server), true);
    drop(pad);
}

/// A wrong password: the firmware keeps trying with backoff, draws
/// nothing, and the server stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firmware_with_a_wrong_password_gets_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.take("business");
    let mut pad = server.open_pad("3").await;
    assert!(pad.send(Op::CallNext { service: None }).await.unwrap().ok);
    let panel = SharedPanel::new(128, 32);
    let board = HostBoard::boot(panel.clone(), server.mqtt, HALL, "3", "wrong");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(panel.picture().lit(), 0, "nothing drawn without a login");
    board.stop();
    assert_eq!(server.window("3")["status"], "calling");
}
