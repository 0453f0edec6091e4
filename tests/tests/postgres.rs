//! The event log in a real PostgreSQL server (`--store postgres://…`):
//! the store's own promises as SQLite keeps them, and a whole server that
//! takes tickets, calls them, is killed and comes back from the database.

use hallq_contract::payload::Op;
use hallq_core::{Event, Id, Record};
use hallq_server::store::{Batch, EventStore, StoredReply};
use hallq_server::store_pg::PgStore;
use hallq_tests::pg::PgCluster;
use hallq_tests::{Server, demo_hall};

fn opened(seq: u64) -> Record {
    Record {
        seq,
        at_ms: 5,
        event: Event::WindowOpened {
            window: Id::parse("3").unwrap(),
            clerk: None,
            by: None,
        },
    }
}

#[test]
fn the_store_keeps_events_replies_and_halls_apart() {
    let pg = PgCluster::start();
    let mut a = PgStore::open(&pg.url(), "xuchang").unwrap();
    let batch = Batch {
        records: vec![opened(1), opened(2)],
        replies: vec![StoredReply {
            window: "3".into(),
            command_id: "c1".into(),
            body: "{}".into(),
            at_ms: 5,
        }],
        notifications: Vec::new(),
    };
    a.append(&batch).unwrap();
    // Another hall in the same database sees none of it.
    let mut b = PgStore::open(&pg.url(), "yuzhou").unwrap();
    assert!(b.records().unwrap().is_empty());
    b.append(&Batch {
        records: vec![opened(1)],
        ..Batch::default()
    })
    .unwrap();
    drop(a);
    let mut a = PgStore::open(&pg.url(), "xuchang").unwrap();
    assert_eq!(a.records().unwrap(), batch.records);
    assert_eq!(a.replies(0).unwrap(), batch.replies);
    assert!(a.replies(6).unwrap().is_empty());
    assert_eq!(a.forget_replies(5).unwrap(), 0);
    assert_eq!(a.forget_replies(6).unwrap(), 1);
    assert!(a.replies(0).unwrap().is_empty());
    assert_eq!(a.records().unwrap(), batch.records, "events stay");
    // A duplicate seq fails the whole batch: nothing of it is stored.
    let err = a.append(&Batch {
        records: vec![opened(3), opened(1)],
        ..Batch::default()
    });
    assert!(err.is_err());
    assert_eq!(a.records().unwrap(), batch.records);
    assert_eq!(b.records().unwrap(), vec![opened(1)]);
}

#[test]
fn an_unreachable_database_stops_the_start_with_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://hallq:secret-pw@127.0.0.1:{port}/hallq");
    let dir = tempfile::tempdir().unwrap();
    let err = Server::try_start(demo_hall().as_path(), dir.path(), &["--store", &url])
        .expect_err("no database, no start");
    assert!(err.contains("cannot reach PostgreSQL"), "{err}");
    assert!(!err.contains("secret-pw"), "the password is shown: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_postgres_survives_kill_9() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let server = Server::start_with(dir.path(), &["--store", &url]);
    let first = server.take("business");
    assert_eq!(first["number"], "A001");
    server.take("business");
    let mut pad = server.open_pad("3").await;
    let r = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert_eq!(r.ticket.unwrap().number, "A001");
    drop(pad);
    // Nothing in the data folder holds the log.
    assert!(!dir.path().join("hall.db").exists());

    let server = server.crash_and_restart_with(&["--store", &url]);
    let third = server.take("business");
    assert_eq!(
        third["number"], "A003",
        "numbering goes on from the database"
    );
    let w = server.window("3");
    assert_eq!(w["ticket"], "A001", "{w}");
    let mut pad = hallq_pad::Pad::connect(&server.device("pad-3"), "3")
        .await
        .unwrap();
    assert!(pad.send(Op::Start).await.unwrap().ok);
    let r = pad.send(Op::CallNext { service: None }).await.unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.ticket.unwrap().number, "A002");
}

