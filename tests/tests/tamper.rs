//! The tamper-evident log (电子监察): three past days of the demo hall in a
//! log, today's tickets taken through the real server, the finished days'
//! digests signed by it — then the log is changed in copies in every way
//! someone holding the file could: one byte of one event edited, a record
//! deleted, a record inserted, two swapped, the last day cut off, the log
//! rewritten with its hashes recomputed, a digest forged. `hallq verify`
//! names each change and the days it touches (exit 1), a clean log passes
//! (exit 0), and the server will not start on a broken chain unless told to.

use std::path::{Path, PathBuf};
use std::process::Command;

use hallq_core::{Command as Cmd, DAY_MS, Hall, Id};
use hallq_server::chain;
use hallq_server::store::{Batch, EventStore, SqliteStore};
use hallq_tests::{HALL, MANAGER, Server, Watcher, binary, demo_hall, topic};
use rusqlite::{Connection, params};
use serde_json::Value;

/// Three finished days before today, five tickets each at window 2.
fn past_days(data: &Path) {
    let mut cfg = hallq_server::config::load_hall(&demo_hall()).unwrap();
    cfg.hours = None;
    let mut hall = Hall::new(cfg);
    let mut store = SqliteStore::open(&data.join("hall.db")).unwrap();
    let (w, business) = (Id::parse("2").unwrap(), Id::parse("business").unwrap());
    let today = hallq_client::now_ms() / DAY_MS * DAY_MS;
    for d in (1..=3).rev() {
        // Mid-morning China time, d days ago.
        let now = today - d * DAY_MS + 2 * 3_600_000;
        let mut records = hall.handle(now, Cmd::Tick).unwrap();
        let open = Cmd::Open {
            window: w.clone(),
            clerk: None,
        };
        records.extend(hall.handle(now, open).unwrap_or_default());
        for i in 0..5 {
            let t = now + i * 60_000;
            let issue = Cmd::IssueTicket {
                service: business.clone(),
                token: format!("t{d}-{i}"),
                class: None,
                citizen: None,
            };
            records.extend(hall.handle(t, issue).unwrap());
            for (k, cmd) in [
                Cmd::CallNext {
                    window: w.clone(),
                    service: None,
                },
                Cmd::Start { window: w.clone() },
                Cmd::Finish { window: w.clone() },
            ]
            .into_iter()
            .enumerate()
            {
                records.extend(hall.handle(t + 1_000 * (k as i64 + 1), cmd).unwrap());
            }
        }
        store
            .append(&Batch {
                records,
                ..Batch::default()
            })
            .unwrap();
    }
}

/// `hallq verify` on a data folder: exit code and what it printed.
fn verify(data: &Path, digests: &Path, key: &str) -> (i32, String) {
    let out = Command::new(binary("hallq"))
        .args(["verify", "--data"])
        .arg(data)
        .arg("--digest")
        .arg(digests)
        .args(["--public-key", key])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// What the server said when it would not start on `data`.
fn refusal(data: &Path) -> String {
    match Server::try_start(&demo_hall(), data, &[]) {
        Ok(_) => panic!("hallq started on a broken log"),
        Err(said) => said,
    }
}

/// A copy of the data folder, changed by `f` through SQL.
fn tampered(data: &Path, name: &str, f: impl FnOnce(&Connection)) -> PathBuf {
    let copy = data.with_file_name(format!("tampered-{name}"));
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(data).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
        }
    }
    let conn = Connection::open(copy.join("hall.db")).unwrap();
    f(&conn);
    drop(conn);
    copy
}

/// The seq of the `n`-th (from 0) record of a type.
fn seq_of(conn: &Connection, kind: &str, n: usize) -> i64 {
    let pattern = format!("{{\"type\":\"{kind}\"%");
    conn.query_row(
        "SELECT seq FROM events WHERE body LIKE ?1 ORDER BY seq LIMIT 1 OFFSET ?2",
        params![pattern, n as i64],
        |r| r.get(0),
    )
    .unwrap()
}

