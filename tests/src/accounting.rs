//! Where a test's jobs are at the end: counted from the driver's own stats, and a
//! worker set up with every test job type.

use std::sync::Arc;
use std::time::Duration;

use routemq_core::{Driver, QueueName};
use routemq_worker::{Worker, WorkerBuilder, WorkerReport};

use crate::test_jobs::{BlocksThread, HookPanics, Recorded};

/// A queue's jobs by state, from [`QueueAdmin::stats`](routemq_core::QueueAdmin::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Claimable now.
    pub ready: u64,
    /// Waiting for their time.
    pub delayed: u64,
    /// Claimed and not finished.
    pub reserved: u64,
    /// In the failed store.
    pub failed: u64,
}

impl QueueCounts {
    /// Jobs still queued in any state but failed.
    pub fn queued(&self) -> u64 {
        self.ready + self.delayed + self.reserved
    }
}

/// Counts `queue`'s jobs. Transient errors (a connection killed by the test) are
/// retried a few times: the driver reconnects on the next call.
pub async fn counts(driver: &dyn Driver, queue: &QueueName) -> QueueCounts {
    let mut tries = 0;
    let s = loop {
        match driver.stats(queue).await {
            Ok(s) => break s,
            Err(e) if e.is_transient() && tries < 5 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("queue stats: {e}"),
        }
    };
    QueueCounts {
        ready: s.ready,
        delayed: s.delayed,
        reserved: s.reserved,
        failed: s.failed,
    }
}

/// A worker over `driver` draining `queue` with every test job registered, a
/// short idle sleep, stopping when the queue is empty.
pub fn worker(driver: Arc<dyn Driver>, queue: &QueueName, concurrency: usize) -> WorkerBuilder {
    Worker::builder(driver)
        .register::<Recorded>()
        .register::<HookPanics>()
        .register::<BlocksThread>()
        .queues([queue.as_str()])
        .concurrency(concurrency)
        .sleep(Duration::from_millis(200))
        .stop_when_empty(true)
}

/// Builds and runs `builder` to its end, failing the test after `limit`.
pub async fn drain(builder: WorkerBuilder, limit: Duration) -> WorkerReport {
    let worker = builder.build().expect("a valid worker");
    tokio::time::timeout(limit, worker.run_until(std::future::pending::<()>()))
        .await
        .expect("the worker finished in time")
        .expect("the worker ran")
}
