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
