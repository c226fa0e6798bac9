//! Throughput history: the worker counts, per queue and minute, the jobs that
//! succeeded, the jobs that failed for good and the attempts released for a
//! retry, and a background task adds them to the store's history
//! ([`History::record_history`](routemq_core::History::record_history)) every
//! flush interval, in one call, and once more when the worker stops.
//!
//! Counting is as cheap as [`WorkerStats`](crate::WorkerStats)' own: each
//! queue the worker drains has a slot of atomic counters for the current
//! minute, so a count is a clock read, an atomic load and an atomic add. A
//! mutex is taken only when a queue's slot turns to a new minute (once a
//! minute) and by the flush. A job that finishes at the very turn of a minute
//! may be counted in the next one.
//!
//! A flush that fails is logged (a warning when the backend starts failing,
//! with the error) and its counts are kept and added to the next flush; counts
//! for minutes older than [`HISTORY_KEPT_FOR`] are dropped (the store would
//! ignore them), so an outage cannot grow the buffer without bound.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use routemq_core::{
    unix_minute, Driver, DriverError, HistoryCounts, HistoryDelta, QueueName, UnixMinute,
    HISTORY_KEPT_FOR,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::stats::Counter;

/// Bound on one `record_history` call; one that takes longer counts as failed
/// (its counts are kept for the next flush).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on the last flush when the worker stops.
const FINAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A slot that has counted nothing yet.
const NO_MINUTE: UnixMinute = UnixMinute::MIN;

/// One queue's counters for the minute in `minute`.
#[derive(Debug)]
struct Slot {
    minute: AtomicI64,
    processed: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
}

impl Slot {
    fn new() -> Self {
        Slot {
            minute: AtomicI64::new(NO_MINUTE),
            processed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retried: AtomicU64::new(0),
        }
    }

    /// Takes the counts, leaving zeros.
    fn take(&self) -> HistoryCounts {
        HistoryCounts {
            processed: self.processed.swap(0, Ordering::Relaxed),
            failed: self.failed.swap(0, Ordering::Relaxed),
            retried: self.retried.swap(0, Ordering::Relaxed),
        }
    }
}

/// Counts waiting to be written: (queue, minute) → counts.
type Pending = BTreeMap<(QueueName, UnixMinute), HistoryCounts>;

/// The worker's history buffer (see the module docs).
#[derive(Debug)]
pub(crate) struct HistoryRecorder {
    /// One slot per queue the worker drains.
    slots: Vec<(QueueName, Slot)>,
    /// Counts taken out of the slots and not yet written: the minutes a slot
    /// turned away from, flushes that failed, jobs of a queue without a slot.
    pending: Mutex<Pending>,
}

/// The oldest minute the store still keeps at `now`.
fn oldest_kept(now: SystemTime) -> UnixMinute {
    now.checked_sub(HISTORY_KEPT_FOR)
        .map_or(UnixMinute::MIN, unix_minute)
}

fn total(counts: &HistoryCounts) -> u64 {
    counts.processed + counts.failed + counts.retried
}

