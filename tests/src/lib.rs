//! The harness for whole-system tests: starts the real `hallq` binary on
//! port 0 with its own data folder, talks HTTP over a plain socket and MQTT
//! with real clients.
//!
//! The binaries are those `cargo test --workspace` builds next to the test
//! executables (each binary's package has a test of its own, so cargo builds
//! them before any test runs).

pub mod browser;
pub mod host_board;
pub mod mosquitto;
pub mod pg;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hallq_client::Login;
use rumqttc::{Event, Packet, QoS};
use serde_json::Value;
use tokio::sync::mpsc;

pub const HALL: &str = "xuchang";

/// The demo hall's kiosk login (`kiosk-1:demo-kiosk-1-pass`) as a header.
pub const KIOSK: (&str, &str) = (
    "Authorization",
    "Basic a2lvc2stMTpkZW1vLWtpb3NrLTEtcGFzcw==",
);

/// The demo hall's manager login (`manager:demo-manager-pass`) as a header.
pub const MANAGER: (&str, &str) = (
    "Authorization",
    "Basic bWFuYWdlcjpkZW1vLW1hbmFnZXItcGFzcw==",
);

/// A built binary of the workspace, e.g. `hallq`.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` (or `cargo test --workspace`)",
        path.display()
    );
    path
}

/// The shipped demo hall.
pub fn demo_hall() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml")
}

/// A copy of the demo hall as another hall of the same server, written
/// into `dir`: hall id `id`, its name, and every device id with `prefix`
/// in front (a device id is unique on a server). Returns the file.
pub fn other_hall(dir: &Path, id: &str, name: &str, prefix: &str) -> PathBuf {
    let text = std::fs::read_to_string(demo_hall()).expect("demo hall");
    let mut hall: toml::Table = toml::from_str(&text).expect("demo hall parses");
    let h = hall["hall"].as_table_mut().expect("[hall]");
    h.insert("id".into(), id.into());
    h.insert("name".into(), name.into());
    for d in hall["devices"].as_array_mut().expect("[[devices]]") {
        let d = d.as_table_mut().expect("a device");
        let dev = format!("{prefix}{}", d["id"].as_str().expect("device id"));
        d.insert("id".into(), dev.into());
    }
    std::fs::create_dir_all(dir).expect("hall folder");
    let path = dir.join(format!("{id}.toml"));
    std::fs::write(&path, toml::to_string(&hall).expect("serializes")).expect("write hall");
    path
}

/// A running `hallq serve`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    /// MQTT over TLS, when started with a certificate.
    pub mqtt_tls: Option<SocketAddr>,
    pub data: PathBuf,
    /// The hall file it serves.
    pub hall: PathBuf,
}

impl Server {
    /// Starts the server on free ports with `data` as its data folder.
    pub fn start(data: &Path) -> Server {
        Server::start_on(data, "127.0.0.1:0")
    }

    /// Starts the server with its MQTT broker on `mqtt`.
    pub fn start_on(data: &Path, mqtt: &str) -> Server {
        Server::start_with(data, &["--mqtt", mqtt])
    }

    /// Starts the server with extra `serve` arguments.
    pub fn start_with(data: &Path, args: &[&str]) -> Server {
        Server::start_hall(&demo_hall(), data, args)
    }

