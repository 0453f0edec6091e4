//! Reads come from the owner's copies of the hall: they see every commit
//! made before they asked, and they do not wait for the owner's work.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_sees_every_earlier_commit_and_does_not_wait_for_the_owner() {
    let owner = common::owner();
    let engine = owner.handle.clone();
    // Each ticket is visible to the read that follows its answer.
    for n in 1..=30 {
        let t = engine.take("business").await.unwrap().unwrap();
        let seen = engine
            .query(move |v| {
                v.hall
                    .ticket_by_token(&t.ticket.id)
                    .map(|t| t.number.clone())
            })
            .await
            .unwrap();
        assert_eq!(seen, Some(format!("A{n:03}")));
    }

    // The owner busy for a while (a long batch): a read of what is
    // committed answers meanwhile, from the copy.
    let busy = Arc::new(AtomicBool::new(true));
    let flag = busy.clone();
    let long = engine.clone();
    let owner_work = tokio::spawn(async move {
        long.query_owner(move |_| {
            std::thread::sleep(Duration::from_millis(700));
            flag.store(false, Ordering::SeqCst);
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = engine.query(|v| v.hall.waiting("business")).await.unwrap();
    assert_eq!(waiting, 30);
    assert!(
        busy.load(Ordering::SeqCst),
        "the read waited for the owner's batch"
    );
    owner_work.await.unwrap().unwrap();
}
