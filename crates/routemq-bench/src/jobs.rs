//! The job types the benchmark dispatches.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use routemq_core::{Job, JobContext, JobError, JobOptions};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

/// Does nothing: the drain phase measures the queue, not the handler.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BenchNoop {}

impl Job for BenchNoop {
    const NAME: &'static str = "routemq.bench.noop";
    fn options() -> JobOptions {
        JobOptions::new().max_tries(1)
    }
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// Carries its send time; the handler reports enqueue → start in microseconds.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BenchPing {
    pub sent_at_us: u64,
}

/// Where [`BenchPing`] handlers report; set for the latency phase only.
pub(crate) static LATENCY_SINK: Mutex<Option<UnboundedSender<u64>>> = Mutex::new(None);

pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl Job for BenchPing {
    const NAME: &'static str = "routemq.bench.ping";
    fn options() -> JobOptions {
        JobOptions::new().max_tries(1)
    }
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        let waited = now_us().saturating_sub(self.sent_at_us);
        if let Some(tx) = LATENCY_SINK
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(waited);
        }
        Ok(())
    }
}

/// Set to end every running [`BenchProgress`] job.
pub(crate) static PROGRESS_STOP: AtomicBool = AtomicBool::new(false);
/// `ctx.progress` calls made by [`BenchProgress`] jobs.
pub(crate) static PROGRESS_CALLS: AtomicU64 = AtomicU64::new(0);

/// Reports progress `per_tick` times every `every_us` microseconds (as a job
/// working through rows reports each row) until [`PROGRESS_STOP`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BenchProgress {
    pub every_us: u64,
    pub per_tick: u64,
}

impl Job for BenchProgress {
    const NAME: &'static str = "routemq.bench.progress";
    fn options() -> JobOptions {
        JobOptions::new().max_tries(1).timeout(Duration::ZERO)
    }
    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        let mut ticker = tokio::time::interval(Duration::from_micros(self.every_us.max(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut n: u64 = 0;
        while !PROGRESS_STOP.load(Ordering::Relaxed) {
            ticker.tick().await;
            for _ in 0..self.per_tick {
                n += 1;
                ctx.progress((n % 100) as f32, "reporting");
            }
            PROGRESS_CALLS.fetch_add(self.per_tick, Ordering::Relaxed);
        }
        Ok(())
    }
}
