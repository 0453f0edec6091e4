//! A hall that survives the loss of its node (issue 13, part 3): three
//! `hallq` nodes on loopback share one PostgreSQL (the log and the halls'
//! leases) and one Mosquitto (the devices); two halls, kiosks issuing and
//! pads calling on both. The node running them is killed (-9): another
//! takes each hall over, nothing acknowledged is lost, no ticket is called
//! twice. A node paused while it runs a hall is fenced: once another has
//! taken the lease, it never writes for the hall again.
//!
//! `HALLQ_LONG_FAILOVER=N` kills the running node N times in a row (a long
//! run; the default is one kill and one pause).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hallq_contract::PadCommand;
use hallq_contract::payload::Op;
use hallq_core::Event;
use hallq_server::store::EventStore;
use hallq_server::store_pg::PgStore;
use hallq_tests::mosquitto::mosquitto;
use hallq_tests::pg::PgCluster;
use hallq_tests::{HALL, Server, demo_hall, other_hall};

const OTHER: &str = "yuzhou";

struct City {
    pg: PgCluster,
    halls: Vec<PathBuf>,
    mqtt_url: String,
    dir: PathBuf,
}

impl City {
    /// Node `name` (its own data folder, the city's shared secret).
    fn node(&self, name: &str) -> Server {
        let data = self.dir.join(name);
        std::fs::create_dir_all(&data).unwrap();
        // Every node hashes ID numbers with the same key (a deployment
        // step: copy id.key to each node).
        std::fs::write(data.join("id.key"), [7u8; 32]).unwrap();
        let halls: Vec<&Path> = self.halls.iter().map(PathBuf::as_path).collect();
        let url = self.pg.url();
        Server::start_halls(
            &halls,
            &data,
            &[
                "--store",
                &url,
                "--broker-url",
                &self.mqtt_url,
                "--node",
                name,
            ],
        )
    }
}

fn kiosk_auth(hall: &str) -> String {
    let user = if hall == HALL {
        "kiosk-1"
    } else {
        "yz-kiosk-1"
    };
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:demo-kiosk-1-pass"));
    format!("Basic {b}")
}

/// Which of these nodes runs `hall` now (answers its API with 200).
fn runner(nodes: &[std::net::SocketAddr], hall: &str) -> Option<usize> {
    let path = format!("/api/v1/halls/{hall}");
    nodes.iter().position(|n| {
        hallq_tests::http_request_within(*n, "GET", &path, None, &[], Duration::from_secs(2))
            .is_ok_and(|(s, _, _)| s == 200)
    })
}

/// What the load saw: tickets acknowledged, calls acknowledged, and when.
#[derive(Default, Debug)]
struct Seen {
    /// hall → numbers acknowledged (201).
    issued: BTreeMap<String, Vec<String>>,
    /// hall → numbers a pad was told it called.
    called: BTreeMap<String, Vec<String>>,
    /// hall → times of acknowledged commands.
    acked_at: BTreeMap<String, Vec<Instant>>,
}

/// A kiosk that takes a ticket every 50 ms at whichever node answers.
fn kiosk(
    hall: &'static str,
    nodes: Arc<Mutex<Vec<std::net::SocketAddr>>>,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let auth = kiosk_auth(hall);
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let list = nodes.lock().unwrap().clone();
        let node = list[n % list.len()];
        let r = hallq_tests::http_request_within(
            node,
            "POST",
            &format!("/api/v1/halls/{hall}/tickets"),
            Some(r#"{"service":"business"}"#),
            &[("Authorization", &auth)],
            Duration::from_secs(2),
        );
        match r {
            Ok((201, _, body)) => {
                let mut s = seen.lock().unwrap();
                let number = body["number"].as_str().unwrap().to_owned();
                s.issued.entry(hall.into()).or_default().push(number);
                s.acked_at
                    .entry(hall.into())
                    .or_default()
                    .push(Instant::now());
                std::thread::sleep(Duration::from_millis(50));
            }
            // A node that does not run the hall, or is gone: the next one.
            _ => n += 1,
        }
    }
}

