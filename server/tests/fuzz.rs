//! Fuzzing on stable Rust: proptest generates mutations of small seed
//! corpora (`tests/fuzz-corpus/{target}/`) and feeds them to what reads
//! outside input — the pad command decoder, the engine's pad and rating
//! inputs, the hall file loader and the HTTP bodies — checking that nothing
//! panics, that the owner thread keeps answering, and that every refusal is
//! a clear error.
//!
//! `cargo test` runs each target for a few hundred inputs. A longer run:
//! `HALLQ_FUZZ_SECS=60 cargo test --release -p hallq-server --test fuzz -- --nocapture`
//! (or `scripts/fuzz`). An input that fails is written to
//! `target/fuzz-failures/` and named in the failure; add it to the corpus
//! once fixed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::Request;
use hallq_contract::{PadCommand, Reply};
use hallq_core::DeviceRole;
use hallq_server::http::{self, AppState};
use proptest::prelude::*;

mod common;
use common::owner;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use tower::ServiceExt;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect()
}

/// Tokens worth splicing into JSON and TOML.
const DICTIONARY: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "-1",
    "0",
    "1e999",
    "18446744073709551616",
    "\\u0000",
    "\\ud800",
    "\n",
    "=",
    "[[services]]",
    "[[windows]]",
    "\"op\":\"call_next\"",
    "\"op\":\"transfer\"",
    "\"id\":\"x\"",
    "\"score\":",
    "\"service\":\"business\"",
    "号窗口",
    "serves = []",
    "prefix = \"A\"",
];

/// One change to a seed.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Token(usize, usize),
    Truncate(usize),
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Insert(p, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), 0..DICTIONARY.len()).prop_map(|(p, t)| Edit::Token(p, t)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..2000).prop_map(|(p, n)| Edit::Repeat(p, n)),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for e in edits {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
        match *e {
            Edit::Flip(p, b) if !v.is_empty() => {
                let i = p % v.len();
                v[i] ^= b | 1;
            }
            Edit::Insert(p, b) => v.insert(at(p, v.len()), b),
            Edit::Delete(p) if !v.is_empty() => {
                let i = p % v.len();
                v.remove(i);
            }
            Edit::Token(p, t) => {
                let i = at(p, v.len());
                v.splice(i..i, DICTIONARY[t].bytes());
            }
            Edit::Truncate(p) => v.truncate(at(p, v.len())),
            Edit::Repeat(p, n) if !v.is_empty() => {
                let i = p % v.len();
                let b = v[i];
                v.splice(i..i, std::iter::repeat_n(b, n));
            }
            _ => {}
        }
    }
    v
}

/// Mutated seeds, or now and then bytes from nowhere.
fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    prop_oneof![
        9 => (0..n, proptest::collection::vec(edit(), 0..6))
            .prop_map(move |(i, edits)| apply(&seeds[i], &edits)),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

/// Runs `check` on inputs grown from the corpus `target` for
/// `HALLQ_FUZZ_SECS` seconds, or `HALLQ_FUZZ_CASES` inputs (default 300).
/// Returns the executions; `name` is for the report.
fn fuzz(name: &str, target: &str, mut check: impl FnMut(&[u8])) -> u64 {
    let secs: Option<u64> = std::env::var("HALLQ_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok());
    let cases: u64 = std::env::var("HALLQ_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let strategy = inputs(corpus(target));
    let mut runner = TestRunner::default();
    let start = Instant::now();
    let mut n = 0u64;
    // The seeds themselves first.
    for seed in corpus(target) {
        check(&seed);
        n += 1;
    }
    loop {
        let done = match secs {
            Some(s) => start.elapsed() >= Duration::from_secs(s),
            None => n >= cases,
        };
        if done {
            break;
        }
        let input = strategy.new_tree(&mut runner).unwrap().current();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&input)));
        if r.is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{name}-{n}.bin"));
            std::fs::write(&file, &input).unwrap();
            panic!("fuzz target {name} failed on {}", file.display());
        }
        n += 1;
    }
    println!(
        "fuzz {name}: {n} executions in {:.1} s, no failure",
        start.elapsed().as_secs_f64()
    );
    n
}

#[test]
fn fuzz_pad_command_decoder() {
    fuzz("pad_decoder", "pad", |bytes| {
        match PadCommand::parse(bytes) {
            Ok(cmd) => {
                assert!(!cmd.id.is_empty() && cmd.id.chars().count() <= 64);
                let again = serde_json::to_vec(&cmd).unwrap();
                assert_eq!(PadCommand::parse(&again).unwrap(), cmd, "round trip");
            }
            Err(e) => assert!(!e.message.is_empty()),
        }
    });
}

