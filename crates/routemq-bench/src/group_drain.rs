//! The group drain: the plain drain's job count spread over many groups (a
//! tenant each), run to empty by one worker, so the cost of fair claims shows
//! against the plain drain's figure.

use std::sync::Arc;
use std::time::Instant;

use routemq_core::{Driver, JobOptions, Queue, QueueName};
use routemq_worker::Worker;

use crate::jobs::BenchNoop;
use crate::run::{per_sec, BenchConfig, BenchError};

/// `config.jobs` no-op jobs on `<queue>-groups`, job `i` in group `i %
/// config.groups`, pushed in bulk and run to empty by one worker; returns the
/// jobs per second.
pub(crate) async fn group_drain(
    queue: &Queue,
    consumer: &Arc<dyn Driver>,
    config: &BenchConfig,
) -> Result<f64, BenchError> {
    let name = format!("{}-groups", config.queue);
    let queue_name = QueueName::new(name.clone())?;
    let driver = queue.driver();
    driver.clear(&queue_name).await?;
    let groups = config.groups.max(1);
    let mut next = 0usize;
    while next < config.jobs {
        let n = (config.jobs - next).min(config.bulk_chunk.max(1));
        let jobs = (next..next + n)
            .map(|i| {
                let opts = JobOptions::new()
                    .queue(name.clone())
                    .group(format!("tenant-{}", i % groups));
                queue.pending(&BenchNoop {}, &opts, None)
            })
            .collect::<Result<Vec<_>, _>>()?;
        driver.push_bulk(jobs).await?;
        next += n;
    }
    let started = Instant::now();
    let report = Worker::builder(consumer.clone())
        .register::<BenchNoop>()
        .queues([name.as_str()])
        .concurrency(config.concurrency)
        .stop_when_empty(true)
        .build()?
        .run_until(std::future::pending::<()>())
        .await?;
    let elapsed = started.elapsed();
    driver.clear(&queue_name).await?;
    if report.counts.processed < config.jobs as u64 {
        return Err(BenchError::Incomplete {
            phase: "group drain",
            detail: format!(
                "{} of {} jobs processed ({:?})",
                report.counts.processed, config.jobs, report
            ),
        });
    }
    Ok(per_sec(config.jobs, elapsed))
}
