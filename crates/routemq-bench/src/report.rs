//! The benchmark's figures.

use std::fmt;

use serde::Serialize;

/// One benchmark run's figures. The JSON form (`--json`) has exactly these keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Driver connection name (`redis`, `database`, `memory`).
    pub driver: String,
    /// Jobs in the enqueue and drain phases.
    pub jobs: usize,
    /// Worker concurrency in the drain and latency phases.
    pub concurrency: usize,
    /// One producer, one awaited `dispatch` at a time.
    pub enqueue_per_sec: f64,
    /// `dispatch_bulk` in chunks.
    pub bulk_enqueue_per_sec: f64,
    /// Pre-enqueued no-op jobs run to empty by one worker.
    pub drain_per_sec: f64,
    /// Median enqueue → handler start, jobs sent at an interval to an idle worker.
    pub latency_p50_ms: f64,
    /// 99th percentile of the same.
    pub latency_p99_ms: f64,
    /// The limit of the rate-limited drain, in jobs per second.
    pub rate_limit_per_sec: f64,
    /// Achieved rate of the rate-limited drain: jobs after the first window's
    /// over the time to empty (at most the limit when the limit holds).
    pub rate_limited_drain_per_sec: f64,
    /// Groups of the group drain.
    pub groups: usize,
    /// The drain's job count spread over `groups` groups, run to empty by one
    /// worker (fair claims, to compare with `drain_per_sec`).
    pub group_drain_per_sec: f64,
    /// The plain drain again, late in the run, right before the progress
    /// drain: its reference.
    pub progress_reference_drain_per_sec: f64,
    /// The same drain while other jobs report progress
    /// (`progress_calls_per_sec`), to compare with its reference.
    pub progress_drain_per_sec: f64,
    /// `ctx.progress` calls a second during the progress drain.
    pub progress_calls_per_sec: f64,
    /// The plain drain with the worker's throughput history off (the best of
    /// two runs, first and last of the four history drains): the history's
    /// reference.
    pub history_off_drain_per_sec: f64,
    /// The same drain with the history on, as workers run by default (the best
    /// of the two middle runs).
    pub history_on_drain_per_sec: f64,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "driver={} jobs={} concurrency={} enqueue={:.0}/s bulk_enqueue={:.0}/s drain={:.0}/s latency p50={:.2}ms p99={:.2}ms rate_limited_drain={:.0}/s (limit {:.0}/s) group_drain={:.0}/s ({} groups) progress_drain={:.0}/s (with {:.0} progress calls/s; {:.0}/s without) history_drain={:.0}/s ({:.0}/s without)",
            self.driver,
            self.jobs,
            self.concurrency,
            self.enqueue_per_sec,
            self.bulk_enqueue_per_sec,
            self.drain_per_sec,
            self.latency_p50_ms,
            self.latency_p99_ms,
            self.rate_limited_drain_per_sec,
            self.rate_limit_per_sec,
            self.group_drain_per_sec,
            self.groups,
            self.progress_drain_per_sec,
            self.progress_calls_per_sec,
            self.progress_reference_drain_per_sec,
            self.history_on_drain_per_sec,
            self.history_off_drain_per_sec
        )
    }
}

/// The `p`-th percentile (0–100) of `sorted` by nearest rank; 0 when empty.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn json_has_the_documented_keys() {
        let r = BenchReport {
            driver: "memory".into(),
            jobs: 1,
            concurrency: 2,
            enqueue_per_sec: 3.0,
            bulk_enqueue_per_sec: 4.0,
            drain_per_sec: 5.0,
            latency_p50_ms: 6.0,
            latency_p99_ms: 7.0,
            rate_limit_per_sec: 8.0,
            rate_limited_drain_per_sec: 9.0,
            groups: 10,
            group_drain_per_sec: 11.0,
            progress_reference_drain_per_sec: 14.0,
            progress_drain_per_sec: 12.0,
            progress_calls_per_sec: 13.0,
            history_off_drain_per_sec: 15.0,
            history_on_drain_per_sec: 16.0,
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "bulk_enqueue_per_sec",
                "concurrency",
                "drain_per_sec",
                "driver",
                "enqueue_per_sec",
                "group_drain_per_sec",
                "groups",
                "history_off_drain_per_sec",
                "history_on_drain_per_sec",
                "jobs",
                "latency_p50_ms",
                "latency_p99_ms",
                "progress_calls_per_sec",
                "progress_drain_per_sec",
                "progress_reference_drain_per_sec",
                "rate_limit_per_sec",
                "rate_limited_drain_per_sec"
            ]
        );
    }
}
