//! The contract with clients we did not write: only `mosquitto_pub` and
//! `mosquitto_sub` (and plain HTTP) drive the hall here.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hallq_contract::Topic;
use hallq_tests::{Server, topic};
use serde_json::Value;

fn sub(server: &Server, user: &str, pass: &str, topics: &[String]) -> Child {
    let mut cmd = Command::new("mosquitto_sub");
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &server.mqtt.port().to_string(),
        "-u",
        user,
        "-P",
        pass,
        "-q",
        "1",
        "-v",
        "-W",
        "10",
    ]);
    for t in topics {
        cmd.args(["-t", t]);
    }
    cmd.stdout(Stdio::piped())
        .spawn()
        .expect("mosquitto_sub (apt-get install mosquitto-clients)")
}

fn pub_cmd(server: &Server, window: &str, msg: &str) {
    let (user, pass) = (format!("pad-{window}"), format!("demo-pad-{window}-pass"));
    let out = server.mosquitto_pub(&user, &pass, &topic(Topic::PadCmd(window)), msg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads `topic payload` lines until `want` holds for one, or 8 s pass.
fn read_until(child: &mut Child, want: impl Fn(&str, &Value) -> bool) -> Value {
    let out = child.stdout.as_mut().unwrap();
    let mut lines = BufReader::new(out).lines();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(8) {
        let Some(Ok(line)) = lines.next() else { break };
        let (t, payload) = line.split_once(' ').unwrap_or((&line, ""));
        let v: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
        if want(t, &v) {
            return v;
        }
    }
    panic!("mosquitto_sub did not see the expected message");
}

/// mosquitto_sub subscribes asynchronously; give it a moment.
fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn mosquitto_clients_drive_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let t = server.take("property");
    assert_eq!(t["number"], "B001");

    let state7 = topic(Topic::WindowState("7"));
    let reply7 = topic(Topic::PadReply("7"));
    let calls = topic(Topic::Calls);
    let mut pad_view = sub(
        &server,
        "pad-7",
        "demo-pad-7-pass",
        std::slice::from_ref(&reply7),
    );
    let mut voice = sub(
        &server,
        "voice-1",
        "demo-voice-pass",
        std::slice::from_ref(&calls),
    );
    settle();
    pub_cmd(&server, "7", r#"{"id":"m-1","op":"open","clerk":"li"}"#);
    pub_cmd(&server, "7", r#"{"id":"m-2","op":"call_next"}"#);
    let r = read_until(&mut pad_view, |t, v| t == reply7 && v["id"] == "m-2");
    assert_eq!(
        (r["ok"].as_bool(), r["ticket"]["number"].as_str()),
        (Some(true), Some("B001"))
    );
    let call = read_until(&mut voice, |t, _| t == calls);
    assert_eq!(
        (call["ticket"].as_str(), call["window"].as_str()),
        (Some("B001"), Some("7"))
    );

    // A display that starts after the call gets it from the retained state.
    let mut led = sub(
        &server,
        "led-7",
        "demo-led-7-pass",
        std::slice::from_ref(&state7),
    );
    let s = read_until(&mut led, |t, _| t == state7);
    assert_eq!(
        (s["status"].as_str(), s["ticket"]["number"].as_str()),
        (Some("calling"), Some("B001"))
    );

    // Bad input: garbage is dropped, a bad op gets bad_request, the server lives on.
    pub_cmd(&server, "7", "this is not json");
    pub_cmd(&server, "7", r#"{"id":"m-3","op":"teleport"}"#);
    let r = read_until(&mut pad_view, |t, v| t == reply7 && v["id"] == "m-3");
    assert_eq!(
        (r["ok"].as_bool(), r["error"]["code"].as_str()),
        (Some(false), Some("bad_request"))
    );
    // A recall right after the call is refused: the hall's minimum interval.
    pub_cmd(&server, "7", r#"{"id":"m-4","op":"recall"}"#);
    let r = read_until(&mut pad_view, |t, v| t == reply7 && v["id"] == "m-4");
    assert_eq!(r["error"]["code"], "recall_too_soon");
    assert_eq!(server.http("GET", "/healthz", None).0, 200);
    for mut c in [pad_view, voice, led] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