#[test]
fn fuzz_hall_file_loader() {
    fuzz("hall_file", "hall", |bytes| {
        let text = String::from_utf8_lossy(bytes);
        match hallq_server::config::parse_hall(Path::new("hall.toml"), &text) {
            Ok(config) => {
                config.validate().expect("a loaded hall is valid");
                let hall = hallq_core::Hall::new(config);
                let _ = hall.window_views();
            }
            Err(e) => {
                assert!(e.line <= text.lines().count() + 1, "{e}");
                assert!(!e.message.is_empty());
            }
        }
    });
}

#[test]
fn fuzz_engine_pad_and_rating_inputs() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut o = owner();
    rt.block_on(async {
        assert!(o.handle.take("business").await.unwrap().is_ok());
    });
    let mut rng = 0u32;
    let mut check = |bytes: &[u8], rating: bool| {
        rng = rng.wrapping_add(1);
        let window = ["3", "9", "x", "99"][rng as usize % 4].to_owned();
        rt.block_on(async {
            if rating {
                o.handle.rating(window, bytes.to_vec()).await;
            } else {
                o.handle.pad(window, bytes.to_vec()).await;
            }
            let seq =
                tokio::time::timeout(Duration::from_secs(5), o.handle.query(|v| v.hall.seq()))
                    .await
                    .expect("the owner answers");
            assert!(seq.is_some(), "the owner thread died");
        });
        while let Ok(out) = o.mqtt.try_recv() {
            if matches!(
                hallq_contract::Topic::parse(&out.topic),
                Some((_, hallq_contract::Topic::PadReply(_)))
            ) {
                let reply: Reply = serde_json::from_slice(&out.payload).expect("a reply is JSON");
                if let Some(e) = reply.error {
                    assert!(!e.code.is_empty() && !e.message.is_empty());
                }
            }
        }
    };
    let pads = fuzz("engine_pad", "pad", |b| check(b, false));
    let ratings = fuzz("engine_rating", "rating", |b| check(b, true));
    assert!(pads > 0 && ratings > 0);
}

#[test]
fn fuzz_http_bodies() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let o = owner();
    let accounts: http::auth::Accounts = HashMap::from([
        (
            "manager".to_owned(),
            (DeviceRole::Manager, "demo-manager-pass".to_owned()),
        ),
        (
            "kiosk-1".to_owned(),
            (DeviceRole::Kiosk, "demo-kiosk-1-pass".to_owned()),
        ),
    ]);
    let app = http::app(AppState {
        hall: "xuchang".into(),
        prefix: String::new(),
        lease: hallq_server::lease::Lease::always("xuchang"),
        forecaster: None,
        digests: None,
        engine: o.handle.clone(),
        stream: o.stream.clone(),
        public: rt.block_on(async { hallq_server::stream::spawn_public(&o.stream) }),
        health: Default::default(),
        id_key: Arc::new(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[7; 32])),
        accounts: Arc::new(accounts),
        limits: Arc::new(http::auth::Limits::per_minute(u32::MAX, u32::MAX)),
        throttle: Default::default(),
        storage: o.storage.clone(),
        sessions: Arc::new(http::session::Sessions::new(Default::default(), true)),
        https: false,
        printing: Default::default(),
        log: None,
    })
    .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))));
    let ticket = rt.block_on(async { o.handle.take("business").await.unwrap().unwrap().ticket.id });
    let routes = [
        "/api/v1/halls/xuchang/tickets".to_owned(),
        "/api/v1/halls/xuchang/bookings".to_owned(),
        format!("/api/v1/halls/xuchang/tickets/{ticket}/rating"),
        "/api/v1/halls/xuchang/windows/3/profile".to_owned(),
        "/api/v1/halls/xuchang/manage".to_owned(),
        "/api/v1/halls/xuchang/notice".to_owned(),
        "/api/v1/login".to_owned(),
    ];
    let mut n = 0usize;
    fuzz("http_bodies", "http", |body| {
        n += 1;
        let route = &routes[n % routes.len()];
        let method = if route.ends_with("/profile") || route.ends_with("/notice") {
            "PUT"
        } else {
            "POST"
        };
        let req = Request::builder()
            .method(method)
            .uri(route)
            .header("content-type", "application/json")
            .header(
                "authorization",
                "Basic bWFuYWdlcjpkZW1vLW1hbmFnZXItcGFzcw==",
            )
            .body(Body::from(body.to_vec()))
            .unwrap();
        let req = if method == "POST" {
            let (mut parts, b) = req.into_parts();
            parts.headers.remove("authorization");
            Request::from_parts(parts, b)
        } else {
            req
        };
        let res = rt.block_on(app.clone().oneshot(req)).unwrap();
        let status = res.status();
        // No 5xx at all: not a crash, and not the owner gone (503).
        assert!(!status.is_server_error(), "{route}: {status}");
        let bytes = rt
            .block_on(axum::body::to_bytes(res.into_body(), 1 << 20))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{route} {status}: not JSON: {bytes:?}"));
        if status.is_client_error() {
            assert!(v["error"]["code"].is_string(), "{v}");
        }
    });
}
