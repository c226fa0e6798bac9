//! One queue's counts as the API shows them, the totals over queues, and a rate
//! limit as a row.

use routemq_core::{QueueStats, RateLimit};
use serde::Serialize;

/// A rate limit: its numbers and its text (`20 per 1s`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LimitView {
    jobs: u32,
    per_ms: u64,
    per_group: bool,
    text: String,
}

impl From<RateLimit> for LimitView {
    fn from(l: RateLimit) -> Self {
        LimitView {
            jobs: l.jobs,
            per_ms: l.per_ms(),
            per_group: l.per_group,
            text: l.to_string(),
        }
    }
}

/// One queue's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct QueueRow {
    queue: String,
    ready: u64,
    delayed: u64,
    /// Claimed and not finished: the driver's `reserved`.
    running: u64,
    failed: u64,
    paused: bool,
    oldest_ready_age_ms: Option<u64>,
    rate_limit: Option<LimitView>,
    /// How old these counts are (readings are shared by viewers: `stats_cache`).
    counted_ms_ago: u64,
}

impl QueueRow {
    /// The row of `s`, counted `age` ago.
    pub(crate) fn counted(s: QueueStats, age: std::time::Duration) -> Self {
        QueueRow {
            counted_ms_ago: u64::try_from(age.as_millis()).unwrap_or(u64::MAX),
            ..QueueRow::from(s)
        }
    }
}

impl From<QueueStats> for QueueRow {
    fn from(s: QueueStats) -> Self {
        QueueRow {
            counted_ms_ago: 0,
            queue: s.queue,
            ready: s.ready,
            delayed: s.delayed,
            running: s.reserved,
            failed: s.failed,
            paused: s.paused,
            oldest_ready_age_ms: s
                .oldest_ready_age
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            rate_limit: s.rate_limit.map(LimitView::from),
        }
    }
}

impl QueueRow {
    /// The queue's name.
    pub(crate) fn queue(&self) -> &str {
        &self.queue
    }

    /// Takes the failed count from `counts` (a failed store apart from the
    /// driver): 0 when the queue is not in it.
    pub(crate) fn set_failed_from(&mut self, counts: &[(String, u64)]) {
        self.failed = counts
            .iter()
            .find(|(q, _)| *q == self.queue)
            .map_or(0, |(_, n)| *n);
    }
}

/// Counts over every queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Totals {
    queues: u64,
    paused: u64,
    ready: u64,
    delayed: u64,
    running: u64,
    failed: u64,
}

impl Totals {
    /// The totals of `rows`.
    pub(crate) fn of(rows: &[QueueRow]) -> Self {
        rows.iter().fold(Totals::default(), |t, r| Totals {
            queues: t.queues + 1,
            paused: t.paused + u64::from(r.paused),
            ready: t.ready + r.ready,
            delayed: t.delayed + r.delayed,
            running: t.running + r.running,
            failed: t.failed + r.failed,
        })
    }
}