/// A pad at window 3 of `hall`: call, start, finish, every 100 ms, each
/// command sent again (same id) until some node answers it.
async fn pad(
    hall: &'static str,
    port: u16,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let user = if hall == HALL { "pad-3" } else { "yz-pad-3" };
    let login = hallq_client::Login {
        host: "127.0.0.1".into(),
        port,
        hall: hall.into(),
        user: user.into(),
        password: "demo-pad-3-pass".into(),
        tls: None,
    };
    let mut pad = hallq_pad::Pad::connect(&login, "3")
        .await
        .expect("pad connects");
    let mut k = 0;
    let mut op = Op::Open {
        clerk: None,
        pin: None,
    };
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        k += 1;
        let cmd = PadCommand {
            id: format!("{hall}-{k}"),
            op: op.clone(),
        };
        let reply = loop {
            if let Ok(r) = pad.send_command_within(&cmd, Duration::from_secs(1)).await {
                break r;
            }
        };
        if reply.ok {
            let mut s = seen.lock().unwrap();
            s.acked_at
                .entry(hall.into())
                .or_default()
                .push(Instant::now());
            if let Some(t) = reply.ticket {
                s.called.entry(hall.into()).or_default().push(t.number);
            }
        }
        // A clerk's day: call, start, finish, and again.
        op = match op {
            Op::CallNext { .. } if reply.ok => Op::Start,
            Op::Start => Op::Finish,
            _ => Op::CallNext { service: None },
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The longest time without an answer from a second before `at` until
/// now (the hall's outage when its node went at `at`).
fn outage(acked: &[Instant], at: Instant) -> Duration {
    let mut times: Vec<Instant> = acked
        .iter()
        .copied()
        .filter(|t| *t + Duration::from_secs(1) > at)
        .collect();
    times.sort();
    times.push(Instant::now());
    times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .max()
        .unwrap_or_default()
}

/// Every ticket issued and every call, per hall, from the log itself.
fn log_of(url: &str, hall: &str) -> (Vec<String>, Vec<String>) {
    let url = url.to_owned();
    let hall = hall.to_owned();
    std::thread::spawn(move || {
        let mut store = PgStore::open(&url, &hall).unwrap();
        let records = store.records().unwrap();
        let mut numbers = BTreeMap::new();
        let mut issued = Vec::new();
        let mut called = Vec::new();
        for r in records {
            match r.event {
                Event::TicketIssued { ticket, number, .. } => {
                    numbers.insert(ticket, number.clone());
                    issued.push(number);
                }
                Event::TicketCalled {
                    ticket,
                    recall: false,
                    ..
                } => called.push(numbers[&ticket].clone()),
                _ => {}
            }
        }
        (issued, called)
    })
    .join()
    .unwrap()
}

fn check_log(url: &str, seen: &Seen) {
    for hall in [HALL, OTHER] {
        let (issued, called) = log_of(url, hall);
        let unique: BTreeSet<&String> = issued.iter().collect();
        assert_eq!(unique.len(), issued.len(), "{hall}: a number issued twice");
        for n in seen.issued.get(hall).into_iter().flatten() {
            assert!(
                unique.contains(n),
                "{hall}: acknowledged ticket {n} is not in the log"
            );
        }
        let once: BTreeSet<&String> = called.iter().collect();
        assert_eq!(
            once.len(),
            called.len(),
            "{hall}: a ticket called twice: {called:?}"
        );
        for n in seen.called.get(hall).into_iter().flatten() {
            assert!(
                once.contains(n),
                "{hall}: acknowledged call of {n} is not in the log"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hall_goes_on_when_its_node_dies_and_a_paused_node_is_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let other = other_hall(dir.path(), OTHER, "禹州市民之家", "yz-");
    let (_mosquitto, mqtt_port) = mosquitto(&dir.path().join("mqtt"), &[&demo_hall(), &other]);
    let city = City {
        pg: PgCluster::start(),
        halls: vec![demo_hall(), other],
        mqtt_url: format!("mqtt://hallq-server:server-secret-1@127.0.0.1:{mqtt_port}"),
        dir: dir.path().to_owned(),
    };
    let mut nodes: Vec<Option<Server>> = vec![Some(city.node("n1"))];
    nodes.push(Some(city.node("n2")));
    nodes.push(Some(city.node("n3")));
    let addrs: Vec<_> = nodes.iter().map(|n| n.as_ref().unwrap().http).collect();

    // The first node runs both halls; the others stand by and say where.
    assert_eq!(runner(&addrs, HALL), Some(0));
    assert_eq!(runner(&addrs, OTHER), Some(0));
    let (s, _, body) =
        hallq_tests::http_request(addrs[1], "GET", &format!("/api/v1/halls/{HALL}"), None, &[])
            .unwrap();
    assert_eq!((s, body["error"]["code"].as_str()), (503, Some("standby")));
    assert_eq!(body["runs_on"], "n1");
    let (s, _, health) = hallq_tests::http_request(addrs[1], "GET", "/healthz", None, &[]).unwrap();
    assert_eq!(s, 200, "a standby node is healthy: {health}");
    assert_eq!(health["halls"][HALL]["standby"], true);

    // Load on both halls.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let live = Arc::new(Mutex::new(addrs.clone()));
    let mut kiosks = Vec::new();
    for hall in [HALL, OTHER] {
        let (live, seen, stop) = (live.clone(), seen.clone(), stop.clone());
        kiosks.push(std::thread::spawn(move || kiosk(hall, live, seen, stop)));
    }
    let mut pads = Vec::new();
    for hall in [HALL, OTHER] {
        pads.push(tokio::spawn(pad(
            hall,
            mqtt_port,
            seen.clone(),
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let kills: usize = std::env::var("HALLQ_LONG_FAILOVER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    // A display of the demo hall, on the shared broker.
    let led = hallq_client::Login {
        host: "127.0.0.1".into(),
        port: mqtt_port,
        hall: HALL.into(),
        user: "led-3".into(),
        password: "demo-led-3-pass".into(),
        tls: None,
    };
    let heartbeat = hallq_contract::Topic::Heartbeat.to_string(HALL);
    let mut display = hallq_tests::Watcher::new(&led, std::slice::from_ref(&heartbeat)).await;
    for round in 0..kills {
        // Kill -9 the node that runs the demo hall, mid-load.
        let victim = runner(&addrs, HALL).expect("some node runs the hall");
        let killed_at = Instant::now();
        let killed_ms = hallq_client::now_ms();
        nodes[victim].take().unwrap().kill9();
        tokio::time::sleep(Duration::from_secs(6)).await;
        // The display hears the hall's heartbeat again, from the new node
        // (so it never shows itself offline).
        display
            .expect(&heartbeat, |v| v["at_ms"].as_i64().unwrap() > killed_ms)
            .await;
        for hall in [HALL, OTHER] {
            let gap = outage(&seen.lock().unwrap().acked_at[hall], killed_at);
            eprintln!("round {round}: {hall} answered nothing for {gap:?} around the kill");
            assert!(
                gap < Duration::from_secs(6),
                "{hall} did not continue on another node"
            );
        }
        let runs = runner(&addrs, HALL).expect("another node runs the hall");
        assert_ne!(runs, victim);
        // The killed node comes back: it stands by (the others hold the
        // halls), whatever its own name says.
        nodes[victim] = Some(city.node(&format!("n{}", victim + 1)));
        let back = nodes[victim].as_ref().unwrap().http;
        live.lock().unwrap()[victim] = back;
        let (s, _, body) =
            hallq_tests::http_request(back, "GET", &format!("/api/v1/halls/{HALL}"), None, &[])
                .unwrap();
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (503, Some("standby")),
            "{body}"
        );
    }

    // Pause the node that runs the demo hall (SIGSTOP): another takes the
    // lease after it expires; the paused one, let go on, is fenced.
    let addrs: Vec<_> = nodes.iter().map(|n| n.as_ref().unwrap().http).collect();
    let paused = runner(&addrs, HALL).expect("some node runs the hall");
    let pid = nodes[paused].as_ref().unwrap().pid().to_string();
    let signal = |sig: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    signal("-STOP");
    let stopped_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (gap, count_at_resume) = {
        let s = seen.lock().unwrap();
        (
            outage(&s.acked_at[HALL], stopped_at),
            s.called.get(HALL).map_or(0, Vec::len),
        )
    };
    eprintln!("pause: {HALL} answered nothing for {gap:?} around the owner's stop");
    assert!(
        gap < Duration::from_secs(6),
        "nobody took the hall over from the paused node"
    );
    signal("-CONT");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (s, _, body) = hallq_tests::http_request(
        addrs[paused],
        "GET",
        &format!("/api/v1/halls/{HALL}"),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (503, Some("standby")),
        "the paused node still runs the hall: {body}"
    );
    assert!(
        seen.lock().unwrap().called.get(HALL).map_or(0, Vec::len) > count_at_resume,
        "the hall stopped calling after the paused node woke"
    );

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for k in kiosks {
        k.join().unwrap();
    }
    for p in pads {
        p.await.unwrap();
    }
    let seen = seen.lock().unwrap();
    for hall in [HALL, OTHER] {
        assert!(
            seen.issued[hall].len() > 20,
            "{hall}: too little load: {seen:?}"
        );
        assert!(
            seen.called[hall].len() > 10,
            "{hall}: too few calls: {seen:?}"
        );
    }
    check_log(&city.pg.url(), &seen);
}
