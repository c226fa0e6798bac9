//! `bench --queued N`: the measured phases behind N waiting filler jobs, and
//! the filler's figures in the report.

use serde_json::Value;

use crate::support::{Backend, BENCH_FILLER_KEYS};

/// Whether the report must give the store's bytes per queued job.
pub enum StoreFigure {
    /// The store is the test's own (a MySQL schema, a Redis server), so it
    /// grows over the fill and the figure is a number.
    Required,
    /// Other tests write to and delete from the same store at the same time
    /// (the shared Redis server), so it may shrink over the fill, and the
    /// bench then gives no figure (`null`): a number or `null`.
    MayBeMissing,
}

/// `bench --queued 500 --jobs 200 --json` reports the plain figures plus the
/// filler's: 500 ready after the fill and after the drain (which took exactly
/// 200), the process's resident memory (Linux), and the store's bytes per
/// queued job (see [`StoreFigure`]; noisy, so no sign asserted).
pub fn bench_with_filler(b: &Backend, store: StoreFigure) {
    let report = b.ok(&[
        "bench",
        "--queued",
        "500",
        "--jobs",
        "200",
        "--concurrency",
        "8",
        "--latency-jobs",
        "20",
        "--json",
    ]);
    super::assert_bench_figures(&report, b.name, 200, &BENCH_FILLER_KEYS);
    assert_filler_figures(&report);
    for k in [
        "store_bytes_per_queued_job",
        "store_bytes_per_job_beyond_payload",
    ] {
        let figure = match store {
            StoreFigure::Required => report[k].is_f64(),
            StoreFigure::MayBeMissing => report[k].is_f64() || report[k].is_null(),
        };
        assert!(figure, "{k}: {report}");
    }
}

/// The filler's figures every driver reports alike.
pub fn assert_filler_figures(report: &Value) {
    assert_eq!(report["queued"], 500, "{report}");
    assert_eq!(report["ready_after_fill"], 500, "{report}");
    assert_eq!(report["ready_after_drain"], 500, "{report}");
    assert!(report["fill_per_sec"].as_f64().unwrap() > 0.0, "{report}");
    assert!(
        report["filler_payload_bytes"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    if cfg!(target_os = "linux") {
        for k in [
            "worker_rss_bytes_before",
            "worker_rss_bytes_after_fill",
            "worker_rss_bytes_after_drain",
        ] {
            assert!(report[k].as_u64().unwrap() > 0, "{k}: {report}");
        }
    }
}
