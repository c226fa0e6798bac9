//! The benchmark phases.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_core::{Driver, DriverError, JobOptions, Queue, QueueName, RateLimit};
use routemq_worker::{Worker, WorkerError};

use crate::jobs::BenchNoop;
use crate::report::{percentile, BenchReport};
use crate::StoreSize;

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
    /// Jobs each worker claims ahead of its free slots
    /// ([`WorkerBuilder::prefetch`](routemq_worker::WorkerBuilder::prefetch)).
    pub prefetch: usize,
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
    /// No-op filler jobs pushed to the queue before the measured phases and
    /// kept waiting through the enqueue and drain phases (see [`run`]); 0 for
    /// none.
    pub queued: usize,
    /// With `queued` above 0, a pause between the fill and the measured
    /// phases, so that what the fill left the store doing settles first
    /// (MySQL's page flushing and purge; on a Redis server that has just
    /// grown by gigabytes, costlier page faults for a while). Zero by default:
    /// the phases start right after the fill.
    pub settle: Duration,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            queue: "routemq-bench".into(),
            jobs: 50_000,
            single_jobs: 10_000,
            bulk_chunk: 1_000,
            concurrency: 32,
            prefetch: 0,
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
            queued: 0,
            settle: Duration::ZERO,
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
    run_worker(consumer, queue, config, phase, history, None).await
}

/// Runs `work` as a task of the runtime, where a producer in a tokio service
/// runs. Awaited on `block_on`'s thread instead, which is not one of the
/// runtime's, every call would also wake a runtime thread to send it (the
/// connection's task runs there) and be woken back: about 50 µs per call here.
pub(crate) async fn on_runtime<T: Send + 'static>(
    phase: &'static str,
    work: impl Future<Output = Result<T, BenchError>> + Send + 'static,
) -> Result<T, BenchError> {
    tokio::spawn(work)
        .await
        .map_err(|e| BenchError::Incomplete {
            phase,
            detail: format!("its task ended abnormally: {e}"),
        })?
}

/// Runs exactly `count` no-op jobs off the head of `queue` (more may wait
/// behind them) with one worker of `config.concurrency`, which claims no more
/// than `count` ([`max_jobs`](routemq_worker::WorkerBuilder::max_jobs)) and
/// stops once they finished; returns how long that took. A queue that empties
/// first is [`BenchError::Incomplete`] naming `phase`.
pub(crate) async fn run_count(
    consumer: &Arc<dyn Driver>,
    queue: &str,
    config: &BenchConfig,
    phase: &'static str,
    count: usize,
) -> Result<Duration, BenchError> {
    run_worker(consumer, queue, config, phase, true, Some(count)).await
}

/// [`run_to_empty`] (`count` `None`: `config.jobs` expected) or [`run_count`].
async fn run_worker(
    consumer: &Arc<dyn Driver>,
    queue: &str,
    config: &BenchConfig,
    phase: &'static str,
    history: bool,
    count: Option<usize>,
) -> Result<Duration, BenchError> {
    let expected = count.unwrap_or(config.jobs);
    let started = Instant::now();
    let report = Worker::builder(consumer.clone())
        .register::<BenchNoop>()
        .queues([queue])
        .concurrency(config.concurrency)
        .prefetch(config.prefetch)
        .record_history(history)
        .stop_when_empty(true)
        .max_jobs(count.map(|n| n as u64))
        .build()?
        .run_until(std::future::pending::<()>())
        .await?;
    let elapsed = started.elapsed();
    if report.counts.processed < expected as u64 {
        return Err(BenchError::Incomplete {
            phase,
            detail: format!(
                "{} of {} jobs processed ({:?})",
                report.counts.processed, expected, report
            ),
        });
    }
    Ok(elapsed)
}

pub(crate) fn per_sec(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// Runs every phase ([`run_with_store_size`] without a store size: the store
/// figures of a run with `queued` filler jobs are then "n/a").
pub async fn run(
    producer: Arc<dyn Driver>,
    consumer: Arc<dyn Driver>,
    config: &BenchConfig,
) -> Result<BenchReport, BenchError> {
    run_with_store_size(producer, consumer, config, None).await
}

/// Runs every phase. `producer` dispatches, `consumer` runs the worker; pass two
/// separately connected drivers so the latency phase sees what a producer in
/// another process sees (for example with same-process wake-up switched off), or
/// the same driver twice.
///
/// With `config.queued` above 0 the bench queue first gets that many filler
/// jobs, and keeps about that many waiting through the single enqueue, the bulk
/// enqueue and the drain: the single-enqueue phase's jobs are run off the head
/// of the queue afterwards (unmeasured) instead of clearing it, and the drain
/// runs exactly `config.jobs` jobs (filler first: the queue is FIFO). The
/// latency phase, which needs an idle worker, then runs on `<queue>-latency`;
/// the queue is cleared at the end. `store`, when given, is read before and
/// after the fill for the store's bytes per queued job.
pub async fn run_with_store_size(
    producer: Arc<dyn Driver>,
    consumer: Arc<dyn Driver>,
    config: &BenchConfig,
    store: Option<&dyn StoreSize>,
) -> Result<BenchReport, BenchError> {
    let queue_name = QueueName::new(config.queue.clone())?;
    let queue = Queue::from_arc(producer.clone());
    let on_queue = JobOptions::new().queue(config.queue.clone());
    producer.clear(&queue_name).await?;
    let filled = match config.queued {
        0 => None,
        _ => Some(crate::filler::fill(&queue, config, store).await?),
    };

    // Single enqueue: one awaited call at a time.
    let started = Instant::now();
    let (sender, on, n) = (queue.clone(), on_queue.clone(), config.single_jobs);
    on_runtime("enqueue", async move {
        for _ in 0..n {
            sender.dispatch_with(BenchNoop {}, &on, None).await?;
        }
        Ok(())
    })
    .await?;
    let enqueue_per_sec = per_sec(config.single_jobs, started.elapsed());
    match filled {
        None => {
            producer.clear(&queue_name).await?;
        }
        Some(_) => crate::filler::trim(&consumer, config, config.single_jobs).await?,
    }

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

    // Drain: everything just enqueued run to empty, or with filler waiting
    // exactly that many jobs.
    let drained = match filled {
        None => run_to_empty(&consumer, &config.queue, config, "drain", true).await?,
        Some(_) => run_count(&consumer, &config.queue, config, "drain", config.jobs).await?,
    };
    let drain_per_sec = per_sec(config.jobs, drained);
    let filler = match filled {
        None => None,
        Some(filled) => Some(filled.after_drain(&producer, config).await?),
    };

    // Latency: an idle worker, jobs sent at an interval.
    let latency_queue = match filler {
        None => config.queue.clone(),
        Some(_) => format!("{}-latency", config.queue),
    };
    let samples = crate::latency::latency(&queue, &consumer, config, &latency_queue).await?;

    let rate_limited_drain_per_sec = rate_limited_drain(&queue, &consumer, config).await?;
    let group_drain_per_sec = crate::group_drain::group_drain(&queue, &consumer, config).await?;
    let progress = crate::progress_drain::progress_drain(&queue, &consumer, config).await?;
    let history = crate::history_drain::history_drain(&queue, &consumer, config).await?;
    if filler.is_some() {
        producer.clear(&queue_name).await?;
    }

    Ok(BenchReport {
        driver: producer.connection_name().to_owned(),
        jobs: config.jobs,
        concurrency: config.concurrency,
        prefetch: config.prefetch,
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
        filler,
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
        .prefetch(config.prefetch)
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
