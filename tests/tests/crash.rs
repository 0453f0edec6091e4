//! The crash harness: a simulated hall (a kiosk, three clerks' pads, three
//! displays) works against the real `hallq` binary while it is killed with
//! SIGKILL at random moments and started again at once on the same ports,
//! as a service manager would. Afterwards, from the clients' own records:
//! every acknowledged ticket and call is in the state, no ticket was called
//! twice or by two windows, numbering never repeated, and every display
//! shows the server's state within 2 s of the last start.
//!
//! `cargo test` runs a short round (12 kills). The long run:
//! `HALLQ_CRASH_KILLS=100 cargo test --release -p hallq-tests --test crash -- --nocapture`
//! (`HALLQ_CRASH_SEED` repeats a run's kill timing).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallq_client::Login;
use hallq_contract::payload::Op;
use hallq_contract::{PadCommand, Topic};
use hallq_pad::Pad;
use hallq_tests::{HALL, KIOSK, Server, http_request, topic};
use rumqttc::{Event, Packet, QoS};
use serde_json::Value;

/// Windows that serve `property` and `invest` (services without a daily cap).
const WINDOWS: [&str; 3] = ["2", "3", "6"];

/// A small random source; the seed is printed so a run can be repeated.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// What the kiosk was told: idempotency key → (ticket id, number).
type Tickets = Arc<Mutex<BTreeMap<String, (String, String)>>>;

