//! The group drain: the plain drain's job count spread over many groups (a
//! tenant each), run to empty by one worker, so the cost of fair claims shows
//! against the plain drain's figure.

use std::sync::Arc;

use routemq_core::{Driver, JobOptions, Queue, QueueName};

use crate::jobs::BenchNoop;
use crate::run::{per_sec, run_to_empty, BenchConfig, BenchError};

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
    let elapsed = run_to_empty(consumer, &name, config, "group drain", true).await;
    driver.clear(&queue_name).await?;
    Ok(per_sec(config.jobs, elapsed?))
}
