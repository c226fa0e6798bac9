//! Throughput history: per-minute counts of processed, failed and retried jobs
//! per queue, written by the workers into the store itself so that charts cover
//! every worker and survive restarts (`routemq dashboard`).

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{DriverError, QueueName};

/// How long per-minute counts are kept: the dashboard charts the last hour and the
/// last day, and a week back leaves room to compare. Older minutes expire by
/// themselves (Redis key expiry, MySQL rows pruned by
/// [`record_history`](History::record_history), memory pruned on write).
pub const HISTORY_KEPT_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// A minute, counted from the Unix epoch (`unix seconds / 60`).
pub type UnixMinute = i64;

/// The minute `t` falls in.
pub fn unix_minute(t: SystemTime) -> UnixMinute {
    crate::unix_ms(t).div_euclid(60_000)
}

/// What happened to jobs of one queue in one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCounts {
    /// Jobs that finished successfully (acked, with or without a kept result).
    pub processed: u64,
    /// Jobs that failed for good (moved to the failed store).
    pub failed: u64,
    /// Attempts that failed and were given back for another try.
    pub retried: u64,
}

impl HistoryCounts {
    /// True when every count is 0.
    pub fn is_empty(&self) -> bool {
        self.processed == 0 && self.failed == 0 && self.retried == 0
    }

    /// Adds `other` to these counts (saturating: counts never wrap).
    pub fn add(&mut self, other: HistoryCounts) {
        self.processed = self.processed.saturating_add(other.processed);
        self.failed = self.failed.saturating_add(other.failed);
        self.retried = self.retried.saturating_add(other.retried);
    }
}

/// `deltas` summed per queue and minute, sorted by queue then minute (so each
/// queue's minutes are consecutive), with empty sums left out: what a driver
/// writes for one [`History::record_history`] call.
pub fn merge_deltas(deltas: &[HistoryDelta]) -> Vec<HistoryDelta> {
    let mut sums: std::collections::BTreeMap<(&QueueName, UnixMinute), HistoryCounts> =
        std::collections::BTreeMap::new();
    for d in deltas.iter().filter(|d| !d.counts.is_empty()) {
        sums.entry((&d.queue, d.minute)).or_default().add(d.counts);
    }
    sums.into_iter()
        .map(|((queue, minute), counts)| HistoryDelta {
            queue: queue.clone(),
            minute,
            counts,
        })
        .collect()
}

/// Counts to add to one queue's minute ([`History::record_history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryDelta {
    /// The queue.
    pub queue: QueueName,
    /// The minute the jobs finished in.
    pub minute: UnixMinute,
    /// What to add.
    pub counts: HistoryCounts,
}

/// One queue's counts for one minute, as read back by [`History::history`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCounts {
    /// The minute.
    pub minute: UnixMinute,
    /// Its counts (all workers together).
    #[serde(flatten)]
    pub counts: HistoryCounts,
}

/// Per-minute throughput history: the ninth capability.
///
/// # Contract (checked for every driver by the conformance suite's `history` rules)
/// - [`record_history`](History::record_history) **adds** each delta to its
///   queue's minute: deltas from many workers, or many calls, for the same queue
///   and minute sum up; nothing is overwritten. One call is one round trip where
///   the backend allows, so a worker can flush its buffered counts every few
///   seconds for a cost per job near zero.
/// - [`history`](History::history) returns the minutes of `[from, to]` (both
///   included) that have counts, oldest first; minutes with nothing recorded are
///   left out. Queues are independent.
/// - Minutes older than [`HISTORY_KEPT_FOR`] (from the backend's clock at write
///   time) may be dropped at any time and are never returned; a delta for such a
///   minute is ignored.
/// - Counts live in the backend: a new driver value over the same store reads
///   what an earlier one wrote.
#[async_trait]
pub trait History: Send + Sync + fmt::Debug + 'static {
    /// Adds `deltas` to their queues' minutes (see the contract).
    async fn record_history(&self, deltas: &[HistoryDelta]) -> Result<(), DriverError>;

    /// The minutes of `queue` from `from` to `to` (both included) that have
    /// counts, oldest first.
    async fn history(
        &self,
        queue: &QueueName,
        from: UnixMinute,
        to: UnixMinute,
    ) -> Result<Vec<MinuteCounts>, DriverError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(queue: &str, minute: UnixMinute, processed: u64) -> HistoryDelta {
        HistoryDelta {
            queue: QueueName::new(queue).unwrap(),
            minute,
            counts: HistoryCounts {
                processed,
                failed: 0,
                retried: 0,
            },
        }
    }

    #[test]
    fn deltas_merge_per_queue_and_minute_in_order_without_empty_ones() {
        let merged = merge_deltas(&[
            delta("b", 5, 1),
            delta("a", 7, 2),
            delta("b", 5, 3),
            delta("a", 6, 0),
            delta("a", 3, 1),
        ]);
        let got: Vec<(&str, UnixMinute, u64)> = merged
            .iter()
            .map(|d| (d.queue.as_str(), d.minute, d.counts.processed))
            .collect();
        assert_eq!(got, [("a", 3, 1), ("a", 7, 2), ("b", 5, 4)]);
    }

    #[test]
    fn counts_saturate() {
        let mut c = HistoryCounts {
            processed: u64::MAX - 1,
            failed: 0,
            retried: 0,
        };
        c.add(HistoryCounts {
            processed: 5,
            failed: 1,
            retried: 0,
        });
        assert_eq!((c.processed, c.failed), (u64::MAX, 1));
    }
}
