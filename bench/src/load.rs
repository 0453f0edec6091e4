//! `hallq-load`: a busy city hall against one server.
//!
//! Starts the `hallq` binary (release, its own process, embedded broker,
//! SQLite log with `synchronous=FULL`) with the demo hall, `--windows` more
//! windows (default 200: a city hall's floors) and `--devices` more
//! devices (default 10 000: three in four window displays, one in ten
//! pads, the rest rating pads, each with its own password and subscribed
//! as its role is: its window's state and the heartbeat). One in twelve
//! belongs to window 3, the measured one (834 of 10 000, as many as
//! twelve windows would each have); the rest are spread over the new
//! windows. Then, for `--seconds`:
//!
//! - kiosks take tickets over HTTP (`--tickets-per-s`, default 1 200);
//! - the pads of the new windows call (`call_next`, then `start`; the next
//!   `call_next` finishes the ticket) at `--calls-per-s` calls in all
//!   (default 1 000);
//! - `--watchers` WebSocket clients (default 1 000) watch the hall's stream;
//! - window 3's pad sends one command at a time and the clock stops when
//!   window 3's display receives the new state: call → display under load.
//!
//! At the end every device of window 3 must have received as many window 3
//! states as the measuring display did: the difference is what was lost.
//! Prints connect time, call → display p50/p90/p99, the server's RSS (peak
//! of one sample a second) and the losses.
//!
//! Run: `cargo build --release -p hallq-server -p hallq-bench && target/release/hallq-load`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use hallq_client::Login;
use hallq_contract::Topic;
use proc_status::{cpu_s, rss_mb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    devices: usize,
    #[arg(long, default_value_t = 200)]
    windows: usize,
    #[arg(long, default_value_t = 1_000)]
    calls_per_s: u32,
    #[arg(long, default_value_t = 1_200)]
    tickets_per_s: u32,
    #[arg(long, default_value_t = 1_000)]
    watchers: usize,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// The `hallq` binary (default: beside this one).
    #[arg(long)]
    hallq: Option<PathBuf>,
    /// Run the hall behind Mosquitto (`/usr/sbin/mosquitto`, with the ACL
    /// and password files `hallq mosquitto` writes) instead of the
    /// embedded broker.
    #[arg(long)]
    mosquitto: bool,
}

#[path = "drive.rs"]
mod drive;
#[path = "proc_status.rs"]
mod proc_status;

use drive::{device, free_port, kiosk, pad, wait_healthy};

