//! Many claimers at once: no job handed out twice, no lock error reaching the
//! caller.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fresh_with, job, q};
use routemq_core::prelude::*;

const JOBS: u64 = 10_000;
const CLAIMERS: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_claimers_over_ten_thousand_jobs() {
    let d = fresh_with(|c| c.pool_max = CLAIMERS).await;
    let queue = q("contended");
    let jobs: Vec<_> = (0..JOBS).map(|n| job(&queue, n, None)).collect();
    let pushed: HashSet<_> = d.push_bulk(jobs).await.unwrap().into_iter().collect();
    assert_eq!(pushed.len() as u64, JOBS);

    let seen = Arc::new(Mutex::new(Vec::with_capacity(JOBS as usize)));
    let tasks: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            let d = d.clone();
            let queue = queue.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let batch = 1 + i % 16;
                loop {
                    let got = d
                        .claim(
                            std::slice::from_ref(&queue),
                            batch,
                            Duration::from_secs(120),
                        )
                        .await
                        .unwrap_or_else(|e| panic!("claimer {i}: claim failed: {e}"));
                    if got.is_empty() {
                        return;
                    }
                    let leases: Vec<_> = got.iter().map(|r| r.lease.clone()).collect();
                    seen.lock()
                        .unwrap()
                        .extend(got.iter().map(|r| r.lease.job_id.clone()));
                    let outcome = d
                        .ack_batch(&leases)
                        .await
                        .unwrap_or_else(|e| panic!("claimer {i}: ack_batch failed: {e}"));
                    assert_eq!(outcome.acked, leases.len(), "claimer {i} lost leases");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), unique.len(), "a job was claimed twice");
    assert_eq!(unique, pushed, "every job claimed exactly once");
    let s = d.stats(&queue).await.unwrap();
    assert_eq!((s.ready, s.delayed, s.reserved), (0, 0, 0));
}
