//! The benchmark's figures.

use std::fmt;

use serde::Serialize;

use crate::FillerReport;

/// One benchmark run's figures. The JSON form (`--json`) has exactly these keys,
/// and those of [`FillerReport`] when the run had filler jobs waiting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Driver connection name (`redis`, `database`, `memory`).
    pub driver: String,
    /// Jobs in the enqueue and drain phases.
    pub jobs: usize,
    /// Worker concurrency in the drain and latency phases.
    pub concurrency: usize,
    /// Jobs the workers claimed ahead of their free slots (0: none).
    pub prefetch: usize,
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
    /// The filler's figures, when `queued` filler jobs waited in the bench
    /// queue throughout the enqueue and drain phases; its keys are flattened
    /// into the report's JSON.
    #[serde(flatten)]
    pub filler: Option<FillerReport>,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "driver={} jobs={} concurrency={} prefetch={} enqueue={:.0}/s bulk_enqueue={:.0}/s drain={:.0}/s latency p50={:.2}ms p99={:.2}ms rate_limited_drain={:.0}/s (limit {:.0}/s) group_drain={:.0}/s ({} groups) progress_drain={:.0}/s (with {:.0} progress calls/s; {:.0}/s without) history_drain={:.0}/s ({:.0}/s without)",
            self.driver,
            self.jobs,
            self.concurrency,
            self.prefetch,
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
        )?;
        match &self.filler {
            Some(filler) => write!(f, " {filler}"),
            None => Ok(()),
        }
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

    fn report() -> BenchReport {
        BenchReport {
            driver: "memory".into(),
            jobs: 1,
            concurrency: 2,
            prefetch: 0,
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
            filler: None,
        }
    }

    fn sorted_keys(r: &BenchReport) -> Vec<String> {
        let v: serde_json::Value = serde_json::to_value(r).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn json_has_the_documented_keys() {
        assert_eq!(
            sorted_keys(&report()),
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
                "prefetch",
                "progress_calls_per_sec",
                "progress_drain_per_sec",
                "progress_reference_drain_per_sec",
                "rate_limit_per_sec",
                "rate_limited_drain_per_sec"
            ]
        );
    }

    #[test]
    fn a_run_with_filler_adds_its_keys_and_line() {
        let plain = report();
        let mut r = report();
        r.filler = Some(FillerReport {
            queued: 500,
            fill_seconds: 0.01,
            fill_per_sec: 50_000.0,
            settle_seconds: 0.0,
            filler_payload_bytes: 170.0,
            ready_after_fill: 500,
            ready_after_drain: 500,
            worker_rss_bytes_before: Some(1 << 20),
            worker_rss_bytes_after_fill: Some(2 << 20),
            worker_rss_bytes_after_drain: Some(2 << 20),
            store_bytes_per_queued_job: None,
            store_bytes_per_job_beyond_payload: None,
        });
        let mut want = sorted_keys(&plain);
        want.extend(
            [
                "fill_per_sec",
                "fill_seconds",
                "filler_payload_bytes",
                "queued",
                "ready_after_drain",
                "ready_after_fill",
                "settle_seconds",
                "store_bytes_per_job_beyond_payload",
                "store_bytes_per_queued_job",
                "worker_rss_bytes_after_drain",
                "worker_rss_bytes_after_fill",
                "worker_rss_bytes_before",
            ]
            .map(String::from),
        );
        want.sort();
        assert_eq!(sorted_keys(&r), want);
        let line = r.to_string();
        assert!(line.starts_with(&plain.to_string()), "{line}");
        assert!(
            line.ends_with("rss=1.0 MiB → 2.0 MiB → 2.0 MiB store_per_queued_job=n/a (n/a beyond the 170 B payload)"),
            "{line}"
        );
    }
}