const HALL: &str = "xuchang";
const MEASURED: &str = "3";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let hall_file = dir.path().join("hall.toml");
    let devices = write_hall(&hall_file, args.devices, args.windows)?;
    let (http, mqtt) = (free_port()?, free_port()?);
    let bin = args.hallq.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("own path")
            .with_file_name("hallq")
    });
    let mosquitto_child = if args.mosquitto {
        Some(mosquitto(&bin, &hall_file, dir.path(), mqtt).await?)
    } else {
        None
    };
    let mut command = tokio::process::Command::new(&bin);
    command
        .args(["serve", "--hall"])
        .arg(&hall_file)
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--http", &format!("127.0.0.1:{http}")]);
    if args.mosquitto {
        command.args([
            "--broker-url",
            &format!("mqtt://hallq-server:{MOSQUITTO_SERVER_PASSWORD}@127.0.0.1:{mqtt}"),
            "--mqtt",
            "127.0.0.1:0",
        ]);
    } else {
        command.args(["--mqtt", &format!("127.0.0.1:{mqtt}")]);
    }
    let mut server = command
        .args(["--always-open", "--demo"])
        .args(["--public-writes-per-minute", "1000000"])
        .args(["--public-reads-per-minute", "1000000"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", bin.display()))?;
    let pid = server.id().expect("server pid");
    wait_healthy(http).await?;
    println!(
        "hallq-load: server pid {pid}, {} extra devices, {} calls/s, {} tickets/s, {} watchers, {} s",
        args.devices, args.calls_per_s, args.tickets_per_s, args.watchers, args.seconds
    );
    let rss_idle = rss_mb(pid);
    let login = |user: &str, password: &str| Login {
        host: "127.0.0.1".into(),
        port: mqtt,
        hall: HALL.into(),
        user: user.into(),
        password: password.into(),
        tls: None,
    };

    // Every device connects and subscribes as its role does.
    let t = Instant::now();
    let gate = Arc::new(Semaphore::new(256));
    let mut measured_counts = Vec::new();
    let mut joins = Vec::new();
    for d in &devices {
        let count = Arc::new(AtomicU64::new(0));
        if d.window == MEASURED {
            measured_counts.push(count.clone());
        }
        let (l, window, gate) = (login(&d.id, &d.password), d.window.clone(), gate.clone());
        let role = d.role;
        joins.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("gate");
            device(l, role, window, count, permit).await
        }));
    }
    for j in joins {
        j.await??;
    }
    let connect_s = t.elapsed().as_secs_f64();
    println!(
        "connect, say online and subscribe {} devices: {connect_s:.1} s; server RSS {} MB (idle before: {rss_idle} MB)",
        devices.len(),
        rss_mb(pid)
    );
    // Every device's retained "online" reached the server (its health
    // table, which the dashboard shows), all of them arriving together.
    let mut online = 0;
    for _ in 0..50 {
        online = devices_online(http).await?;
        if online >= devices.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "devices the server knows online: {online} of {} (statuses lost: {})",
        devices.len(),
        devices.len().saturating_sub(online)
    );

    // Watchers of the stream.
    let watched = Arc::new(AtomicU64::new(0));
    for _ in 0..args.watchers {
        let url = format!("ws://127.0.0.1:{http}/api/v1/halls/{HALL}/stream");
        let watched = watched.clone();
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
                return;
            };
            while let Some(Ok(_)) = ws.next().await {
                watched.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    // The measuring window: its display first (the reference count).
    let reference = Arc::new(AtomicU64::new(0));
    let mut states = drive::measuring_display(
        login("led-3", "demo-led-3-pass"),
        Topic::WindowState(MEASURED).to_string(HALL),
        reference.clone(),
    )
    .await?;
    let stop = Arc::new(AtomicBool::new(false));

    // Kiosks: tickets over HTTP, spread over the services.
    let issued = Arc::new(AtomicU64::new(0));
    let kiosks = 32;
    for k in 0..kiosks {
        let (stop, issued) = (stop.clone(), issued.clone());
        // At least one ticket a second each: window 3 needs someone to call.
        let per_s = (args.tickets_per_s / kiosks).max(1);
        tokio::spawn(async move {
            kiosk(http, (HALL, "kiosk-1"), k, f64::from(per_s), stop, issued).await
        });
    }
    // Pads of the new windows.
    let pads: Vec<String> = (1..=args.windows).map(|w| format!("w{w}")).collect();
    let called = Arc::new(AtomicU64::new(0));
    let per_pad = f64::from(args.calls_per_s) / pads.len() as f64;
    for w in pads.into_iter().filter(|_| per_pad > 0.0) {
        let l = login(&format!("pad-{w}"), &format!("load-pass-{w}"));
        let (stop, called) = (stop.clone(), called.clone());
        tokio::spawn(async move { pad(l, w, per_pad, stop, called).await });
    }
    // Let the queues fill a little.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pad3 = drive::MeasuringPad::open(login("pad-3", "demo-pad-3-pass"), MEASURED).await?;
    let (calls0, issued0) = (
        called.load(Ordering::Relaxed),
        issued.load(Ordering::Relaxed),
    );
    let broker_pid = mosquitto_child.as_ref().and_then(|m| m.id());
    let server_cpu = || cpu_s(pid) + broker_pid.map_or(0.0, cpu_s);
    let cpu0 = (server_cpu(), cpu_s(std::process::id()));
    let mut rss_peak = 0;
    let m = pad3
        .measure(&mut states, args.seconds, Duration::from_millis(5), || {
            rss_peak = rss_peak.max(rss_mb(pid))
        })
        .await?;
    let secs = m.secs;
    let cpu = (server_cpu() - cpu0.0, cpu_s(std::process::id()) - cpu0.1);
    let calls = (called.load(Ordering::Relaxed) - calls0) as f64 / secs;
    let tickets = (issued.load(Ordering::Relaxed) - issued0) as f64 / secs;
    stop.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let q = |p: f64| m.q(p);
    let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
    println!(
        "load held: {calls:.0} calls/s (call_next) + {tickets:.0} tickets/s, {} stream messages to watchers",
        watched.load(Ordering::Relaxed)
    );
    println!(
        "call → display under load ({} samples, {} without a state, {} refused: queue empty): p50 {}  p90 {}  p99 {}  max {}",
        m.samples.len(),
        m.misses,
        m.refused,
        us(q(0.5)),
        us(q(0.9)),
        us(q(0.99)),
        us(m.q(1.0))
    );
    let want = reference.load(Ordering::Relaxed);
    let lost: u64 = measured_counts
        .iter()
        .map(|c| want.saturating_sub(c.load(Ordering::Relaxed)))
        .sum();
    println!(
        "window {MEASURED}: {} devices, {want} states each expected, {lost} deliveries lost",
        measured_counts.len()
    );
    println!("server RSS: peak {rss_peak} MB under load");
    println!(
        "CPU while measuring ({secs:.1} s on {} cores): server{} {:.1} s ({:.0} %), load generator {:.1} s ({:.0} %)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if broker_pid.is_some() {
            " + mosquitto"
        } else {
            ""
        },
        cpu.0,
        100.0 * cpu.0 / secs,
        cpu.1,
        100.0 * cpu.1 / secs
    );
    println!(
        "server CPU per window-{MEASURED} state delivered to its {} devices: {:.1} µs a delivery (all the server's work counted)",
        measured_counts.len(),
        cpu.0 * 1e6 / (want as f64 * measured_counts.len().max(1) as f64)
    );
    server.kill().await?;
    Ok(())
}

