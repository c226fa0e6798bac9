//! `routemq bench`: the `routemq-bench` measurements on the configured driver.

use std::sync::Arc;

use routemq_bench::{BenchConfig, BenchReport, FillerReport};
use routemq_core::Driver;

use crate::cli::BenchArgs;
use crate::output::Output;
use crate::{CliError, Config};

pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    config: Option<&Config>,
    args: &BenchArgs,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    if args.jobs == 0 {
        return Err(CliError::usage("--jobs", "must be at least 1"));
    }
    if args.concurrency == 0 {
        return Err(CliError::usage("--concurrency", "must be at least 1"));
    }
    if args.queued == 0 && !args.settle.is_zero() {
        return Err(CliError::usage(
            "--settle",
            "pauses after the fill of --queued N jobs: give --queued as well",
        ));
    }
    let bench = BenchConfig {
        jobs: args.jobs,
        single_jobs: args.jobs.min(BenchConfig::default().single_jobs),
        concurrency: args.concurrency,
        prefetch: args.prefetch,
        latency_jobs: args.latency_jobs,
        queued: args.queued,
        settle: args.settle,
        ..BenchConfig::default()
    };
    // A second connection for the consumer, so the latency phase sees what a
    // producer in another process sees; the memory driver must share its store.
    let consumer = match config {
        Some(c) if c.connection != crate::Connection::Memory => crate::connect(c).await?,
        _ => driver.clone(),
    };
    let store = match bench.queued {
        0 => None,
        _ => crate::connect::store_size(config).await?,
    };
    let behind = match bench.queued {
        0 => String::new(),
        n => format!(", behind {n} waiting filler jobs"),
    };
    let prefetch = match bench.prefetch {
        0 => String::new(),
        n => format!(", prefetch {n}"),
    };
    eprintln!(
        "routemq bench on the {} driver: {} jobs, concurrency {}{prefetch}{behind}",
        driver.connection_name(),
        bench.jobs,
        bench.concurrency
    );
    let report =
        routemq_bench::run_with_store_size(driver, consumer, &bench, store.as_deref()).await?;
    print(&report, out)
}

fn print(r: &BenchReport, out: &mut Output<'_>) -> Result<(), CliError> {
    if out.is_json() {
        return out.json(r);
    }
    let mut rows = vec![
        vec![
            "enqueue (one at a time)".into(),
            format!("{:.0} jobs/s", r.enqueue_per_sec),
        ],
        vec![
            "bulk enqueue".into(),
            format!("{:.0} jobs/s", r.bulk_enqueue_per_sec),
        ],
        vec![
            "drain (no-op jobs)".into(),
            format!("{:.0} jobs/s", r.drain_per_sec),
        ],
        vec![
            "latency p50 (enqueue → start)".into(),
            format!("{:.2} ms", r.latency_p50_ms),
        ],
        vec!["latency p99".into(), format!("{:.2} ms", r.latency_p99_ms)],
        vec![
            "rate-limited drain (achieved vs limit)".into(),
            format!(
                "{:.0} jobs/s of {:.0}",
                r.rate_limited_drain_per_sec, r.rate_limit_per_sec
            ),
        ],
        vec![
            format!("group drain ({} groups)", r.groups),
            format!("{:.0} jobs/s", r.group_drain_per_sec),
        ],
        vec![
            "drain, late in the run (reference)".into(),
            format!("{:.0} jobs/s", r.progress_reference_drain_per_sec),
        ],
        vec![
            format!(
                "the same beside progress reports ({:.0} calls/s)",
                r.progress_calls_per_sec
            ),
            format!("{:.0} jobs/s", r.progress_drain_per_sec),
        ],
        vec![
            "drain, throughput history off".into(),
            format!("{:.0} jobs/s", r.history_off_drain_per_sec),
        ],
        vec![
            "drain, throughput history on (default)".into(),
            format!("{:.0} jobs/s", r.history_on_drain_per_sec),
        ],
    ];
    if let Some(filler) = &r.filler {
        rows.extend(filler_rows(filler));
    }
    let prefetch = match r.prefetch {
        0 => String::new(),
        n => format!(" · prefetch {n}"),
    };
    let title = format!(
        "{} · {} jobs · concurrency {}{prefetch}",
        r.driver, r.jobs, r.concurrency
    );
    out.table(&[title.as_str(), "result"], rows)
}

/// The rows of a run with filler jobs waiting (`--queued`).
fn filler_rows(f: &FillerReport) -> Vec<Vec<String>> {
    vec![
        vec![
            "queued (waiting through enqueue and drain)".into(),
            format!(
                "{} jobs ({} ready after the fill, {} after the drain)",
                f.queued, f.ready_after_fill, f.ready_after_drain
            ),
        ],
        vec![
            "fill (bulk, before the phases)".into(),
            format!(
                "{:.2} s, {:.0} jobs/s, then {} s to settle",
                f.fill_seconds, f.fill_per_sec, f.settle_seconds
            ),
        ],
        vec![
            "worker RSS: before fill → after fill → after drain".into(),
            f.rss_text(),
        ],
        vec!["store bytes per queued job".into(), f.store_per_job_text()],
        vec![
            format!(
                "store bytes per job beyond its {:.0} B payload",
                f.filler_payload_bytes
            ),
            f.store_beyond_payload_text(),
        ],
    ]
}
