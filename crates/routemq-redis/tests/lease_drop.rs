//! A worker task dropped mid-job: its job is reclaimed once the lease runs out,
//! and the dropped task's late ack is fenced off.

mod common;

use std::time::Duration;

use common::{job, queue, setup};
use routemq_core::prelude::*;
use routemq_core::DriverError;
use routemq_redis::KeyMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_held_by_a_dropped_task_is_reclaimed_after_its_lease() {
    let s = setup(KeyMode::Plain).await;
    let d = s.driver.clone();
    let q = queue("default");
    let id = d.push(job("default", 1, 3)).await.unwrap();

    let (tx, rx) = tokio::sync::oneshot::channel();
    let worker = {
        let d = d.clone();
        let q = q.clone();
        tokio::spawn(async move {
            let got = d.claim(&[q], 1, Duration::from_millis(400)).await.unwrap();
            tx.send(got[0].lease.clone()).unwrap();
            // "Runs" far longer than the lease and never acks.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        })
    };
    let stale = rx.await.unwrap();
    worker.abort();
    assert!(worker.await.unwrap_err().is_cancelled());

    // Not reclaimable before the lease runs out.
    assert_eq!(
        d.reclaim_expired(std::slice::from_ref(&q))
            .await
            .unwrap()
            .released,
        0
    );
    assert!(d
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(5))
        .await
        .unwrap()
        .is_empty());

    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = d.reclaim_expired(std::slice::from_ref(&q)).await.unwrap();
    assert_eq!((report.released, report.failed), (1, 0));
    let again = d
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].lease.job_id, id);
    assert_eq!(again[0].attempt, 2, "the lost attempt counts");

    assert!(matches!(
        d.ack(&stale).await,
        Err(DriverError::LeaseLost { .. })
    ));
    d.ack(&again[0].lease).await.unwrap();
    let stats = d.stats(&q).await.unwrap();
    assert_eq!((stats.ready, stats.reserved), (0, 0));
}