struct Device {
    id: String,
    password: String,
    role: &'static str,
    window: String,
}

/// The demo hall, no daily caps, plus `windows` windows (each with its
/// pad) and `n` devices.
fn write_hall(path: &Path, n: usize, windows: usize) -> anyhow::Result<Vec<Device>> {
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml"))?;
    let mut text: String = demo
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("daily_cap") {
                "daily_cap = 0".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    for w in 1..=windows {
        text.push_str(&format!(
            "\n[[windows]]\nid = \"w{w}\"\nname = \"{w}号窗口\"\nzone = \"front\"\nserves = [\"business\", \"property\"]\n\
             \n[[devices]]\nid = \"pad-w{w}\"\nrole = \"pad\"\nwindow = \"w{w}\"\npassword = \"load-pass-w{w}\"\n"
        ));
    }
    let mut devices = Vec::with_capacity(n);
    for i in 0..n {
        let role = match i % 20 {
            0 | 1 => "pad",
            2..=4 => "rating_pad",
            _ => "display",
        };
        let window = if i % 12 == 2 {
            MEASURED.to_owned()
        } else {
            format!("w{}", i % windows + 1)
        };
        let d = Device {
            id: format!("load-{i}"),
            password: format!("load-pass-{i}"),
            role,
            window,
        };
        text.push_str(&format!(
            "\n[[devices]]\nid = \"{}\"\nrole = \"{role}\"\nwindow = \"{}\"\npassword = \"{}\"\n",
            d.id, d.window, d.password
        ));
        devices.push(d);
    }
    std::fs::write(path, text)?;
    Ok(devices)
}

const MOSQUITTO_SERVER_PASSWORD: &str = "load-server-secret";

/// Mosquitto on `port` with the hall's ACL and (hashed) passwords.
async fn mosquitto(
    hallq: &Path,
    hall: &Path,
    dir: &Path,
    port: u16,
) -> anyhow::Result<tokio::process::Child> {
    let out = tokio::process::Command::new(hallq)
        .args(["mosquitto", "--hall"])
        .arg(hall)
        .arg("--out")
        .arg(dir)
        .args(["--server-password", MOSQUITTO_SERVER_PASSWORD])
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "hallq mosquitto: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = dir.join("mosquitto.conf");
    // `user root`: started as root it would drop to its own user and could
    // not read the files in our private temporary folder. The queue limits
    // as the embedded broker's.
    std::fs::write(
        &conf,
        format!(
            "user root\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\n\
             set_tcp_nodelay true\npersistence false\nmax_queued_messages 10000\nmax_inflight_messages 256\n",
            dir.join("passwd").display(),
            dir.join("acl").display()
        ),
    )?;
    let child = tokio::process::Command::new("/usr/sbin/mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start /usr/sbin/mosquitto: {e}"))?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("mosquitto did not start")
}

/// How many devices the server's hall snapshot lists as online.
async fn devices_online(http: u16) -> anyhow::Result<usize> {
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", http)).await?;
    c.write_all(
        format!("GET /api/v1/halls/{HALL} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await?;
    let mut text = String::new();
    c.read_to_string(&mut text).await?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v: serde_json::Value = serde_json::from_str(body)?;
    Ok(v["devices"]
        .as_object()
        .map_or(0, |m| m.values().filter(|d| d["online"] == true).count()))
}
