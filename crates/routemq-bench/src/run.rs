//! The benchmark phases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_core::{Driver, DriverError, JobOptions, Queue, QueueName, RateLimit};
use routemq_worker::{Worker, WorkerError};
use tokio::sync::mpsc;

use crate::jobs::{now_us, BenchNoop, BenchPing, LATENCY_SINK};
use crate::report::{percentile, BenchReport};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Queue used (cleared before and after).
    pub queue: String,
    /// Jobs for the bulk-enqueue and drain phases.
    pub jobs: usize,
    /// Jobs for the single-enqueue phase.
    pub single_jobs: usize,
    /// Jobs per `dispatch_bulk` call.
    pub bulk_chunk: usize,
    /// Worker concurrency.
    pub concurrency: usize,
    /// Jobs sent in the latency phase.
    pub latency_jobs: usize,
    /// Pause between two latency-phase jobs.
    pub latency_interval: Duration,
    /// The limit of the rate-limited drain (on the queue `<queue>-limited`).
    pub rate_limit: RateLimit,
    /// Jobs of the rate-limited drain (a few windows' worth).
    pub rate_limited_jobs: usize,
    /// Groups of the group drain (`jobs` jobs spread over them, on the queue
    /// `<queue>-groups`).
    pub groups: usize,
    /// `ctx.progress` calls a second, in all, by the jobs running beside the
    /// progress drain.
    pub progress_calls_per_sec: u64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            queue: "routemq-bench".into(),
            jobs: 50_000,
            single_jobs: 10_000,
            bulk_chunk: 1_000,
            concurrency: 32,
            latency_jobs: 1_000,
            latency_interval: Duration::from_millis(5),
            rate_limit: RateLimit {
                jobs: 500,
                per: Duration::from_secs(1),
                per_group: false,
            },
            rate_limited_jobs: 1_500,
            groups: 1_000,
            progress_calls_per_sec: 10_000,
        }
    }
}

