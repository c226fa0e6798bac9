//! The filler of a run with [`BenchConfig::queued`] above 0: that many no-op
//! jobs pushed to the bench queue before the measured phases and left waiting
//! there, so the single enqueue, the bulk enqueue and the drain run against a
//! deep queue. Around the fill it reads the process's resident memory and, when
//! the caller can tell, the store's size ([`StoreSize`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_core::{Driver, JobOptions, Queue, QueueName};

use crate::jobs::BenchNoop;
use crate::resident::resident_bytes;
use crate::run::{per_sec, run_count, BenchConfig, BenchError};
use crate::{FillerReport, StoreSize};

/// What the fill measured, before the drain adds its readings.
pub(crate) struct Filled {
    elapsed: Duration,
    payload_bytes: u64,
    ready_after_fill: u64,
    rss_before: Option<u64>,
    rss_after_fill: Option<u64>,
    /// `None` without a store, or when it shrank over the fill (see
    /// [`FillerReport::store_bytes_per_queued_job`]).
    store_growth: Option<u64>,
}

/// Pushes `config.queued` no-op jobs to the bench queue in bulk (chunks of
/// `bulk_chunk`), reading the resident memory and the store's size (when
/// `store` is given) before and after, checks that they are all ready, then
/// waits `config.settle`.
pub(crate) async fn fill(
    queue: &Queue,
    config: &BenchConfig,
    store: Option<&dyn StoreSize>,
) -> Result<Filled, BenchError> {
    let queue_name = QueueName::new(config.queue.clone())?;
    let on_queue = JobOptions::new().queue(config.queue.clone());
    let driver = queue.driver();
    let rss_before = resident_bytes();
    let store_before = match store {
        Some(s) => Some(s.store_bytes().await?),
        None => None,
    };
    let started = Instant::now();
    let mut payload_bytes = 0u64;
    let mut left = config.queued;
    while left > 0 {
        let n = left.min(config.bulk_chunk.max(1));
        let jobs = (0..n)
            .map(|_| queue.pending(&BenchNoop {}, &on_queue, None))
            .collect::<Result<Vec<_>, _>>()?;
        payload_bytes += jobs.iter().map(|j| j.payload.len() as u64).sum::<u64>();
        driver.push_bulk(jobs).await?;
        left -= n;
    }
    let elapsed = started.elapsed();
    let rss_after_fill = resident_bytes();
    let store_growth = match (store, store_before) {
        (Some(s), Some(before)) => s.store_bytes().await?.checked_sub(before),
        _ => None,
    };
    let ready_after_fill = driver.stats(&queue_name).await?.ready;
    if ready_after_fill < config.queued as u64 {
        return Err(BenchError::Incomplete {
            phase: "fill",
            detail: format!(
                "{ready_after_fill} of {} filler jobs ready after the fill",
                config.queued
            ),
        });
    }
    tokio::time::sleep(config.settle).await;
    Ok(Filled {
        elapsed,
        payload_bytes,
        ready_after_fill,
        rss_before,
        rss_after_fill,
        store_growth,
    })
}

/// Runs `count` jobs off the head of the bench queue (unmeasured), so a phase
/// that added `count` jobs behind the filler leaves `queued` jobs waiting, as
/// the next phase expects.
pub(crate) async fn trim(
    consumer: &Arc<dyn Driver>,
    config: &BenchConfig,
    count: usize,
) -> Result<(), BenchError> {
    if count > 0 {
        run_count(
            consumer,
            &config.queue,
            config,
            "trim after single enqueue",
            count,
        )
        .await?;
    }
    Ok(())
}

impl Filled {
    /// Takes the readings due right after the drain (resident memory, ready
    /// jobs) and makes the report.
    pub(crate) async fn after_drain(
        self,
        driver: &Arc<dyn Driver>,
        config: &BenchConfig,
    ) -> Result<FillerReport, BenchError> {
        let rss_after_drain = resident_bytes();
        let ready_after_drain = driver
            .stats(&QueueName::new(config.queue.clone())?)
            .await?
            .ready;
        let queued = config.queued.max(1) as f64;
        let payload = self.payload_bytes as f64 / queued;
        let per_job = self.store_growth.map(|b| b as f64 / queued);
        Ok(FillerReport {
            queued: config.queued,
            fill_seconds: self.elapsed.as_secs_f64(),
            fill_per_sec: per_sec(config.queued, self.elapsed),
            settle_seconds: config.settle.as_secs_f64(),
            filler_payload_bytes: payload,
            ready_after_fill: self.ready_after_fill,
            ready_after_drain,
            worker_rss_bytes_before: self.rss_before,
            worker_rss_bytes_after_fill: self.rss_after_fill,
            worker_rss_bytes_after_drain: rss_after_drain,
            store_bytes_per_queued_job: per_job,
            store_bytes_per_job_beyond_payload: per_job.map(|b| b - payload),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use routemq_core::MemoryDriver;

    use super::*;

    /// The measured phases start only once the settle has passed: the fill of
    /// ten jobs on the memory driver takes far less than the pause asked for.
    #[tokio::test]
    async fn the_fill_returns_only_after_its_settle() {
        let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
        let queue = Queue::from_arc(driver);
        let settle = Duration::from_millis(400);
        let config = BenchConfig {
            queued: 10,
            settle,
            ..BenchConfig::default()
        };
        let started = Instant::now();
        let filled = fill(&queue, &config, None).await.unwrap();
        assert!(started.elapsed() >= settle);
        assert_eq!(filled.ready_after_fill, 10);
    }
}