/// Takes tickets over HTTP; a request without an answer is sent again with
/// the same Idempotency-Key until it gets one.
fn kiosk(http: SocketAddr, stop: Arc<AtomicBool>, tickets: Tickets, attempts: Arc<AtomicU32>) {
    let services = ["property", "property", "invest"];
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("kiosk-crash-{n:05}");
        let body = format!(r#"{{"service":"{}"}}"#, services[n % services.len()]);
        loop {
            attempts.fetch_add(1, Ordering::Relaxed);
            let r = http_request(
                http,
                "POST",
                &format!("/api/v1/halls/{HALL}/tickets"),
                Some(&body),
                &[("Idempotency-Key", &key), KIOSK],
            );
            match r {
                Ok((201, _, t)) => {
                    let entry = (
                        t["id"].as_str().unwrap().to_owned(),
                        t["number"].as_str().unwrap().to_owned(),
                    );
                    let mut map = tickets.lock().unwrap();
                    if let Some(before) = map.get(&key) {
                        assert_eq!(before, &entry, "a repeated key gave another ticket");
                    }
                    map.insert(key.clone(), entry);
                    break;
                }
                Ok((status, _, body)) if status < 500 => {
                    panic!("the kiosk was refused: {status} {body}")
                }
                // Down, restarting, or 503: the same request again.
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        std::thread::sleep(Duration::from_millis(40));
    }
}

/// An acknowledged `call_next`: (window, command id, number).
type Calls = Arc<Mutex<Vec<(String, String, String)>>>;

/// Sends one command until it is answered (same id each time).
async fn until_answered(pad: &mut Pad, cmd: &PadCommand) -> hallq_contract::Reply {
    loop {
        if let Ok(r) = pad
            .send_command_within(cmd, Duration::from_millis(800))
            .await
        {
            return r;
        }
    }
}

async fn connect_pad(login: &Login, window: &str) -> Pad {
    loop {
        if let Ok(p) = Pad::connect(login, window).await {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A clerk: open, then call, start, finish, again and again.
async fn clerk(
    login: Login,
    window: &'static str,
    stop: Arc<AtomicBool>,
    calls: Calls,
    answered: Arc<AtomicU32>,
) {
    let mut pad = connect_pad(&login, window).await;
    let mut n = 0;
    let mut next = |op: Op| {
        n += 1;
        PadCommand {
            id: format!("crash-{window}-{n}"),
            op,
        }
    };
    let open = until_answered(
        &mut pad,
        &next(Op::Open {
            clerk: None,
            pin: None,
        }),
    )
    .await;
    assert!(open.ok, "{open:?}");
    while !stop.load(Ordering::Relaxed) {
        let cmd = next(Op::CallNext { service: None });
        let r = until_answered(&mut pad, &cmd).await;
        answered.fetch_add(1, Ordering::Relaxed);
        if !r.ok {
            let code = r.error.map(|e| e.code).unwrap_or_default();
            assert_eq!(code, "queue_empty", "call_next refused");
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let number = r.ticket.expect("a called ticket").number;
        calls
            .lock()
            .unwrap()
            .push((window.to_owned(), cmd.id.clone(), number));
        for op in [Op::Start, Op::Finish] {
            let r = until_answered(&mut pad, &next(op)).await;
            answered.fetch_add(1, Ordering::Relaxed);
            assert!(r.ok, "{r:?}");
        }
    }
}

/// A window display that reconnects by itself: the last state it got.
type Shown = Arc<Mutex<HashMap<String, Value>>>;

fn display(login: Login, window: &'static str, shown: Shown) {
    tokio::spawn(async move {
        let state = topic(Topic::WindowState(window));
        let (client, mut ev) = login.connect(&format!("{}.crash", login.user), None);
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client.subscribe(&state, QoS::AtLeastOnce).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if let Ok(v) = serde_json::from_slice::<Value>(&p.payload) {
                        shown.lock().unwrap().insert(window.to_owned(), v);
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hall_survives_kill_9_at_random_moments() {
    let kills: u32 = std::env::var("HALLQ_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("HALLQ_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash harness: {kills} kills, HALLQ_CRASH_SEED={seed}");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (http, mqtt) = (server.http, server.mqtt);
    let stop = Arc::new(AtomicBool::new(false));
    let tickets: Tickets = Arc::default();
    let calls: Calls = Arc::default();
    let answered = Arc::new(AtomicU32::new(0));
    let attempts = Arc::new(AtomicU32::new(0));
    let shown: Shown = Arc::default();

    let kiosk_thread = {
        let (stop, tickets, attempts) = (stop.clone(), tickets.clone(), attempts.clone());
        std::thread::spawn(move || kiosk(http, stop, tickets, attempts))
    };
    let mut clerks = Vec::new();
    for w in WINDOWS {
        clerks.push(tokio::spawn(clerk(
            server.device(&format!("pad-{w}")),
            w,
            stop.clone(),
            calls.clone(),
            answered.clone(),
        )));
        display(server.device(&format!("led-{w}")), w, shown.clone());
    }

    // The killer: SIGKILL at a random moment, start again at once.
    let started = Instant::now();
    let server = tokio::task::spawn_blocking(move || {
        let mut rng = Rng(seed);
        let mut server = server;
        let mut restarts = Vec::new();
        for _ in 0..kills {
            std::thread::sleep(Duration::from_millis(rng.between(150, 900)));
            let t = Instant::now();
            server = server.crash_and_restart();
            restarts.push(t.elapsed());
            assert_eq!((server.http, server.mqtt), (http, mqtt));
        }
        restarts.sort();
        (server, restarts)
    })
    .await
    .unwrap();
    let (server, restarts) = server;
    // Let the hall run a moment on its last start, then stop the clients:
    // each finishes the command it is on (it is answered now).
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clerks {
        tokio::time::timeout(Duration::from_secs(30), c)
            .await
            .expect("a pad got no answer from the last server")
            .unwrap();
    }
    tokio::task::spawn_blocking(move || kiosk_thread.join().unwrap())
        .await
        .unwrap();
    let ran = started.elapsed();

    // Every acknowledged ticket is there, with its number; no number twice.
    let tickets = tickets.lock().unwrap().clone();
    let mut numbers = BTreeSet::new();
    let mut id_of = HashMap::new();
    for (key, (id, number)) in &tickets {
        assert!(
            numbers.insert(number.clone()),
            "number {number} given twice"
        );
        let path = format!("/api/v1/halls/{HALL}/tickets/{id}");
        let (status, _, t) = server.http_with("GET", &path, None, &[KIOSK]);
        assert_eq!(status, 200, "acknowledged ticket {number} ({key}) lost");
        assert_eq!(t["number"], number.as_str());
        id_of.insert(number.clone(), id.clone());
    }
    // Every acknowledged call happened once, at its window.
    let calls = calls.lock().unwrap().clone();
    let mut called = BTreeSet::new();
    for (window, cmd, number) in &calls {
        assert!(
            called.insert(number.clone()),
            "{number} was called twice (again by window {window}, {cmd})"
        );
        let id = id_of
            .get(number)
            .expect("a called ticket the kiosk was given");
        let path = format!("/api/v1/halls/{HALL}/tickets/{id}");
        let (_, _, t) = server.http_with("GET", &path, None, &[KIOSK]);
        assert_eq!(
            t["window"],
            window.as_str(),
            "{number} is at another window"
        );
        assert!(
            ["called", "serving", "done"].contains(&t["status"].as_str().unwrap()),
            "{number}: {t}"
        );
    }
    // Every display shows the server's state within 2 s.
    let deadline = Instant::now() + Duration::from_secs(2);
    let hall = server.hall();
    let want: HashMap<String, (Value, Value)> = hall["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["window"].as_str().unwrap().to_owned(),
                (w["status"].clone(), w["ticket"].clone()),
            )
        })
        .collect();
    loop {
        let seen = shown.lock().unwrap().clone();
        let behind: Vec<_> = WINDOWS
            .iter()
            .filter(|w| {
                let s = seen.get(**w);
                let got = s.map(|s| (s["status"].clone(), s["ticket"]["number"].clone()));
                got.as_ref() != want.get(**w)
            })
            .collect();
        if behind.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "displays {behind:?} did not converge within 2 s: shown {seen:?}, server {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !tickets.is_empty() && !calls.is_empty(),
        "the hall did no work"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "crash harness: kill -9 to ready on the same ports: min {:.0} ms, median {:.0} ms, max {:.0} ms",
        ms(restarts[0]),
        ms(restarts[restarts.len() / 2]),
        ms(restarts[restarts.len() - 1]),
    );
    eprintln!(
        "crash harness: {kills} kills survived in {:.1} s; {} tickets acknowledged ({} HTTP attempts), \
         {} calls and {} pad commands acknowledged; 0 lost, 0 called twice, displays converged",
        ran.as_secs_f64(),
        tickets.len(),
        attempts.load(Ordering::Relaxed),
        calls.len(),
        answered.load(Ordering::Relaxed),
    );
}
