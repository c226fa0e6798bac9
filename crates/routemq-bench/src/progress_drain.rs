//! The progress drain: the plain drain again, while another worker runs jobs
//! that report progress `progress_calls_per_sec` times a second in all (through
//! `ctx.progress`, which the worker coalesces into a few backend writes a
//! second), so the cost of progress on the hot path shows against the plain
//! drain's figure.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_core::{Driver, JobOptions, Queue, QueueName};
use routemq_worker::Worker;

use crate::jobs::{BenchNoop, BenchProgress, PROGRESS_CALLS, PROGRESS_STOP};
use crate::run::{per_sec, BenchConfig, BenchError};

/// Jobs reporting progress during the progress drain.
const REPORTERS: usize = 20;

/// What the progress drain measured.
pub(crate) struct ProgressDrain {
    pub(crate) drain_per_sec: f64,
    pub(crate) calls_per_sec: f64,
}

/// Pushes `config.jobs` no-op jobs on `<queue>-progress`, starts [`REPORTERS`]
/// progress jobs on `<queue>-reporters` under a second worker, then drains the
/// no-op jobs like the plain drain.
pub(crate) async fn progress_drain(
    queue: &Queue,
    consumer: &Arc<dyn Driver>,
    config: &BenchConfig,
) -> Result<ProgressDrain, BenchError> {
    let name = format!("{}-progress", config.queue);
    let reporters = format!("{}-reporters", config.queue);
    let (queue_name, reporters_name) = (
        QueueName::new(name.clone())?,
        QueueName::new(reporters.clone())?,
    );
    let driver = queue.driver();
    driver.clear(&queue_name).await?;
    driver.clear(&reporters_name).await?;
    let on_queue = JobOptions::new().queue(name.clone());
    let mut left = config.jobs;
    while left > 0 {
        let n = left.min(config.bulk_chunk.max(1));
        let jobs = (0..n)
            .map(|_| queue.pending(&BenchNoop {}, &on_queue, None))
            .collect::<Result<Vec<_>, _>>()?;
        driver.push_bulk(jobs).await?;
        left -= n;
    }
    let every_us = (REPORTERS as f64 * 1e6 / config.progress_calls_per_sec.max(1) as f64) as u64;
    let on_reporters = JobOptions::new().queue(reporters.clone());
    for _ in 0..REPORTERS {
        queue
            .dispatch_with(BenchProgress { every_us }, &on_reporters, None)
            .await?;
    }
    PROGRESS_STOP.store(false, Ordering::SeqCst);
    PROGRESS_CALLS.store(0, Ordering::SeqCst);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reporters_worker = Worker::builder(consumer.clone())
        .register::<BenchProgress>()
        .queues([reporters.as_str()])
        .concurrency(REPORTERS)
        .build()?;
    let reporters_task = tokio::spawn(reporters_worker.run_until(async move {
        let _ = stopped.await;
    }));
    wait_started(&PROGRESS_CALLS).await;

    let calls_before = PROGRESS_CALLS.load(Ordering::SeqCst);
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
    let calls = PROGRESS_CALLS.load(Ordering::SeqCst) - calls_before;
    PROGRESS_STOP.store(true, Ordering::SeqCst);
    let _ = stop.send(());
    reporters_task.await.map_err(|e| BenchError::Incomplete {
        phase: "progress drain",
        detail: format!("the reporters' worker ended abnormally: {e}"),
    })??;
    driver.clear(&queue_name).await?;
    driver.clear(&reporters_name).await?;
    if report.counts.processed < config.jobs as u64 {
        return Err(BenchError::Incomplete {
            phase: "progress drain",
            detail: format!(
                "{} of {} jobs processed ({:?})",
                report.counts.processed, config.jobs, report
            ),
        });
    }
    Ok(ProgressDrain {
        drain_per_sec: per_sec(config.jobs, elapsed),
        calls_per_sec: calls as f64 / elapsed.as_secs_f64().max(1e-9),
    })
}

/// Waits (at most 10 s) until the reporters are running.
async fn wait_started(calls: &AtomicU64) {
    let until = Instant::now() + Duration::from_secs(10);
    while calls.load(Ordering::SeqCst) < REPORTERS as u64 * 10 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
