//! Redis restarted (append-only persistence) in the middle of a drain: the driver
//! reconnects by itself and every job finishes.
//!
//! An acknowledgement whose reply is lost in the restart may or may not have
//! been applied: its jobs count as finished-or-unknown, and the test then
//! checks that every job pushed is finished or in such a batch, and that Redis
//! holds none of them any more (nothing ready, delayed or reserved).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{job, queue};
use routemq_core::prelude::*;
use routemq_core::{JobId, QueueName};
use routemq_redis::{KeyMode, RedisConfig, RedisDriver};
use routemq_testkit::redis::{unique_prefix, RedisServer};

const JOBS: usize = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_drain_loses_nothing_and_the_driver_reconnects() {
    let server = Arc::new(RedisServer::start_new().expect("redis-server must be on PATH"));
    let config = RedisConfig::from_url(&server.url())
        .unwrap()
        .prefix(unique_prefix())
        .key_mode(KeyMode::Plain)
        .connect_timeout(Duration::from_millis(500));
    let d = RedisDriver::new(config).unwrap();
    let q = queue("default");
    let ids: HashSet<JobId> = d
        .push_bulk((0..JOBS).map(|n| job("default", n, 10)).collect())
        .await
        .unwrap()
        .into_iter()
        .collect();

    let done: Arc<Mutex<HashSet<JobId>>> = Arc::default();
    let unknown: Arc<Mutex<HashSet<JobId>>> = Arc::default();
    let errors = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(60);
    let drainers: Vec<_> = (0..4)
        .map(|_| {
            let (d, q, done, errors) = (d.clone(), q.clone(), done.clone(), errors.clone());
            let unknown = unknown.clone();
            tokio::spawn(async move { drain(d, q, done, unknown, errors, deadline).await })
        })
        .collect();
    // Restart once a third of the jobs are done, while the drainers keep going.
    while done.lock().unwrap().len() < JOBS / 3 {
        assert!(
            Instant::now() < deadline,
            "drain too slow to reach the restart point"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let s = server.clone();
    tokio::task::spawn_blocking(move || s.restart())
        .await
        .unwrap()
        .unwrap();
    let at_restart = done.lock().unwrap().len();
    for t in drainers {
        t.await.unwrap();
    }
    let done = done.lock().unwrap().clone();
    let unknown = unknown.lock().unwrap().clone();
    assert!(
        at_restart < JOBS,
        "the restart came after the drain finished"
    );
    let accounted: HashSet<JobId> = done.union(&unknown).cloned().collect();
    assert_eq!(
        accounted, ids,
        "every job finished (or was in an ack whose reply the restart lost): exactly the set pushed"
    );
    assert!(
        unknown.len() <= 64,
        "{} jobs in acks with lost replies: more than the 4 drainers' batches in flight",
        unknown.len()
    );
    let stats = d.stats(&q).await.unwrap();
    assert_eq!(
        (stats.ready, stats.delayed, stats.reserved, stats.failed),
        (0, 0, 0, 0)
    );
    assert!(
        errors.load(Ordering::Relaxed) > 0,
        "the drainers never saw the restart (no transient error)"
    );
}

/// A minimal worker loop: claim, "run", ack; reclaim now and then; retry
/// transient errors after a pause.
async fn drain(
    d: RedisDriver,
    q: QueueName,
    done: Arc<Mutex<HashSet<JobId>>>,
    unknown: Arc<Mutex<HashSet<JobId>>>,
    errors: Arc<AtomicUsize>,
    deadline: Instant,
) {
    let mut last_reclaim = Instant::now();
    let accounted = || {
        let done = done.lock().unwrap();
        let unknown = unknown.lock().unwrap();
        done.len() + unknown.iter().filter(|id| !done.contains(*id)).count()
    };
    // Every job accounted for, and none left in Redis (an ack that was not
    // applied leaves jobs that come back when their leases expire).
    loop {
        if accounted() >= JOBS {
            match d.stats(&q).await {
                Ok(s) if s.ready + s.delayed + s.reserved == 0 => return,
                _ => {}
            }
        }
        if Instant::now() >= deadline {
            let n = done.lock().unwrap().len();
            panic!(
                "drain stuck at {n} of {JOBS}; stats now: {:?}",
                d.stats(&q).await
            );
        }
        if last_reclaim.elapsed() > Duration::from_millis(200) {
            if d.reclaim_expired(std::slice::from_ref(&q)).await.is_err() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            last_reclaim = Instant::now();
        }
        let got = match d
            .claim(std::slice::from_ref(&q), 16, Duration::from_millis(800))
            .await
        {
            Ok(got) => got,
            Err(e) => {
                assert!(e.is_transient(), "{e}");
                errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if got.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
        let leases: Vec<_> = got.iter().map(|r| r.lease.clone()).collect();
        match d.ack_batch(&leases).await {
            Ok(outcome) => {
                let mut done = done.lock().unwrap();
                for l in &leases {
                    if !outcome.lost.contains(&l.job_id) {
                        done.insert(l.job_id.clone());
                    }
                }
            }
            Err(e) => {
                assert!(e.is_transient(), "{e}");
                errors.fetch_add(1, Ordering::Relaxed);
                // Applied or not: if not, the leases expire and the jobs come
                // back (and are then acked and counted as done).
                unknown
                    .lock()
                    .unwrap()
                    .extend(leases.iter().map(|l| l.job_id.clone()));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_unavailable_not_empty() {
    let server = RedisServer::start_new().expect("redis-server must be on PATH");
    let config = RedisConfig::from_url(&server.url())
        .unwrap()
        .prefix(unique_prefix())
        .connect_timeout(Duration::from_millis(300));
    let d = RedisDriver::new(config).unwrap();
    let q = queue("default");
    d.push(job("default", 1, 1)).await.unwrap();
    server.stop();
    let err = d
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(5))
        .await
        .expect_err("a claim against a stopped server must fail, not return nothing");
    assert!(err.is_transient(), "{err}");
    let err = d
        .wait_for_jobs(std::slice::from_ref(&q), Duration::from_millis(200))
        .await;
    assert!(err.is_err(), "waiting on a stopped server reports it");
    server.start().unwrap();
    let mut got = Vec::new();
    for _ in 0..50 {
        match d
            .claim(std::slice::from_ref(&q), 1, Duration::from_secs(5))
            .await
        {
            Ok(g) => {
                got = g;
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert_eq!(got.len(), 1, "the job survived the restart");
    d.ack(&got[0].lease).await.unwrap();

    // A waiter blocked in BLPOP when the server goes away gets an error, and the
    // next wait (on a fresh dedicated connection) wakes on a push again.
    let waiter = {
        let (d, q) = (d.clone(), q.clone());
        tokio::spawn(async move { d.wait_for_jobs(&[q], Duration::from_secs(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.restart().unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("a wait must not outlive its server")
        .unwrap();
    assert!(res.is_err(), "the broken wait reports it");
    let waiter = {
        let (d, q) = (d.clone(), q.clone());
        tokio::spawn(async move { d.wait_for_jobs(&[q], Duration::from_secs(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pushed = Instant::now();
    for _ in 0..50 {
        if d.push(job("default", 2, 1)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the new wait wakes on the push")
        .unwrap()
        .unwrap();
    assert!(pushed.elapsed() < Duration::from_secs(2));
}