impl HistoryRecorder {
    /// A recorder with a slot for each of `queues`.
    pub(crate) fn new(queues: &[QueueName]) -> Self {
        HistoryRecorder {
            slots: queues.iter().map(|q| (q.clone(), Slot::new())).collect(),
            pending: Mutex::new(Pending::new()),
        }
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one attempt's end on `queue` now: [`Counter::Processed`],
    /// [`Counter::Failed`] and [`Counter::Retried`]; other counters are not part
    /// of the history.
    pub(crate) fn count(&self, queue: &str, counter: Counter) {
        self.count_at(queue, counter, unix_minute(SystemTime::now()));
    }

    fn count_at(&self, queue: &str, counter: Counter, minute: UnixMinute) {
        let one = match counter {
            Counter::Processed => (1, 0, 0),
            Counter::Failed => (0, 1, 0),
            Counter::Retried => (0, 0, 1),
            _ => return,
        };
        let Some((name, slot)) = self.slots.iter().find(|(q, _)| q.as_str() == queue) else {
            // Not a queue this worker drains (never expected): the slow path.
            if let Ok(q) = QueueName::new(queue) {
                let counts = HistoryCounts {
                    processed: one.0,
                    failed: one.1,
                    retried: one.2,
                };
                self.pending().entry((q, minute)).or_default().add(counts);
            }
            return;
        };
        if slot.minute.load(Ordering::Relaxed) < minute {
            self.turn(name, slot, minute);
        }
        let field = match counter {
            Counter::Processed => &slot.processed,
            Counter::Failed => &slot.failed,
            _ => &slot.retried,
        };
        field.fetch_add(1, Ordering::Relaxed);
    }

    /// Moves `slot`'s counts to the pending map under its minute and makes it
    /// count `minute` (unless another count turned it already).
    fn turn(&self, queue: &QueueName, slot: &Slot, minute: UnixMinute) {
        let mut pending = self.pending();
        let old = slot.minute.load(Ordering::Relaxed);
        if old >= minute {
            return;
        }
        slot.minute.store(minute, Ordering::Relaxed);
        let counts = slot.take();
        if old != NO_MINUTE && !counts.is_empty() {
            pending.entry((queue.clone(), old)).or_default().add(counts);
        }
    }

    /// Takes every count out of the recorder, as deltas to write.
    pub(crate) fn drain(&self) -> Vec<HistoryDelta> {
        let mut pending = self.pending();
        for (queue, slot) in &self.slots {
            let minute = slot.minute.load(Ordering::Relaxed);
            if minute == NO_MINUTE {
                continue;
            }
            let counts = slot.take();
            if !counts.is_empty() {
                pending
                    .entry((queue.clone(), minute))
                    .or_default()
                    .add(counts);
            }
        }
        std::mem::take(&mut *pending)
            .into_iter()
            .map(|((queue, minute), counts)| HistoryDelta {
                queue,
                minute,
                counts,
            })
            .collect()
    }

    /// Puts back `deltas` that could not be written, for the next flush, but
    /// those of minutes past [`HISTORY_KEPT_FOR`]; returns how many counts were
    /// dropped for that.
    pub(crate) fn restore(&self, deltas: Vec<HistoryDelta>, now: SystemTime) -> u64 {
        let oldest = oldest_kept(now);
        let mut pending = self.pending();
        let mut dropped = 0;
        for d in deltas {
            if d.minute < oldest {
                dropped += total(&d.counts);
            } else {
                pending
                    .entry((d.queue, d.minute))
                    .or_default()
                    .add(d.counts);
            }
        }
        pending.retain(|(_, minute), counts| {
            let keep = *minute >= oldest;
            if !keep {
                dropped += total(counts);
            }
            keep
        });
        dropped
    }
}

/// Writes `deltas` (bounded by `limit`).
async fn write(
    driver: &dyn Driver,
    deltas: &[HistoryDelta],
    limit: Duration,
) -> Result<(), DriverError> {
    match tokio::time::timeout(limit, driver.record_history(deltas)).await {
        Ok(res) => res,
        Err(_) => Err(DriverError::unavailable(
            "worker",
            format!("record_history did not answer within {limit:?}"),
        )),
    }
}

/// Starts the flush task: every `every` it writes what `recorder` counted in
/// one call; once `stop` is cancelled (after the last job settled) it writes
/// what is left and ends.
pub(crate) fn spawn(
    driver: Arc<dyn Driver>,
    recorder: Arc<HistoryRecorder>,
    every: Duration,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Failed flushes in a row: the first one warns, the next ones log at
        // debug level until a flush succeeds again.
        let mut failures: u32 = 0;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(every) => {}
            }
            let deltas = recorder.drain();
            if deltas.is_empty() {
                continue;
            }
            match write(&*driver, &deltas, FLUSH_TIMEOUT).await {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(
                            failures,
                            "throughput history written again; the counts kept meanwhile are in"
                        );
                    }
                    failures = 0;
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let counts: u64 = deltas.iter().map(|d| total(&d.counts)).sum();
                    let minutes = deltas.len();
                    if failures == 1 {
                        tracing::warn!(%error, counts, minutes,
                            "could not write the throughput history; the counts are kept for the next flush");
                    } else {
                        tracing::debug!(%error, counts, minutes, failures,
                            "writing the throughput history still fails; the counts are kept");
                    }
                    let dropped = recorder.restore(deltas, SystemTime::now());
                    if dropped > 0 {
                        tracing::warn!(
                            dropped,
                            "throughput history counts older than the history's retention were dropped"
                        );
                    }
                }
            }
        }
        let deltas = recorder.drain();
        if deltas.is_empty() {
            return;
        }
        if let Err(error) = write(&*driver, &deltas, FINAL_FLUSH_TIMEOUT).await {
            let counts: u64 = deltas.iter().map(|d| total(&d.counts)).sum();
            tracing::warn!(%error, counts, minutes = deltas.len(),
                "stopping: could not write the last throughput counts; they are missing from the history");
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(name: &str) -> QueueName {
        QueueName::new(name).unwrap()
    }

    fn counts(processed: u64, failed: u64, retried: u64) -> HistoryCounts {
        HistoryCounts {
            processed,
            failed,
            retried,
        }
    }

    fn as_map(deltas: Vec<HistoryDelta>) -> BTreeMap<(String, UnixMinute), HistoryCounts> {
        deltas
            .into_iter()
            .map(|d| ((d.queue.to_string(), d.minute), d.counts))
            .collect()
    }

    #[test]
    fn counts_per_queue_and_minute_and_drains_once() {
        let r = HistoryRecorder::new(&[q("a"), q("b")]);
        r.count_at("a", Counter::Processed, 100);
        r.count_at("a", Counter::Processed, 100);
        r.count_at("a", Counter::Failed, 100);
        r.count_at("b", Counter::Retried, 100);
        r.count_at("a", Counter::Retried, 101); // turns a's slot
        r.count_at("a", Counter::Processed, 100); // late: counted in 101
        r.count_at("a", Counter::LeaseLost, 101); // not history
        r.count_at("c", Counter::Processed, 101); // no slot
        let got = as_map(r.drain());
        let want = BTreeMap::from([
            (("a".to_owned(), 100), counts(2, 1, 0)),
            (("a".to_owned(), 101), counts(1, 0, 1)),
            (("b".to_owned(), 100), counts(0, 0, 1)),
            (("c".to_owned(), 101), counts(1, 0, 0)),
        ]);
        assert_eq!(got, want);
        assert!(r.drain().is_empty(), "a drain takes everything");
        r.count_at("a", Counter::Processed, 101);
        assert_eq!(
            as_map(r.drain()),
            BTreeMap::from([(("a".to_owned(), 101), counts(1, 0, 0))])
        );
    }

    #[test]
    fn restored_counts_merge_into_the_next_drain_and_expire() {
        let r = HistoryRecorder::new(&[q("a")]);
        let now = SystemTime::now();
        let minute = unix_minute(now);
        r.count_at("a", Counter::Processed, minute);
        let first = r.drain();
        r.count_at("a", Counter::Processed, minute);
        let old = HistoryDelta {
            queue: q("a"),
            minute: oldest_kept(now) - 1,
            counts: counts(5, 0, 0),
        };
        let mut failed = first;
        failed.push(old);
        assert_eq!(r.restore(failed, now), 5, "the expired minute is dropped");
        assert_eq!(
            as_map(r.drain()),
            BTreeMap::from([(("a".to_owned(), minute), counts(2, 0, 0))]),
            "kept counts add to the new ones"
        );
    }
}