    /// Starts the server for a given hall file.
    pub fn start_hall(hall: &Path, data: &Path, args: &[&str]) -> Server {
        Server::try_start(hall, data, args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the server; the error holds what it said when it did not start.
    pub fn try_start(hall: &Path, data: &Path, args: &[&str]) -> Result<Server, String> {
        Server::try_start_env(hall, data, args, &[])
    }

    /// Starts the server with extra environment variables.
    pub fn try_start_env(
        hall: &Path,
        data: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        Server::try_start_halls(&[hall], data, args, env)
    }

    /// Starts one server for several halls (`--hall` for each).
    pub fn start_halls(halls: &[&Path], data: &Path, args: &[&str]) -> Server {
        Server::try_start_halls(halls, data, args, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the server for these hall files, with extra arguments and
    /// environment variables.
    pub fn try_start_halls(
        halls: &[&Path],
        data: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Server, String> {
        let mut args = args.to_vec();
        if !args.iter().any(|a| *a == "--mqtt" || *a == "--broker-url") {
            args.extend(["--mqtt", "127.0.0.1:0"]);
        }
        if !args.contains(&"--http") {
            args.extend(["--http", "127.0.0.1:0"]);
        }
        let mut child = Command::new(binary("hallq"))
            .arg("serve")
            .args(halls.iter().flat_map(|h| [Path::new("--hall"), h]))
            .arg("--data")
            .arg(data)
            .arg("--always-open")
            .args(&args)
            .envs(env.iter().copied())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG")
                    .unwrap_or_else(|_| "warn,rmqtt=error,rmqtt_net=error".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hallq");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let stderr = child.stderr.take().expect("stderr");
        let Ok(ready) = serde_json::from_str::<Value>(&line) else {
            let _ = child.wait();
            let mut said = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut said);
            return Err(format!("hallq did not start: {line:?} {said}"));
        };
        // Pass the server's log through, as it would be without the pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            while let Some(Ok(l)) = lines.next() {
                eprintln!("{l}");
            }
        });
        Ok(Server {
            child,
            http: ready["http"].as_str().unwrap().parse().unwrap(),
            // No plain MQTT listener with --tls-only.
            mqtt: ready["mqtt"]
                .as_str()
                .unwrap_or("127.0.0.1:0")
                .parse()
                .unwrap(),
            mqtt_tls: ready["mqtt_tls"].as_str().map(|a| a.parse().unwrap()),
            data: data.to_owned(),
            hall: halls[0].to_owned(),
        })
    }

    /// Starts again on the same HTTP and MQTT ports with the same data, as a
    /// service manager does after a crash (after `kill9` or `terminate`).
    pub fn start_again(hall: &Path, data: &Path, http: SocketAddr, mqtt: SocketAddr) -> Server {
        let (h, m) = (http.to_string(), mqtt.to_string());
        Server::start_hall(hall, data, &["--http", &h, "--mqtt", &m])
    }

    /// SIGTERM, as a service manager stops it; waits for the exit and
    /// returns its code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait").code()
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no shutdown of any kind.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// `kill -9`, then start again at once on the same ports and data, with
    /// `args` added (e.g. the same `--store`).
    pub fn crash_and_restart_with(self, args: &[&str]) -> Server {
        let (hall, data, http, mqtt) = (self.hall.clone(), self.data.clone(), self.http, self.mqtt);
        self.kill9();
        let (h, m) = (http.to_string(), mqtt.to_string());
        let mut all = vec!["--http", &h, "--mqtt", &m];
        all.extend(args);
        Server::start_hall(&hall, &data, &all)
    }

    /// `kill -9`, then start again at once on the same ports and data.
    pub fn crash_and_restart(self) -> Server {
        self.crash_and_restart_with(&[])
    }

    pub fn login(&self, user: &str, password: &str) -> Login {
        Login {
            host: "127.0.0.1".into(),
            port: self.mqtt.port(),
            hall: HALL.into(),
            user: user.into(),
            password: password.into(),
            tls: None,
        }
    }

    /// The demo hall's credentials for a device.
    pub fn device(&self, user: &str) -> Login {
        let password = match user {
            "manager" => "demo-manager-pass".to_owned(),
            "voice-1" => "demo-voice-pass".to_owned(),
            "led-wall" => "demo-wall-pass".to_owned(),
            u => {
                let (kind, win) = u.split_once('-').expect("device-window");
                format!("demo-{kind}-{win}-pass")
            }
        };
        self.login(user, &password)
    }

    /// Runs `mosquitto_pub` (QoS 1) as a device of the demo hall would.
    pub fn mosquitto_pub(
        &self,
        user: &str,
        password: &str,
        topic: &str,
        msg: &str,
    ) -> std::process::Output {
        Command::new("mosquitto_pub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.mqtt.port().to_string(),
                "-u",
                user,
                "-P",
                password,
                // The broker takes only client ids that start with the device id.
                "-I",
                &format!("{user}."),
            ])
            .args(["-q", "1", "-t", topic, "-m", msg])
            .output()
            .expect("mosquitto_pub (apt-get install mosquitto-clients)")
    }

    /// An HTTP request; returns the status and the JSON body (Null if none).
    pub fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let (status, _, body) = self.http_with(method, path, body, &[]);
        (status, body)
    }

