//! `hallq-restart`: how long the server takes to come back with a long log,
//! and how much memory the rebuilt hall holds.
//!
//! Writes a log of `--events` events (default 1 000 000) — day after day of
//! the demo hall with `--per-day` tickets (default 400), each issued,
//! called, started and finished at one of four windows — through the real
//! core into a real SQLite file, then rebuilds the hall from it the way the
//! server starts (`Engine::load`: open, read and decode the log on one
//! thread while the other replays it), several times, and prints the time
//! and the process's RSS. Finished days leave memory as the replay passes
//! them (`hallq_core::KEEP_DAYS`), so the RSS is that of a week.
//!
//! Run: `cargo run --release -p hallq-bench --bin hallq-restart [-- --events 1000000]`.

use std::path::Path;
use std::time::Instant;

use clap::Parser;
use hallq_core::{Command, DAY_MS, Hall, Id, Millis};
use hallq_server::config;
use hallq_server::engine::{Engine, MqttOut, Sinks};
use hallq_server::store::{Batch, EventStore, OnBreak, SqliteStore};

#[path = "proc_status.rs"]
mod proc_status;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    #[arg(long, default_value_t = 400)]
    per_day: usize,
    /// Rebuilds measured.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Put the log under here (default: the system temp folder).
    #[arg(long)]
    data_under: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = match &args.data_under {
        Some(base) => tempfile::tempdir_in(base)?,
        None => tempfile::tempdir()?,
    };
    let mut cfg =
        config::load_hall(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml"))?;
    cfg.hours = None;
    for s in &mut cfg.services {
        s.daily_cap = 0;
    }
    let path = dir.path().join("hall.db");
    let t = Instant::now();
    let (days, events) = write_log(&cfg, &path, args.events, args.per_day)?;
    println!(
        "hallq-restart: wrote {events} events ({days} days of {} tickets) in {:.1} s, log {} MB",
        args.per_day,
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&path)?.len() / 1_000_000
    );
    {
        let t = Instant::now();
        let mut store = SqliteStore::open(&path)?;
        let records = store.records()?;
        let read = t.elapsed();
        let t = Instant::now();
        let hall = Hall::replay(cfg.clone(), &records);
        println!(
            "  of which: read and decode {:.3} s, replay {:.3} s (seq {})",
            read.as_secs_f64(),
            t.elapsed().as_secs_f64(),
            hall.seq()
        );
    }
    for run in 1..=args.runs {
        // Without the chain's check first, then with it (as a start does).
        for check in [OnBreak::Skip, OnBreak::Refuse] {
            let (sinks, _keep) = sinks();
            let t = Instant::now();
            let store = SqliteStore::open(&path)?.on_break(check);
            let engine = Engine::load(cfg.clone(), Box::new(store), sinks)?;
            let took = t.elapsed();
            println!(
                "rebuild {run}{}: {:.3} s to seq {}, {} tickets in memory, RSS {} MB",
                if check == OnBreak::Skip {
                    " (chain not checked)"
                } else {
                    ""
                },
                took.as_secs_f64(),
                engine.hall().seq(),
                engine.hall().tickets_in_memory(),
                proc_status::rss_mb(std::process::id())
            );
        }
    }
    // The first start after an upgrade signs every finished day; then
    // `hallq verify` over the whole log and those digests.
    let digests = hallq_server::digest::Digests::new(
        dir.path(),
        &cfg,
        hallq_server::http::LogSource::Sqlite(path.clone()),
        None,
    )?;
    let t = Instant::now();
    let (made, broken) = digests.sign_finished_days()?;
    anyhow::ensure!(broken.is_none(), "the bench's own log breaks: {broken:?}");
    println!(
        "signed {} day digests in {:.3} s",
        made.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let report = hallq_server::verify::verify_file(
        &path,
        None,
        Vec::new(),
        Some(&digests.signer.public_hex()),
    )?;
    anyhow::ensure!(report.clean(), "{report}");
    println!(
        "hallq verify: {} records and {} digests in {:.3} s, RSS {} MB",
        report.records,
        report.digests.len(),
        t.elapsed().as_secs_f64(),
        proc_status::rss_mb(std::process::id())
    );
    Ok(())
}

/// Day after day of tickets through the core, appended in batches.
fn write_log(
    cfg: &hallq_core::HallConfig,
    path: &Path,
    events: u64,
    per_day: usize,
) -> anyhow::Result<(u64, u64)> {
    let mut store = SqliteStore::open(path)?;
    let mut hall = Hall::new(cfg.clone());
    let windows: Vec<Id> = ["2", "3", "4", "5"]
        .map(|w| Id::parse(w).expect("id"))
        .into();
    let business = Id::parse("business")?;
    let mut batch = Vec::new();
    let mut day = 0u64;
    let mut now: Millis = 1_800_000_000_000;
    let push = |hall: &mut Hall, now: Millis, cmd: Command, batch: &mut Vec<_>| {
        if let Ok(r) = hall.handle(now, cmd) {
            batch.extend(r);
        }
    };
    while hall.seq() < events {
        day += 1;
        now = (now / DAY_MS + 1) * DAY_MS + 8 * 3_600_000;
        push(&mut hall, now, Command::Tick, &mut batch);
        for w in &windows {
            let cmd = Command::Open {
                window: w.clone(),
                clerk: Some(format!("clerk-{w}")),
            };
            push(&mut hall, now, cmd, &mut batch);
        }
        for i in 0..per_day {
            now += 60_000;
            let cmd = Command::IssueTicket {
                service: business.clone(),
                token: format!("t{day}-{i}"),
                class: None,
                citizen: None,
            };
            push(&mut hall, now, cmd, &mut batch);
            let w = windows[i % windows.len()].clone();
            for cmd in [
                Command::CallNext {
                    window: w.clone(),
                    service: None,
                },
                Command::Start { window: w.clone() },
                Command::Finish { window: w },
            ] {
                now += 1_000;
                push(&mut hall, now, cmd, &mut batch);
            }
            if batch.len() >= 5_000 {
                store.append(&Batch {
                    records: std::mem::take(&mut batch),
                    ..Batch::default()
                })?;
            }
        }
    }
    store.append(&Batch {
        records: batch,
        ..Batch::default()
    })?;
    Ok((day, hall.seq()))
}

fn sinks() -> (Sinks, impl Sized) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (stream, _) = tokio::sync::broadcast::channel(16);
    let (wake, _wake) = tokio::sync::watch::channel(None);
    let (storage, _storage) = tokio::sync::watch::channel(None);
    (
        Sinks {
            mqtt: MqttOut::Client(tx),
            stream,
            wake,
            storage,
            stages: Default::default(),
            lease: hallq_server::lease::Lease::always("xuchang"),
        },
        (rx, _wake, _storage),
    )
}
