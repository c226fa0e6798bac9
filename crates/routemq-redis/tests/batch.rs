//! Large batches: 50,000 jobs pushed, claimed and acked in single calls must not
//! hit Lua's unpack limit, and nothing is lost or duplicated.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{job, job_field_count, queue, setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_redis::KeyMode;

const N: usize = 50_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_jobs_push_claim_and_ack_in_one_call_each() {
    let mut s = setup(KeyMode::Plain).await;
    let d = &s.driver;
    let q = queue("bulk");
    let jobs: Vec<_> = (0..N).map(|n| job("bulk", n, 3)).collect();
    let want: Vec<_> = jobs.iter().map(|j| j.id.clone()).collect();
    let ids = d.push_bulk(jobs).await.unwrap();
    assert_eq!(ids, want);
    let ready: usize = s
        .raw
        .llen(format!("{}:queue:bulk", s.target.prefix))
        .await
        .unwrap();
    assert_eq!(ready, N);

    let got = d
        .claim(std::slice::from_ref(&q), N, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(got.len(), N);
    let order: Vec<_> = got.iter().map(|r| r.lease.job_id.clone()).collect();
    assert_eq!(order, want, "claim keeps FIFO order");
    assert!(got.iter().all(|r| r.attempt == 1));

    let leases: Vec<_> = got.iter().map(|r| r.lease.clone()).collect();
    let outcome = d.ack_batch(&leases).await.unwrap();
    assert_eq!(outcome.acked, N);
    assert!(outcome.lost.is_empty());
    let stats = d.stats(&q).await.unwrap();
    assert_eq!((stats.ready, stats.reserved, stats.delayed), (0, 0, 0));
    let bodies = job_field_count(&s.raw, &format!("{}:queue:bulk:jobs", s.target.prefix)).await;
    assert_eq!(bodies, 0, "acked jobs leave no bodies behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_jobs_drain_in_worker_sized_batches() {
    let s = setup(KeyMode::Plain).await;
    let d = &s.driver;
    let q = queue("drain");
    d.push_bulk((0..N).map(|n| job("drain", n, 3)).collect())
        .await
        .unwrap();
    let mut seen = HashSet::with_capacity(N);
    loop {
        let got = d
            .claim(std::slice::from_ref(&q), 64, Duration::from_secs(60))
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        let leases: Vec<_> = got.iter().map(|r| r.lease.clone()).collect();
        for r in &got {
            assert!(seen.insert(r.lease.job_id.clone()), "claimed twice");
        }
        assert_eq!(d.ack_batch(&leases).await.unwrap().acked, got.len());
    }
    assert_eq!(seen.len(), N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_due_delayed_jobs_are_promoted_in_bounded_steps() {
    let s = setup(KeyMode::Plain).await;
    let d = &s.driver;
    let q = queue("due");
    let due = std::time::SystemTime::now() + Duration::from_millis(2_000);
    d.push_bulk(
        (0..5_000)
            .map(|n| common::job_at("due", n, 1, Some(due)))
            .collect(),
    )
    .await
    .unwrap();
    assert_eq!(d.stats(&q).await.unwrap().delayed, 5_000);
    assert!(d
        .claim(std::slice::from_ref(&q), 10, Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());
    let wait = due
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(10)).await;
    let mut total = 0;
    loop {
        let got = d
            .claim(std::slice::from_ref(&q), 500, Duration::from_secs(60))
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        total += got.len();
        let leases: Vec<_> = got.iter().map(|r| r.lease.clone()).collect();
        d.ack_batch(&leases).await.unwrap();
    }
    assert_eq!(total, 5_000);
}

#[tokio::test]
async fn an_unbounded_claim_size_is_capped_not_an_error() {
    let s = setup(KeyMode::Plain).await;
    let q = queue("huge");
    s.driver.push(job("huge", 1, 1)).await.unwrap();
    let got = s
        .driver
        .claim(std::slice::from_ref(&q), usize::MAX, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
}
