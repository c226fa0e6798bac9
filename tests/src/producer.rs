//! Dispatching numbered [`Recorded`] jobs onto a chosen queue in bulk.

use std::ops::Range;
use std::sync::Arc;

use routemq_core::{Driver, JobOptions, Queue, QueueName};

use crate::run_ledger::RunId;
use crate::test_jobs::Recorded;

/// Dispatches `Recorded` jobs numbered `range` of `run` onto `queue`, each pausing
/// `pause_ms` before it records, with `options` (its queue is replaced by
/// `queue`), in bulk chunks of 5,000. Returns how many were dispatched.
pub async fn dispatch_recorded(
    driver: Arc<dyn Driver>,
    queue: &QueueName,
    run: RunId,
    range: Range<u64>,
    pause_ms: u64,
    options: JobOptions,
) -> u64 {
    let dispatch = Queue::from_arc(driver.clone());
    let options = options.queue(queue.as_str());
    let all: Vec<u64> = range.collect();
    for chunk in all.chunks(5_000) {
        let pending = chunk
            .iter()
            .map(|n| {
                let job = Recorded {
                    run,
                    n: *n,
                    pause_ms,
                };
                dispatch
                    .pending(&job, &options, None)
                    .expect("encodable job")
            })
            .collect();
        let ids = driver.push_bulk(pending).await.expect("bulk dispatch");
        assert_eq!(ids.len(), chunk.len());
    }
    all.len() as u64
}