/// The hall's day (`2026-11-26`) of a digest covering `seq`.
fn day_of(digests: &[Value], seq: i64) -> String {
    digests
        .iter()
        .map(|d| &d["digest"])
        .find(|d| d["first_seq"].as_i64().unwrap() <= seq && seq <= d["last_seq"].as_i64().unwrap())
        .map(|d| d["day"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no digest covers {seq}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_tampering_is_found_and_named() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    past_days(&data);

    // The server signs the finished days (on demand here, at most a minute
    // after midnight on its own) and publishes the newest.
    let server = Server::start(&data);
    server.take("business");
    let (status, _, today) = server.http_with(
        "GET",
        &format!("/api/v1/halls/{HALL}/digests/today"),
        None,
        &[MANAGER],
    );
    assert_eq!(status, 200, "{today}");
    assert_eq!(today["digest"]["complete"], false);
    assert!(today["digest"]["counts"]["ticket_issued"].as_u64().unwrap() >= 1);
    let (status, listed) = server.http("GET", &format!("/api/v1/halls/{HALL}/digests"), None);
    assert_eq!(status, 200);
    let digests = listed.as_array().unwrap().clone();
    assert_eq!(digests.len(), 3, "{listed}");
    for d in &digests {
        assert_eq!(d["digest"]["complete"], true);
        assert_eq!(d["digest"]["hall"], HALL);
        assert_eq!(d["digest"]["counts"]["ticket_issued"], 5, "{d}");
    }
    let (_, key) = server.http("GET", &format!("/api/v1/halls/{HALL}/digests/key"), None);
    let key = key["public_key"].as_str().unwrap().to_owned();
    assert_eq!(
        std::fs::read_to_string(data.join("sign.pub"))
            .unwrap()
            .trim(),
        key
    );
    // Staff only, for the day so far.
    let (status, _) = server.http("GET", &format!("/api/v1/halls/{HALL}/digests/today"), None);
    assert_eq!(status, 401);
    let mut watcher = Watcher::new(
        &server.device("manager"),
        &[topic(hallq_contract::Topic::Digest)],
    )
    .await;
    let retained = watcher
        .expect(&topic(hallq_contract::Topic::Digest), |_| true)
        .await;
    assert_eq!(retained, digests[2], "the newest digest, retained");
    assert_eq!(server.terminate(), Some(0));

    // The supervisor's copies: the day digests and the key.
    let copies = root.path().join("digests.json");
    std::fs::write(&copies, serde_json::to_string(&digests).unwrap()).unwrap();

    let (code, out) = verify(&data, &copies, &key);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chain: whole"), "{out}");
    assert!(out.contains("result: unchanged"), "{out}");
    assert_eq!(
        out.matches(": matches").count(),
        6,
        "3 given + 3 kept: {out}"
    );

    // One byte of one event.
    let mut edited_seq = 0;
    let edited = tampered(&data, "edit", |c| {
        edited_seq = seq_of(c, "ticket_called", 7);
        let n = c
            .execute(
                "UPDATE events SET body = replace(body, '\"window\":\"2\"', '\"window\":\"3\"') WHERE seq = ?1",
                [edited_seq],
            )
            .unwrap();
        assert_eq!(n, 1);
    });
    let (code, out) = verify(&edited, &copies, &key);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("[edited] from record {edited_seq}:")),
        "{out}"
    );
    assert!(
        out.contains(&format!("days affected: {}", day_of(&digests, edited_seq))),
        "{out}"
    );
    assert!(out.contains("result: CHANGED"), "{out}");
    // The server will not run on it, and says where to look …
    let refused = refusal(&edited);
    assert!(
        refused.contains(&format!("hash chain breaks at record {edited_seq}")),
        "{refused}"
    );
    assert!(refused.contains("hallq verify"), "{refused}");
    // … unless told to, loudly.
    let accepted = Server::start_with(&edited, &["--accept-broken-log"]);
    accepted.take("business");
    assert_eq!(accepted.terminate(), Some(0));

    // A record deleted.
    let mut deleted_seq = 0;
    let deleted = tampered(&data, "delete", |c| {
        deleted_seq = seq_of(c, "ticket_issued", 3);
        c.execute("DELETE FROM events WHERE seq = ?1", [deleted_seq])
            .unwrap();
    });
    let (code, out) = verify(&deleted, &copies, &key);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "[deleted] from record {deleted_seq}: deleted: record {deleted_seq} is missing"
        )),
        "{out}"
    );
    let refused = refusal(&deleted);
    assert!(
        refused.contains(&format!("record {deleted_seq} is missing")),
        "{refused}"
    );

    // A record inserted, the later ones renumbered to make room.
    let mut inserted_at = 0;
    let inserted = tampered(&data, "insert", |c| {
        inserted_at = seq_of(c, "service_finished", 6) + 1;
        c.execute_batch(&format!(
            "UPDATE events SET seq = seq + 1000000 WHERE seq >= {inserted_at};
             UPDATE events SET seq = seq - 999999 WHERE seq >= 1000000;"
        ))
        .unwrap();
        let (at, body): (i64, String) = c
            .query_row(
                "SELECT at_ms, body FROM events WHERE seq = ?1",
                [inserted_at - 1],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        c.execute(
            "INSERT INTO events (seq, at_ms, body) VALUES (?1, ?2, ?3)",
            params![inserted_at, at + 1, body],
        )
        .unwrap();
    });
    let (code, out) = verify(&inserted, &copies, &key);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("[inserted] from record {inserted_at}")),
        "{out}"
    );
    assert!(
        !out.contains("[edited]") && !out.contains("[deleted]"),
        "one change, named once: {out}"
    );

    // Two records swapped.
    let (mut a, mut b) = (0, 0);
    let swapped = tampered(&data, "swap", |c| {
        a = seq_of(c, "ticket_called", 10);
        b = seq_of(c, "ticket_called", 12);
        c.execute_batch(&format!(
            "UPDATE events SET seq = -1 WHERE seq = {a};
             UPDATE events SET seq = {a} WHERE seq = {b};
             UPDATE events SET seq = {b} WHERE seq = -1;"
        ))
        .unwrap();
    });
    let (code, out) = verify(&swapped, &copies, &key);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "reordered: records {a} and {b} are in each other's place"
        )),
        "{out}"
    );

    // The last day cut off: the chain that remains is whole, the digests
    // say what is missing.
    let last = digests[2]["digest"].clone();
    let truncated = tampered(&data, "truncate", |c| {
        c.execute(
            "DELETE FROM events WHERE seq >= ?1",
            [last["first_seq"].as_i64().unwrap()],
        )
        .unwrap();
        c.execute("DELETE FROM digests", []).unwrap();
    });
    let (code, out) = verify(&truncated, &copies, &key);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("chain: whole"), "{out}");
    assert!(
        out.contains(&format!(
            "digest {} (records {}–{}",
            last["day"].as_str().unwrap(),
            last["first_seq"],
            last["last_seq"]
        )) && out.contains(&format!(
            "DELETED: the log ends at record {}",
            last["first_seq"].as_i64().unwrap() - 1
        )),
        "{out}"
    );

    // Rewritten by someone who knows the formula: one record changed and
    // every hash from there recomputed. Only the digests show it.
    let rewrite = |c: &Connection, keep_digests: bool| {
        let from = seq_of(c, "ticket_issued", 2);
        c.execute(
            "UPDATE events SET body = replace(body, 'business', 'social') WHERE seq = ?1",
            [from],
        )
        .unwrap();
        let mut rows: Vec<(i64, i64, String)> = c
            .prepare("SELECT seq, at_ms, body FROM events ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut prev = chain::GENESIS;
        for (seq, at, body) in rows.drain(..) {
            prev = chain::link(&prev, seq as u64, at, &body);
            c.execute(
                "UPDATE events SET hash = ?2 WHERE seq = ?1",
                params![seq, &prev[..]],
            )
            .unwrap();
        }
        if !keep_digests {
            c.execute("DELETE FROM digests", []).unwrap();
        }
    };
    // With the digests kept in the log left in place, the server itself
    // sees the rewrite at its start: the first day's signed head is gone.
    let rewritten_kept = tampered(&data, "rewrite-kept", |c| rewrite(c, true));
    let refused = refusal(&rewritten_kept);
    assert!(
        refused.contains(&format!(
            "breaks at record {}: record {} is not what the day's digest signed",
            digests[0]["digest"]["last_seq"], digests[0]["digest"]["last_seq"]
        )),
        "{refused}"
    );
    // Without them, only the supervisor's copies show it.
    let rewritten = tampered(&data, "rewrite", |c| rewrite(c, false));
    let (code, out) = verify(&rewritten, &copies, &key);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("chain: whole"), "{out}");
    assert!(
        out.contains("rewritten with its hashes recomputed"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "changed at or before record {} (the earliest digest that no longer matches, {})",
            digests[0]["digest"]["last_seq"],
            digests[0]["digest"]["day"].as_str().unwrap()
        )),
        "{out}"
    );
    assert!(
        out.contains("ticket_issued") || out.contains("CHANGED"),
        "{out}"
    );

    // A forged digest: its counts changed after signing.
    let mut forged = digests.clone();
    forged[1]["digest"]["counts"]["ticket_issued"] = 4.into();
    let forged_file = root.path().join("forged.json");
    std::fs::write(&forged_file, serde_json::to_string(&forged).unwrap()).unwrap();
    let (code, out) = verify(&data, &forged_file, &key);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("NOT GENUINE: the signature does not match"),
        "{out}"
    );
    assert!(
        out.contains("result: the log is unchanged, but 1 digest"),
        "{out}"
    );
    // Another key than the supervisor's.
    let (code, out) = verify(&data, &copies, &"ab".repeat(32));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("signed by another key"), "{out}");
    // Nothing to check: a clear error, exit 2.
    let (code, out) = verify(&root.path().join("nowhere"), &copies, &key);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot check"), "{out}");
}
