//! Idle waiting: a dispatch from the same process wakes a waiting worker at
//! once; one from another process (another driver, wake-up off) is seen by the
//! adaptive poll within `poll_max`.

mod common;

use std::time::{Duration, Instant};

use common::{fresh_with, job, q};
use routemq_core::prelude::*;
use routemq_mysql::{MysqlConfig, MysqlDriver};

#[tokio::test(flavor = "multi_thread")]
async fn a_local_dispatch_wakes_the_waiter_at_once() {
    // Polling slowed right down, so only the wake-up can explain a quick return.
    let d = fresh_with(|c| {
        c.poll_min = Duration::from_secs(5);
        c.poll_max = Duration::from_secs(5);
    })
    .await;
    let queue = q("wake");
    let waiter = {
        let (d, queue) = (d.clone(), queue.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            d.wait_for_jobs(&[queue], Duration::from_secs(10))
                .await
                .unwrap();
            start.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pushed = Instant::now();
    d.push(job(&queue, 1, None)).await.unwrap();
    let waited = waiter.await.unwrap();
    assert!(
        waited >= Duration::from_millis(250),
        "returned before the push: {waited:?}"
    );
    // Polling is every 5 s here: anything well under that is the wake-up.
    assert!(
        pushed.elapsed() < Duration::from_secs(1),
        "woke {:?} after the push",
        pushed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_process_dispatch_is_seen_within_poll_max() {
    let d = fresh_with(|c| {
        c.local_wakeup = false;
        c.poll_max = Duration::from_millis(50);
    })
    .await;
    // A second driver with its own pool stands for a producer process.
    let producer = MysqlDriver::connect(MysqlConfig::new(d.driver.config().opts.clone()))
        .await
        .unwrap();
    let queue = q("poll");
    let mut lags = Vec::new();
    for n in 0..5 {
        let waiter = {
            let (d, queue) = (d.clone(), queue.clone());
            tokio::spawn(async move {
                d.wait_for_jobs(&[queue], Duration::from_secs(10))
                    .await
                    .map(|_| Instant::now())
            })
        };
        tokio::time::sleep(Duration::from_millis(400)).await;
        producer.push(job(&queue, n, None)).await.unwrap();
        let pushed = Instant::now();
        let woke = waiter.await.unwrap().unwrap();
        lags.push(woke.saturating_duration_since(pushed));
        let got = d
            .claim(std::slice::from_ref(&queue), 1, Duration::from_secs(30))
            .await
            .unwrap();
        d.ack(&got[0].lease).await.unwrap();
    }
    for lag in &lags {
        assert!(
            *lag < Duration::from_millis(250),
            "poll lag {lag:?} over poll_max + slack: {lags:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_on_an_empty_queue_lasts_the_timeout() {
    let d = fresh_with(|c| c.local_wakeup = false).await;
    let start = Instant::now();
    d.wait_for_jobs(&[q("empty")], Duration::from_millis(300))
        .await
        .unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
}
