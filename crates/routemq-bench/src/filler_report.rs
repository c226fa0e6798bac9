//! The figures of a run with filler jobs waiting ([`BenchConfig::queued`]).
//!
//! [`BenchConfig::queued`]: crate::BenchConfig::queued

use std::fmt;

use serde::Serialize;

/// What a run with `queued` filler jobs adds to the [`BenchReport`]: its JSON
/// keys sit beside the report's own (absent when `queued` is 0). `None` is
/// `null` in JSON: "unknown" for the resident memory (no `/proc/self/status`),
/// "n/a" for the store figures (a store that cannot tell, such as the
/// in-memory driver).
///
/// [`BenchReport`]: crate::BenchReport
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillerReport {
    /// No-op jobs waiting in the bench queue, ahead of the measured ones,
    /// throughout the enqueue and drain phases.
    pub queued: usize,
    /// Time to push them (in bulk, `bulk_chunk` a call), in seconds.
    pub fill_seconds: f64,
    /// The same as jobs per second.
    pub fill_per_sec: f64,
    /// The pause between the fill and the measured phases, in seconds
    /// ([`BenchConfig::settle`](crate::BenchConfig::settle)).
    pub settle_seconds: f64,
    /// The mean stored payload (the encoded envelope) of one filler job, in
    /// bytes.
    pub filler_payload_bytes: f64,
    /// Ready jobs in the bench queue right after the fill.
    pub ready_after_fill: u64,
    /// Ready jobs in the bench queue right after the drain (`queued` when the
    /// drain took exactly `jobs`).
    pub ready_after_drain: u64,
    /// The benchmark process's resident memory (where its workers run) before
    /// the fill, in bytes.
    pub worker_rss_bytes_before: Option<u64>,
    /// The same right after the fill.
    pub worker_rss_bytes_after_fill: Option<u64>,
    /// The same right after the drain.
    pub worker_rss_bytes_after_drain: Option<u64>,
    /// What the store grew by over the fill, per filler job, in bytes. `None`
    /// when the bench was given no store to read, and when the store shrank
    /// over the fill although every filler job was added: something else freed
    /// more meanwhile (another writer, or an earlier delete that the store was
    /// still freeing), so no per-job figure could be told from it.
    pub store_bytes_per_queued_job: Option<f64>,
    /// [`store_bytes_per_queued_job`](Self::store_bytes_per_queued_job) less
    /// [`filler_payload_bytes`](Self::filler_payload_bytes): the store's own
    /// cost of keeping one job.
    pub store_bytes_per_job_beyond_payload: Option<f64>,
}

impl FillerReport {
    /// The resident memory before the fill, after it and after the drain, as
    /// `12.0 MiB → 30.5 MiB → 30.7 MiB` (`unknown` for a reading not taken).
    pub fn rss_text(&self) -> String {
        [
            self.worker_rss_bytes_before,
            self.worker_rss_bytes_after_fill,
            self.worker_rss_bytes_after_drain,
        ]
        .map(|b| match b {
            Some(b) => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
            None => "unknown".to_owned(),
        })
        .join(" → ")
    }

    /// The store's bytes per queued job, `n/a` when the store cannot tell.
    pub fn store_per_job_text(&self) -> String {
        bytes_or_na(self.store_bytes_per_queued_job)
    }

    /// The store's bytes per job beyond the payload, `n/a` when the store
    /// cannot tell.
    pub fn store_beyond_payload_text(&self) -> String {
        bytes_or_na(self.store_bytes_per_job_beyond_payload)
    }
}

fn bytes_or_na(bytes: Option<f64>) -> String {
    bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{b:.0} B"))
}

impl fmt::Display for FillerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queued={} (fill {:.2}s, {:.0}/s, settled {}s; ready {} after the fill, {} after the drain) rss={} store_per_queued_job={} ({} beyond the {:.0} B payload)",
            self.queued,
            self.fill_seconds,
            self.fill_per_sec,
            self.settle_seconds,
            self.ready_after_fill,
            self.ready_after_drain,
            self.rss_text(),
            self.store_per_job_text(),
            self.store_beyond_payload_text(),
            self.filler_payload_bytes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FillerReport {
        FillerReport {
            queued: 20_000,
            fill_seconds: 0.5,
            fill_per_sec: 40_000.0,
            settle_seconds: 0.0,
            filler_payload_bytes: 180.0,
            ready_after_fill: 20_000,
            ready_after_drain: 20_000,
            worker_rss_bytes_before: Some(12 * 1024 * 1024),
            worker_rss_bytes_after_fill: None,
            worker_rss_bytes_after_drain: Some(31 * 1024 * 1024 + 512 * 1024),
            store_bytes_per_queued_job: Some(402.4),
            store_bytes_per_job_beyond_payload: None,
        }
    }

    #[test]
    fn texts_say_unknown_and_n_a_for_missing_readings() {
        let r = sample();
        assert_eq!(r.rss_text(), "12.0 MiB → unknown → 31.5 MiB");
        assert_eq!(r.store_per_job_text(), "402 B");
        assert_eq!(r.store_beyond_payload_text(), "n/a");
        let line = r.to_string();
        assert!(
            line.starts_with("queued=20000 (fill 0.50s, 40000/s, settled 0s;"),
            "{line}"
        );
        assert!(line.ends_with("(n/a beyond the 180 B payload)"), "{line}");
    }

    #[test]
    fn missing_readings_are_json_null() {
        let v = serde_json::to_value(sample()).unwrap();
        assert!(v["worker_rss_bytes_after_fill"].is_null());
        assert!(v["store_bytes_per_job_beyond_payload"].is_null());
        assert_eq!(v["worker_rss_bytes_before"], 12 * 1024 * 1024);
        assert_eq!(v["queued"], 20_000);
    }
}
