//! The contract with clients we did not write: only `mosquitto_pub` and
//! `mosquitto_sub` (and plain HTTP) drive the hall here.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hallq_contract::Topic;
use hallq_tests::{Server, topic};
use serde_json::Value;

/// A running `mosquitto_sub -v`, its lines read on a thread.
struct Sub {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Sub {
    fn start(server: &Server, user: &str, pass: &str, topics: &[&String]) -> Sub {
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
            "-I",
            &format!("{user}."),
        ])
        .args(["-q", "1", "-v", "-W", "20"]);
        for t in topics {
            cmd.args(["-t", t]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("mosquitto_sub (apt-get install mosquitto-clients)");
        let mut out: Lines<BufReader<ChildStdout>> =
            BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            while let Some(Ok(line)) = out.next() {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Sub { child, lines }
    }

    /// Reads `topic payload` lines until `want` holds for one (8 s at most).
    fn until(&self, want: impl Fn(&str, &Value) -> bool) -> Value {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(8)) {
            let (t, payload) = line.split_once(' ').unwrap_or((&line, ""));
            let v: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
            if want(t, &v) {
                return v;
            }
        }
        panic!("mosquitto_sub did not see the expected message");
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

#[test]
fn mosquitto_clients_drive_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let t = server.take("property");
    assert_eq!(t["number"], "B001");

    let state7 = topic(Topic::WindowState("7"));
    let reply7 = topic(Topic::PadReply("7"));
    let calls = topic(Topic::Calls);
    // Each subscriber also follows window 7's retained state: when that
    // arrives, its subscriptions are in place and nothing later is missed.
    let pad_view = Sub::start(&server, "pad-7", "demo-pad-7-pass", &[&reply7, &state7]);
    let voice = Sub::start(&server, "voice-1", "demo-voice-pass", &[&calls, &state7]);
    for s in [&pad_view, &voice] {
        assert_eq!(s.until(|t, _| t == state7)["status"], "closed");
    }
    pub_cmd(&server, "7", r#"{"id":"m-1","op":"open","clerk":"li"}"#);
    pub_cmd(&server, "7", r#"{"id":"m-2","op":"call_next"}"#);
    let r = pad_view.until(|t, v| t == reply7 && v["id"] == "m-2");
    assert_eq!(
        (r["ok"].as_bool(), r["ticket"]["number"].as_str()),
        (Some(true), Some("B001"))
    );
    let call = voice.until(|t, _| t == calls);
    assert_eq!(
        (call["ticket"].as_str(), call["window"].as_str()),
        (Some("B001"), Some("7"))
    );

    // A display that starts after the call gets it from the retained state.
    let led = Sub::start(&server, "led-7", "demo-led-7-pass", &[&state7]);
    let s = led.until(|t, _| t == state7);
    assert_eq!(
        (s["status"].as_str(), s["ticket"]["number"].as_str()),
        (Some("calling"), Some("B001"))
    );

    // Bad input: garbage is dropped, a bad op gets bad_request, the server lives on.
    pub_cmd(&server, "7", "this is not json");
    pub_cmd(&server, "7", r#"{"id":"m-3","op":"teleport"}"#);
    let r = pad_view.until(|t, v| t == reply7 && v["id"] == "m-3");
    assert_eq!(
        (r["ok"].as_bool(), r["error"]["code"].as_str()),
        (Some(false), Some("bad_request"))
    );
    // A recall right after the call is refused: the hall's minimum interval.
    pub_cmd(&server, "7", r#"{"id":"m-4","op":"recall"}"#);
    let r = pad_view.until(|t, v| t == reply7 && v["id"] == "m-4");
    assert_eq!(r["error"]["code"], "recall_too_soon");
    assert_eq!(server.http("GET", "/healthz", None).0, 200);
}
