//! `routemq bench`: the `routemq-bench` measurements on the configured driver.

use std::sync::Arc;

use routemq_bench::{BenchConfig, BenchReport};
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
    let bench = BenchConfig {
        jobs: args.jobs,
        single_jobs: args.jobs.min(BenchConfig::default().single_jobs),
        concurrency: args.concurrency,
        latency_jobs: args.latency_jobs,
        ..BenchConfig::default()
    };
    // A second connection for the consumer, so the latency phase sees what a
    // producer in another process sees; the memory driver must share its store.
    let consumer = match config {
        Some(c) if c.connection != crate::Connection::Memory => crate::connect(c).await?,
        _ => driver.clone(),
    };
    eprintln!(
        "routemq bench on the {} driver: {} jobs, concurrency {}",
        driver.connection_name(),
        bench.jobs,
        bench.concurrency
    );
    let report = routemq_bench::run(driver, consumer, &bench).await?;
    print(&report, out)
}

fn print(r: &BenchReport, out: &mut Output<'_>) -> Result<(), CliError> {
    if out.is_json() {
        return out.json(r);
    }
    let rows = vec![
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
    let title = format!(
        "{} · {} jobs · concurrency {}",
        r.driver, r.jobs, r.concurrency
    );
    out.table(&[title.as_str(), "result"], rows)
}