#[test]
fn a_node_whose_lease_was_taken_cannot_write() {
    use hallq_server::lease::Keeper;
    use hallq_server::store::StoreError;
    let pg = PgCluster::start();
    let url = pg.url();
    let ours = Keeper::new(&url, "node-a", &["xuchang".into()]);
    let lease = ours.lease("xuchang").unwrap();
    ours.start().unwrap();
    assert!(lease.held(), "the first node takes the free lease");
    let mut store = PgStore::open(&url, "xuchang")
        .unwrap()
        .fenced_by(lease.clone());
    let one = |seq| Batch {
        records: vec![opened(seq)],
        ..Batch::default()
    };
    store.append(&one(1)).unwrap();
    // node-a is "paused": its lease runs out, node-b takes the hall.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.execute(
        "UPDATE hallq_leases SET expires_at = now() - interval '1 second' WHERE hall = 'xuchang'",
        &[],
    )
    .unwrap();
    let theirs = Keeper::new(&url, "node-b", &["xuchang".into()]);
    let taken = theirs.lease("xuchang").unwrap();
    theirs.start().unwrap();
    assert!(taken.held() && taken.token() > lease.token());
    // Whatever node-a believes, its write is refused, and nothing of it is
    // in the log.
    assert!(matches!(store.append(&one(2)), Err(StoreError::Fenced)));
    let mut b = PgStore::open(&url, "xuchang").unwrap().fenced_by(taken);
    assert_eq!(b.records().unwrap(), vec![opened(1)]);
    b.append(&one(2)).unwrap();
    // node-a's keeper sees it lost the lease at its next renewal, and
    // where the hall runs now.
    std::thread::sleep(hallq_server::lease::RENEW_EVERY * 3);
    assert!(!lease.held());
    assert_eq!(lease.holder().as_deref(), Some("node-b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_ridden_through_without_a_false_acknowledgement() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let server = Server::start_with(dir.path(), &["--store", &url]);
    let before = server.take("business");
    pg.stop();
    // While the database is away, nothing is acknowledged: each request is
    // refused (503), never answered 201.
    let gone = std::time::Instant::now();
    let mut refused = 0;
    while gone.elapsed() < std::time::Duration::from_secs(5) {
        let (s, _, body) = server.http_with(
            "POST",
            &format!("/api/v1/halls/{}/tickets", hallq_tests::HALL),
            Some(r#"{"service":"business"}"#),
            &[hallq_tests::KIOSK],
        );
        assert_eq!(s, 503, "acknowledged without a database: {body}");
        refused += 1;
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (s, health) = server.http("GET", "/healthz", None);
    assert_eq!(s, 503, "{health}");
    pg.start_again();
    // It comes back by itself.
    let back = std::time::Instant::now();
    let after = loop {
        let (s, _, body) = server.http_with(
            "POST",
            &format!("/api/v1/halls/{}/tickets", hallq_tests::HALL),
            Some(r#"{"service":"business"}"#),
            &[hallq_tests::KIOSK],
        );
        if s == 201 {
            break body;
        }
        assert!(
            back.elapsed() < std::time::Duration::from_secs(30),
            "still refusing 30 s after the database returned: {s} {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    eprintln!(
        "{refused} requests refused while the database was away; back {:?} after it returned",
        back.elapsed()
    );
    assert_eq!(before["number"], "A001");
    assert_eq!(
        after["number"], "A002",
        "nothing was numbered while it was away"
    );
    assert_eq!(server.http("GET", "/healthz", None).0, 200);
}

/// The hash chain in PostgreSQL: `hallq verify --store` checks it without
/// writing, and a row an operator changed with `psql` is named by `verify`
/// and stops the next start.
#[test]
fn a_row_changed_in_postgres_is_found_and_stops_the_start() {
    let pg = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--store", &pg.url()]);
    for _ in 0..3 {
        server.take("business");
    }
    assert_eq!(server.terminate(), Some(0));
    let verify = || {
        let out = std::process::Command::new(hallq_tests::binary("hallq"))
            .args(["verify", "--store", &pg.url(), "--hall", "xuchang"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = verify();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("records: 4 (seq 1–4)"), "{out}");
    assert!(out.contains("chain: whole"), "{out}");

    let mut psql = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    let n = psql
        .execute(
            "UPDATE hallq_events SET body = replace(body, 'business', 'social') \
             WHERE hall = 'xuchang' AND seq = 3",
            &[],
        )
        .unwrap();
    assert_eq!(n, 1);
    let (code, out) = verify();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("[edited] from record 3"), "{out}");
    let err = Server::try_start(demo_hall().as_path(), dir.path(), &["--store", &pg.url()])
        .expect_err("a broken chain, no start");
    assert!(err.contains("hash chain breaks at record 3"), "{err}");
}
