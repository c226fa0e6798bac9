//! The progress drain: the plain drain twice on `<queue>-progress`, first on
//! its own (the reference, at the same point of the run, so what earlier
//! phases left behind weighs on both alike), then while another worker runs
//! jobs that report progress `progress_calls_per_sec` times a second in all
//! (through `ctx.progress`, which the worker coalesces into a few backend
//! writes a second). The two figures show what progress costs the hot path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_core::{Driver, JobOptions, Queue, QueueName};
use routemq_worker::Worker;

use crate::jobs::{BenchNoop, BenchProgress, PROGRESS_CALLS, PROGRESS_STOP};
use crate::run::{per_sec, run_to_empty, BenchConfig, BenchError};

/// Jobs reporting progress during the progress drain.
const REPORTERS: usize = 20;
/// How often each reporter wakes to report a burst.
const TICK: Duration = Duration::from_millis(10);

/// What the progress drain measured.
pub(crate) struct ProgressDrain {
    pub(crate) reference_per_sec: f64,
    pub(crate) drain_per_sec: f64,
    pub(crate) calls_per_sec: f64,
}

/// Pushes `config.jobs` no-op jobs on `name` and runs them to empty with one
/// worker (its history on or off); returns the jobs per second of the run.
pub(crate) async fn drain_once(
    queue: &Queue,
    consumer: &Arc<dyn Driver>,
    config: &BenchConfig,
    name: &str,
    history: bool,
) -> Result<f64, BenchError> {
    let driver = queue.driver();
    let on_queue = JobOptions::new().queue(name);
    let mut left = config.jobs;
    while left > 0 {
        let n = left.min(config.bulk_chunk.max(1));
        let jobs = (0..n)
            .map(|_| queue.pending(&BenchNoop {}, &on_queue, None))
            .collect::<Result<Vec<_>, _>>()?;
        driver.push_bulk(jobs).await?;
        left -= n;
    }
    let elapsed = run_to_empty(consumer, name, config, "progress drain", history).await?;
    Ok(per_sec(config.jobs, elapsed))
}

/// The reference drain, then [`REPORTERS`] progress jobs on
/// `<queue>-reporters` under a second worker and the same drain again.
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
    let reference_per_sec = drain_once(queue, consumer, config, &name, true).await?;

    // Each reporter wakes every TICK and reports a burst, as a job working
    // through rows would: the calls a second are what is measured, the
    // harness's own timer wake-ups are kept few.
    let per_tick = (config.progress_calls_per_sec as f64 * TICK.as_secs_f64() / REPORTERS as f64)
        .ceil()
        .max(1.0) as u64;
    let every_us = (REPORTERS as f64 * per_tick as f64 * 1e6
        / config.progress_calls_per_sec.max(1) as f64) as u64;
    let on_reporters = JobOptions::new().queue(reporters.clone());
    for _ in 0..REPORTERS {
        queue
            .dispatch_with(BenchProgress { every_us, per_tick }, &on_reporters, None)
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
    let drained = drain_once(queue, consumer, config, &name, true).await;
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
    Ok(ProgressDrain {
        reference_per_sec,
        drain_per_sec: drained?,
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
