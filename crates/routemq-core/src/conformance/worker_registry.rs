//! Rules of [`WorkerRegistry`](crate::WorkerRegistry): heartbeats are listed,
//! renewed, expire and can be removed.

use std::time::{Duration, SystemTime};

use super::fixture::{ok, sleep_until};
use super::DriverFactory;
use crate::{unix_ms, WorkerInfo};

fn worker(id: &str, running: u32) -> WorkerInfo {
    let now = unix_ms(SystemTime::now());
    WorkerInfo {
        id: id.to_owned(),
        host: "conformance-host".to_owned(),
        pid: 4242,
        queues: vec!["high".to_owned(), "default".to_owned()],
        concurrency: 8,
        prefetch: 16,
        running,
        processed: 12_345_678_901,
        failed: 3,
        started_at_ms: now - 60_000,
        last_seen_ms: now,
    }
}

/// Heartbeats are visible through `workers` (sorted by id, as sent), renewed by a
/// later heartbeat, gone after their ttl, and removed by `remove_worker`.
pub async fn worker_heartbeats_expire_and_can_be_removed(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    assert!(
        ok(d.workers().await, "workers").is_empty(),
        "a fresh store has no workers"
    );
    let short = worker("w-b-short", 1);
    let long = worker("w-a-long", 2);
    let ttl = Duration::from_millis(500);
    let sent = SystemTime::now();
    ok(d.heartbeat(&short, ttl).await, "heartbeat");
    ok(
        d.heartbeat(&long, Duration::from_secs(30)).await,
        "heartbeat",
    );
    assert_eq!(
        ok(d.workers().await, "workers"),
        vec![long.clone(), short.clone()]
    );

    let renewed = worker("w-a-long", 7);
    ok(
        d.heartbeat(&renewed, Duration::from_secs(30)).await,
        "heartbeat",
    );
    assert_eq!(
        ok(d.workers().await, "workers"),
        vec![renewed.clone(), short],
        "a later heartbeat replaces the earlier one"
    );

    sleep_until(sent + ttl + Duration::from_millis(300)).await;
    assert_eq!(
        ok(d.workers().await, "workers"),
        vec![renewed.clone()],
        "a heartbeat is gone once its ttl has passed"
    );
    ok(d.remove_worker("w-a-long").await, "remove_worker");
    assert!(
        ok(d.workers().await, "workers").is_empty(),
        "a removed worker is gone"
    );
    ok(
        d.remove_worker("w-unknown").await,
        "remove_worker of an unknown worker",
    );
}