    /// An HTTP request with extra headers; returns status, head and JSON body.
    pub fn http_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, String, Value) {
        http_request(self.http, method, path, body, headers).expect("http request")
    }

    /// Logs a staff account in over the API; the session cookie
    /// (`name=value`), or none when refused.
    pub fn web_login(&self, id: &str, password: &str) -> Option<String> {
        let body = format!(r#"{{"id":"{id}","password":"{password}"}}"#);
        let (status, head, _) = self.http_with("POST", "/api/v1/login", Some(&body), &[]);
        if status != 200 {
            return None;
        }
        let cookie = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("set-cookie: ")
                    .or_else(|| l.strip_prefix("Set-Cookie: "))
            })
            .expect("a session cookie");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        Some(cookie.split(';').next().unwrap().to_owned())
    }

    /// Takes a ticket at the demo hall's kiosk, asserting 201.
    pub fn take(&self, service: &str) -> Value {
        let (status, _, body) = self.http_with(
            "POST",
            &format!("/api/v1/halls/{HALL}/tickets"),
            Some(&format!(r#"{{"service":"{service}"}}"#)),
            &[KIOSK],
        );
        assert_eq!(status, 201, "{body}");
        body
    }

    /// The demo hall's pad for `window`, connected, with the window opened
    /// (no clerk): where most tests start a counter.
    /// The hall's stream as a manager follows it (every line; the public
    /// one is thinned). `password` is the manager's ("demo-manager-pass").
    pub async fn manager_stream(
        &self,
        password: &str,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        tokio_tungstenite::tungstenite::Error,
    > {
        use base64::Engine;
        let url = format!("ws://{}/api/v1/halls/{HALL}/stream", self.http);
        let mut req =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)?;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("manager:{password}"));
        req.headers_mut().insert(
            "authorization",
            format!("Basic {basic}").parse().expect("a header value"),
        );
        Ok(tokio_tungstenite::connect_async(req).await?.0)
    }

    pub async fn open_pad(&self, window: &str) -> hallq_pad::Pad {
        let mut pad = hallq_pad::Pad::connect(&self.device(&format!("pad-{window}")), window)
            .await
            .expect("pad connects");
        let open = hallq_contract::payload::Op::Open {
            clerk: None,
            pin: None,
        };
        let r = pad.send(open).await.expect("a reply to open");
        assert!(r.ok, "window {window} did not open: {r:?}");
        pad
    }

    /// One window of the hall snapshot (`GET /api/v1/halls/{hall}`).
    pub fn window(&self, id: &str) -> Value {
        window_of(&self.hall(), id)
    }

    pub fn hall(&self) -> Value {
        let (status, body) = self.http("GET", &format!("/api/v1/halls/{HALL}"), None);
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection: status, head and JSON body
/// (Null if none); an error when the server is not there or hangs up.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, Value)> {
    http_request_within(addr, method, path, body, headers, Duration::from_secs(10))
}

/// [`http_request`], giving up on an answer after `wait` (as a kiosk does
/// with a node that hangs).
pub fn http_request_within(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
    wait: Duration,
) -> std::io::Result<(u16, String, Value)> {
    let (status, head, body) = http_text_within(addr, method, path, body, headers, wait)?;
    Ok((
        status,
        head,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    ))
}

/// The body of a GET as text (CSV, pages).
pub fn http_raw(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> String {
    http_text(addr, "GET", path, None, headers)
        .expect("http request")
        .2
}

/// One HTTP/1.1 request: status, head and the body as text.
pub fn http_text(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, String)> {
    http_text_within(addr, method, path, body, headers, Duration::from_secs(10))
}

fn http_text_within(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
    wait: Duration,
) -> std::io::Result<(u16, String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(wait))?;
    let body = body.unwrap_or("");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "no HTTP response",
        ));
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, head.to_owned(), body))
}

/// Sends pad commands one after the other, each of which must be done.
pub async fn send_all(
    pad: &mut hallq_pad::Pad,
    ops: impl IntoIterator<Item = hallq_contract::payload::Op>,
) {
    for op in ops {
        let r = pad.send(op.clone()).await.expect("a reply");
        assert!(r.ok, "{op:?}: {r:?}");
    }
}

/// One window of a hall snapshot.
pub fn window_of(hall: &Value, id: &str) -> Value {
    hall["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .find(|w| w["window"] == id)
        .unwrap_or_else(|| panic!("no window {id} in the snapshot"))
        .clone()
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// An MQTT subscriber that collects what arrives.
#[derive(Debug)]
pub struct Watcher {
    rx: mpsc::UnboundedReceiver<(String, Value)>,
    _client: rumqttc::AsyncClient,
}

impl Watcher {
    /// Subscribes to `filters` and returns once the subscriptions are granted.
    pub async fn new(login: &Login, filters: &[String]) -> Watcher {
        let (client, mut ev) =
            login.connect(&format!("{}.watch-{}", login.user, rand_suffix()), None);
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready) = tokio::sync::oneshot::channel();
        let sub = client.clone();
        let filters = filters.to_vec();
        tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        for f in &filters {
                            sub.subscribe(f, QoS::AtLeastOnce).await.unwrap();
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(ack))) => {
                        let granted = ack
                            .return_codes
                            .iter()
                            .all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)));
                        if let Some(r) = ready_tx.take() {
                            let _ = r.send(granted);
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let v = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                        if tx.send((p.topic.clone(), v)).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // The server went away (end of a test): the watcher ends.
                    Err(_) => return,
                }
            }
        });
        let granted = tokio::time::timeout(Duration::from_secs(5), ready)
            .await
            .expect("suback in time")
            .unwrap();
        assert!(granted, "subscription refused");
        Watcher {
            rx,
            _client: client,
        }
    }

    /// The next message on `topic` whose JSON satisfies `want`, within 5 s.
    pub async fn expect(&mut self, topic: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((t, v))) if t == topic && want(&v) => return v,
                Ok(Some(_)) => {}
                _ => panic!("no matching message on {topic} within 5 s"),
            }
        }
    }

    /// Everything that arrived within `wait`.
    pub async fn drain(&mut self, wait: Duration) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(m)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            out.push(m);
        }
        out
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The full topic of a contract topic in the demo hall.
pub fn topic(t: hallq_contract::Topic) -> String {
    t.to_string(HALL)
}
