//! `hallq-city`: many halls in one server process (issue 13).
//!
//! Writes `--halls` copies of the demo hall (ids `h001`, `h002`, …, each
//! with its twelve windows and forty devices, device ids prefixed with the
//! hall's id), starts the `hallq` binary (release, its own process,
//! embedded broker, SQLite logs `synchronous=FULL`, or `--store
//! postgres://…`) with `--halls` on that folder, and connects every
//! window's display, pad and rating pad of every hall (36 a hall), each
//! subscribed as its role is. Then, for `--seconds`:
//!
//! - every hall's kiosk takes `--tickets-per-s` tickets a second;
//! - every hall's window-4 pad calls `--calls-per-s` (each call followed by
//!   `start`);
//! - window 3 of the first hall sends one command at a time and the clock
//!   stops when its display receives the new state: call → display with
//!   all the other halls busy (that hall's kiosk issues 60 more tickets a
//!   second, so that its calls never find the queue empty).
//!
//! Prints the start time, RSS idle and under load, call → display
//! p50/p90/p99, the load held, CPU, and the time to start again with the
//! logs the run wrote (every hall rebuilt).
//!
//! Run: `cargo build --release -p hallq-server -p hallq-bench && target/release/hallq-city`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use hallq_client::Login;
use hallq_contract::Topic;
use proc_status::{cpu_s, rss_mb};
use tokio::sync::Semaphore;

#[path = "drive.rs"]
mod drive;
#[path = "proc_status.rs"]
mod proc_status;

use drive::{device, free_port, kiosk, pad, wait_healthy};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100)]
    halls: usize,
    /// Calls a second at each hall (its window 4).
    #[arg(long, default_value_t = 1.0)]
    calls_per_s: f64,
    /// Tickets a second at each hall.
    #[arg(long, default_value_t = 1.0)]
    tickets_per_s: f64,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Keep the logs in this PostgreSQL database instead of SQLite files.
    #[arg(long)]
    store: Option<String>,
    /// The `hallq` binary (default: beside this one).
    #[arg(long)]
    hallq: Option<PathBuf>,
}