/// Why a benchmark run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A driver call failed.
    #[error("benchmark driver call failed")]
    Driver(#[from] DriverError),
    /// The worker failed.
    #[error("benchmark worker failed")]
    Worker(#[from] WorkerError),
    /// Jobs went missing or a phase never finished.
    #[error("benchmark phase {phase} did not complete: {detail}")]
    Incomplete {
        /// The phase.
        phase: &'static str,
        /// What was seen.
        detail: String,
    },
}

/// Runs `config.jobs` no-op jobs already on `queue` to empty with one worker of
/// `config.concurrency`, its throughput history on or off (`history`: the
/// worker's default is on); returns how long that took. Fewer processed jobs are
/// [`BenchError::Incomplete`] naming `phase`.
pub(crate) async fn run_to_empty(
    consumer: &Arc<dyn Driver>,
    queue: &str,
    config: &BenchConfig,
    phase: &'static str,
    history: bool,
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let report = Worker::builder(consumer.clone())
        .register::<BenchNoop>()
        .queues([queue])
        .concurrency(config.concurrency)
        .record_history(history)
        .stop_when_empty(true)
        .build()?
        .run_until(std::future::pending::<()>())
        .await?;
    let elapsed = started.elapsed();
    if report.counts.processed < config.jobs as u64 {
        return Err(BenchError::Incomplete {
            phase,
            detail: format!(
                "{} of {} jobs processed ({:?})",
                report.counts.processed, config.jobs, report
            ),
        });
    }
    Ok(elapsed)
}

pub(crate) fn per_sec(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Runs every phase. `producer` dispatches, `consumer` runs the worker; pass two
/// separately connected drivers so the latency phase sees what a producer in
/// another process sees (for example with same-process wake-up switched off), or
/// the same driver twice.
pub async fn run(
    producer: Arc<dyn Driver>,
    consumer: Arc<dyn Driver>,
    config: &BenchConfig,
) -> Result<BenchReport, BenchError> {
    let queue_name = QueueName::new(config.queue.clone())?;
    let queue = Queue::from_arc(producer.clone());
    let on_queue = JobOptions::new().queue(config.queue.clone());
    producer.clear(&queue_name).await?;

    // Single enqueue: one awaited call at a time.
    let started = Instant::now();
    for _ in 0..config.single_jobs {
        queue.dispatch_with(BenchNoop {}, &on_queue, None).await?;
    }
    let enqueue_per_sec = per_sec(config.single_jobs, started.elapsed());
    producer.clear(&queue_name).await?;

    // Bulk enqueue: chunks of `bulk_chunk`.
    let started = Instant::now();
    let mut left = config.jobs;
    while left > 0 {
        let n = left.min(config.bulk_chunk.max(1));
        let jobs = (0..n)
            .map(|_| queue.pending(&BenchNoop {}, &on_queue, None))
            .collect::<Result<Vec<_>, _>>()?;
        producer.push_bulk(jobs).await?;
        left -= n;
    }
    let bulk_enqueue_per_sec = per_sec(config.jobs, started.elapsed());

    // Drain: everything just enqueued, run to empty.
    let drain_per_sec = per_sec(
        config.jobs,
        run_to_empty(&consumer, &config.queue, config, "drain", true).await?,
    );

    // Latency: an idle worker, jobs sent at an interval.
    let (tx, mut rx) = mpsc::unbounded_channel();
    *LATENCY_SINK.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = Worker::builder(consumer.clone())
        .register::<BenchPing>()
        .queues([config.queue.as_str()])
        .concurrency(config.concurrency)
        .build()?;
    let worker_task = tokio::spawn(worker.run_until(async {
        let _ = stop_rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut samples = Vec::with_capacity(config.latency_jobs);
    let mut ticker = tokio::time::interval(config.latency_interval);
    for _ in 0..config.latency_jobs {
        ticker.tick().await;
        queue
            .dispatch_with(
                BenchPing {
                    sent_at_us: now_us(),
                },
                &on_queue,
                None,
            )
            .await?;
        while let Ok(us) = rx.try_recv() {
            samples.push(us as f64 / 1000.0);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while samples.len() < config.latency_jobs && Instant::now() < deadline {
        if let Ok(Some(us)) = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
            samples.push(us as f64 / 1000.0);
        }
    }
    let _ = stop_tx.send(());
    *LATENCY_SINK.lock().unwrap_or_else(|p| p.into_inner()) = None;
    worker_task.await.map_err(|e| BenchError::Incomplete {
        phase: "latency",
        detail: format!("worker task ended abnormally: {e}"),
    })??;
    producer.clear(&queue_name).await?;
    if samples.len() < config.latency_jobs {
        return Err(BenchError::Incomplete {
            phase: "latency",
            detail: format!(
                "{} of {} jobs started within 30 s",
                samples.len(),
                config.latency_jobs
            ),
        });
    }
    samples.sort_by(f64::total_cmp);

    let rate_limited_drain_per_sec = rate_limited_drain(&queue, &consumer, config).await?;
    let group_drain_per_sec = crate::group_drain::group_drain(&queue, &consumer, config).await?;
    let progress = crate::progress_drain::progress_drain(&queue, &consumer, config).await?;
    let history = crate::history_drain::history_drain(&queue, &consumer, config).await?;

    Ok(BenchReport {
        driver: producer.connection_name().to_owned(),
        jobs: config.jobs,
        concurrency: config.concurrency,
        enqueue_per_sec,
        bulk_enqueue_per_sec,
        drain_per_sec,
        latency_p50_ms: percentile(&samples, 50.0),
        latency_p99_ms: percentile(&samples, 99.0),
        rate_limit_per_sec: config.rate_limit.jobs as f64 / config.rate_limit.per.as_secs_f64(),
        rate_limited_drain_per_sec,
        groups: config.groups.max(1),
        group_drain_per_sec,
        progress_reference_drain_per_sec: progress.reference_per_sec,
        progress_drain_per_sec: progress.drain_per_sec,
        progress_calls_per_sec: progress.calls_per_sec,
        history_off_drain_per_sec: history.off_per_sec,
        history_on_drain_per_sec: history.on_per_sec,
    })
}

/// The rate-limited drain: `rate_limited_jobs` no-op jobs on `<queue>-limited`
/// under `rate_limit`, run to empty by one worker. The first window's jobs
/// start at once, so the achieved rate is the jobs after them over the time to
/// empty: it approaches the limit from below, and a figure over it means the
/// limit leaked.
async fn rate_limited_drain(
    queue: &Queue,
    consumer: &Arc<dyn Driver>,
    config: &BenchConfig,
) -> Result<f64, BenchError> {
    let name = format!("{}-limited", config.queue);
    let queue_name = QueueName::new(name.clone())?;
    let on_queue = JobOptions::new().queue(name.clone());
    let driver = queue.driver();
    driver.clear(&queue_name).await?;
    // Set through the consumer's own driver: a driver sees a limit set through
    // another one only after its short cache of limited queues lapses (250 ms
    // on MySQL), which would let the first claims of the drain run unlimited.
    consumer
        .set_rate_limit(&queue_name, config.rate_limit)
        .await?;
    let mut left = config.rate_limited_jobs;
    while left > 0 {
        let n = left.min(config.bulk_chunk.max(1));
        let jobs = (0..n)
            .map(|_| queue.pending(&BenchNoop {}, &on_queue, None))
            .collect::<Result<Vec<_>, _>>()?;
        driver.push_bulk(jobs).await?;
        left -= n;
    }
    let started = Instant::now();
    let report = Worker::builder(consumer.clone())
        .register::<BenchNoop>()
        .queues([name.as_str()])
        .concurrency(config.concurrency)
        .max_jobs(Some(config.rate_limited_jobs as u64))
        .build()?
        .run_until(std::future::pending::<()>())
        .await?;
    let elapsed = started.elapsed();
    consumer.clear_rate_limit(&queue_name).await?;
    driver.clear(&queue_name).await?;
    if report.counts.processed < config.rate_limited_jobs as u64 {
        return Err(BenchError::Incomplete {
            phase: "rate-limited drain",
            detail: format!(
                "{} of {} jobs processed ({:?})",
                report.counts.processed, config.rate_limited_jobs, report
            ),
        });
    }
    let after_first = config
        .rate_limited_jobs
        .saturating_sub(config.rate_limit.jobs as usize);
    Ok(per_sec(after_first, elapsed))
}
