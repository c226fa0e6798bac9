//! Live counters ([`WorkerStats`]) and the final [`WorkerReport`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Live counters of one worker, updated as jobs finish. Get them with
/// [`Worker::stats`](crate::Worker::stats) before calling `run`/`run_until` and read
/// them from any task (for a progress bar) with [`WorkerStats::snapshot`].
#[derive(Debug, Default)]
pub struct WorkerStats {
    claimed: AtomicU64,
    running: AtomicU64,
    processed: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    timed_out: AtomicU64,
    released_on_shutdown: AtomicU64,
    lease_lost: AtomicU64,
    cancelled: AtomicU64,
}

/// A point-in-time copy of [`WorkerStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Jobs claimed (attempts started or about to start).
    pub claimed: u64,
    /// Jobs running now.
    pub running: u64,
    /// Attempts that succeeded (the job was acknowledged or is being acknowledged).
    pub processed: u64,
    /// Jobs sent to the failed store (out of tries, fatal error, unknown type,
    /// undecodable payload).
    pub failed: u64,
    /// Attempts that failed and were released to run again later.
    pub retried: u64,
    /// Attempts stopped by their timeout (also counted in `retried` or `failed`).
    pub timed_out: u64,
    /// Jobs stopped by shutdown and released so another worker takes them at once.
    pub released_on_shutdown: u64,
    /// Jobs abandoned because their lease was lost (another worker owns them now).
    pub lease_lost: u64,
    /// Running jobs stopped because they were cancelled (recorded as cancelled,
    /// not failed).
    pub cancelled: u64,
}

impl StatsSnapshot {
    /// Attempts that reached an end: processed, failed, retried, released, lost
    /// or cancelled.
    pub fn finished(&self) -> u64 {
        self.processed
            + self.failed
            + self.retried
            + self.released_on_shutdown
            + self.lease_lost
            + self.cancelled
    }
}

/// Which counter an attempt's end bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    Processed,
    Failed,
    Retried,
    ReleasedOnShutdown,
    LeaseLost,
    Cancelled,
}

impl WorkerStats {
    /// Copies the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            claimed: get(&self.claimed),
            running: get(&self.running),
            processed: get(&self.processed),
            failed: get(&self.failed),
            retried: get(&self.retried),
            timed_out: get(&self.timed_out),
            released_on_shutdown: get(&self.released_on_shutdown),
            lease_lost: get(&self.lease_lost),
            cancelled: get(&self.cancelled),
        }
    }

    pub(crate) fn add_claimed(&self, n: u64) {
        self.claimed.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn started(&self) {
        self.running.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stopped(&self) {
        self.running.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count(&self, counter: Counter) {
        let c = match counter {
            Counter::Processed => &self.processed,
            Counter::Failed => &self.failed,
            Counter::Retried => &self.retried,
            Counter::ReleasedOnShutdown => &self.released_on_shutdown,
            Counter::LeaseLost => &self.lease_lost,
            Counter::Cancelled => &self.cancelled,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The shutdown future resolved (SIGTERM/SIGINT for [`Worker::run`](crate::Worker::run)).
    Shutdown,
    /// `max_jobs` jobs finished.
    MaxJobs,
    /// `max_time` passed.
    MaxTime,
    /// `once`: one job was processed, or none was available.
    Once,
    /// `stop_when_empty`: a claim found nothing and nothing was running.
    Empty,
}

/// What a finished worker run did. Serialises to JSON for `routemq work --json`,
/// flat: the counters of [`StatsSnapshot`] sit beside `worker_id`, `stop_reason`
/// and `elapsed_ms` (`running` is 0 once a run has returned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerReport {
    /// The worker's id (as in its heartbeat).
    pub worker_id: String,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Wall time of the run, in milliseconds.
    pub elapsed_ms: u64,
    /// The worker's counters when it stopped.
    #[serde(flatten)]
    pub counts: StatsSnapshot,
}

impl WorkerReport {
    pub(crate) fn new(
        worker_id: String,
        stop_reason: StopReason,
        elapsed: Duration,
        counts: StatsSnapshot,
    ) -> Self {
        WorkerReport {
            worker_id,
            stop_reason,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_json_is_flat() {
        let counts = StatsSnapshot {
            claimed: 3,
            processed: 2,
            failed: 1,
            ..StatsSnapshot::default()
        };
        let report = WorkerReport::new(
            "w1".into(),
            StopReason::Empty,
            Duration::from_millis(7),
            counts,
        );
        let json = serde_json::to_value(&report).unwrap();
        let expected = serde_json::json!({
            "worker_id": "w1",
            "stop_reason": "empty",
            "elapsed_ms": 7,
            "claimed": 3,
            "running": 0,
            "processed": 2,
            "failed": 1,
            "retried": 0,
            "timed_out": 0,
            "released_on_shutdown": 0,
            "lease_lost": 0,
            "cancelled": 0,
        });
        assert_eq!(json, expected);
    }
}