const MEASURED: &str = "3";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let halls_dir = dir.path().join("halls");
    std::fs::create_dir_all(&halls_dir)?;
    let ids: Vec<String> = (1..=args.halls).map(|i| format!("h{i:03}")).collect();
    for (i, id) in ids.iter().enumerate() {
        write_hall(&halls_dir.join(format!("{id}.toml")), id, i + 1)?;
    }
    let bin = args.hallq.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("own path")
            .with_file_name("hallq")
    });
    let (http, mqtt) = (free_port()?, free_port()?);
    let start = || {
        let mut command = tokio::process::Command::new(&bin);
        command
            .arg("serve")
            .arg("--halls")
            .arg(&halls_dir)
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(["--http", &format!("127.0.0.1:{http}")])
            .args(["--mqtt", &format!("127.0.0.1:{mqtt}")])
            .args(["--always-open", "--demo"])
            .args(["--public-writes-per-minute", "1000000"])
            .args(["--public-reads-per-minute", "1000000"])
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .kill_on_drop(true);
        if let Some(url) = &args.store {
            command.args(["--store", url]);
        }
        command.spawn()
    };
    let t = Instant::now();
    let mut server = start()?;
    let pid = server.id().expect("server pid");
    wait_healthy(http).await?;
    let start_s = t.elapsed().as_secs_f64();
    let rss_idle = rss_mb(pid);
    println!(
        "hallq-city: {} halls in one process (pid {pid}), {}; started in {start_s:.2} s, RSS {rss_idle} MB",
        args.halls,
        if args.store.is_some() {
            "PostgreSQL log"
        } else {
            "SQLite logs"
        }
    );
    let login = |hall: &str, user: &str, password: &str| Login {
        host: "127.0.0.1".into(),
        port: mqtt,
        hall: hall.into(),
        user: user.into(),
        password: password.into(),
        tls: None,
    };

    // Every window's display, pad and rating pad of every hall.
    let t = Instant::now();
    let gate = Arc::new(Semaphore::new(256));
    let mut joins = Vec::new();
    for id in &ids {
        for w in 1..=12 {
            for (kind, role) in [("led", "display"), ("pad", "pad"), ("rate", "rating_pad")] {
                let l = login(
                    id,
                    &format!("{id}-{kind}-{w}"),
                    &format!("demo-{kind}-{w}-pass"),
                );
                let gate = gate.clone();
                let count = Arc::new(AtomicU64::new(0));
                joins.push(tokio::spawn(async move {
                    let permit = gate.acquire_owned().await.expect("gate");
                    device(l, role, w.to_string(), count, permit).await
                }));
            }
        }
    }
    let devices = joins.len();
    for j in joins {
        j.await??;
    }
    println!(
        "connect, say online and subscribe {devices} devices: {:.1} s; server RSS {} MB",
        t.elapsed().as_secs_f64(),
        rss_mb(pid)
    );

    // The measured window's display.
    let first = ids[0].clone();
    let mut states = drive::measuring_display(
        login(&first, &format!("{first}-led-3"), "demo-led-3-pass"),
        Topic::WindowState(MEASURED).to_string(&first),
        Arc::default(),
    )
    .await?;

    // The load: a kiosk and a calling pad in every hall.
    let stop = Arc::new(AtomicBool::new(false));
    let (issued, called) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    for (k, id) in ids.iter().enumerate() {
        let (halt, issued, hall) = (stop.clone(), issued.clone(), id.clone());
        let per_s = args.tickets_per_s;
        tokio::spawn(async move {
            let user = format!("{hall}-kiosk-1");
            kiosk(http, (&hall, &user), k as u32, per_s, halt, issued).await
        });
        let l = login(id, &format!("{id}-pad-4"), "demo-pad-4-pass");
        let (stop, called) = (stop.clone(), called.clone());
        let per_s = args.calls_per_s;
        tokio::spawn(async move { pad(l, "4".into(), per_s, stop, called).await });
    }
    // The measured window calls far more often than a hall issues:
    // tickets enough for it (a call on an empty queue changes no state).
    {
        let (stop, issued, hall) = (stop.clone(), Arc::new(AtomicU64::new(0)), first.clone());
        tokio::spawn(async move {
            let user = format!("{hall}-kiosk-1");
            kiosk(http, (&hall, &user), 0, 60.0, stop, issued).await
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pad3 = drive::MeasuringPad::open(
        login(&first, &format!("{first}-pad-3"), "demo-pad-3-pass"),
        MEASURED,
    )
    .await?;
    let (calls0, issued0) = (
        called.load(Ordering::Relaxed),
        issued.load(Ordering::Relaxed),
    );
    let cpu0 = cpu_s(pid);
    let mut rss_peak = 0;
    let m = pad3
        .measure(&mut states, args.seconds, Duration::from_millis(20), || {
            rss_peak = rss_peak.max(rss_mb(pid))
        })
        .await?;
    let secs = m.secs;
    let cpu = cpu_s(pid) - cpu0;
    let calls = (called.load(Ordering::Relaxed) - calls0) as f64 / secs;
    let tickets = (issued.load(Ordering::Relaxed) - issued0) as f64 / secs;
    stop.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let q = |p: f64| m.q(p);
    let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    println!(
        "load held: {calls:.0} calls/s + {tickets:.0} tickets/s over {} halls",
        ids.len()
    );
    println!(
        "call → display at {first} under that load ({} samples, {} without a state, {} refused: queue empty): p50 {}  p90 {}  p99 {}",
        m.samples.len(),
        m.misses,
        m.refused,
        us(q(0.5)),
        us(q(0.9)),
        us(q(0.99))
    );
    println!(
        "server: RSS peak {rss_peak} MB, CPU {cpu:.1} s in {secs:.1} s ({:.0} % of one core)",
        cpu / secs * 100.0
    );

    // Start again on the logs this run wrote: every hall rebuilt.
    server.kill().await?;
    let t = Instant::now();
    let mut server = start()?;
    wait_healthy(http).await?;
    println!(
        "start again with every hall's log: {:.2} s, RSS {} MB",
        t.elapsed().as_secs_f64(),
        rss_mb(server.id().expect("pid"))
    );
    server.kill().await?;
    Ok(())
}

/// The demo hall as hall `id` (the `n`th): its name, no daily caps, every
/// device id prefixed with the hall's id (one broker, one login each).
fn write_hall(path: &Path, id: &str, n: usize) -> anyhow::Result<()> {
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml"))?;
    let mut section = String::new();
    let mut out = Vec::new();
    for line in demo.lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            section = t.to_owned();
        }
        let line = if t.starts_with("daily_cap") {
            "daily_cap = 0".to_owned()
        } else if section == "[hall]" && t.starts_with("id =") {
            format!("id = \"{id}\"")
        } else if section == "[hall]" && t.starts_with("name =") {
            format!("name = \"第{n}便民服务中心\"")
        } else if section == "[[devices]]" && t.starts_with("id = \"") {
            t.replacen("id = \"", &format!("id = \"{id}-"), 1)
        } else {
            line.to_owned()
        };
        out.push(line);
    }
    std::fs::write(path, out.join("\n"))?;
    Ok(())
}
