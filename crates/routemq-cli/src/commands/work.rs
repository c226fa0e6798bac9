//! `routemq work`: run a worker until SIGTERM/SIGINT or a limit.

use std::sync::Arc;

use routemq_core::Driver;
use routemq_worker::{WorkerError, WorkerReport};

use crate::cli::WorkArgs;
use crate::output::Output;
use crate::{App, CliError, Config, Connection, EncryptionConfig};

/// Maps a worker build error to a usage error naming the flag, or a worker error.
pub(crate) fn worker_error(e: WorkerError) -> CliError {
    let flag = match &e {
        WorkerError::NoQueues | WorkerError::InvalidQueue(_) | WorkerError::DuplicateQueue(_) => {
            Some("--queue")
        }
        WorkerError::ZeroConcurrency => Some("--concurrency"),
        WorkerError::ZeroDuration(what) => Some(if what.contains("lease") {
            "--lease"
        } else if what.contains("sleep") || what.contains("idle") {
            "--sleep"
        } else if what.contains("grace") {
            "--shutdown-grace"
        } else if what.contains("history") {
            "--history-flush"
        } else {
            "duration"
        }),
        _ => None,
    };
    match flag {
        Some(flag) => CliError::WorkerUsage { flag, source: e },
        None => CliError::Worker(e),
    }
}

pub(crate) async fn run(
    app: &App,
    driver: Arc<dyn Driver>,
    config: Option<&Config>,
    encryption: &EncryptionConfig,
    args: &WorkArgs,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    if args.tries == Some(0) {
        return Err(CliError::usage("--tries", "must be at least 1"));
    }
    if let Some(addr) = args.metrics_addr {
        crate::metrics::serve(addr)?;
    }
    let worker = app
        .worker_builder(driver.clone())
        .keyring(encryption.keyring.clone())
        .queues(args.queue.iter().map(String::as_str))
        .concurrency(args.concurrency)
        .prefetch(args.prefetch)
        .lease(args.lease)
        .sleep(args.sleep)
        .timeout_override(args.timeout)
        .tries_override(args.tries)
        .max_jobs(args.max_jobs)
        .max_time(args.max_time)
        .once(args.once)
        .stop_when_empty(args.stop_when_empty)
        .shutdown_grace(args.shutdown_grace)
        .cancel_grace(args.cancel_grace)
        .run_schedules(!args.no_schedules)
        .record_history(!args.no_history)
        .history_flush(args.history_flush)
        .build()
        .map_err(worker_error)?;
    let target = config
        .and_then(Config::redacted_url)
        .unwrap_or_else(|| driver.connection_name().to_owned());
    if config.map(|c| c.connection) == Some(Connection::Memory) {
        eprintln!("routemq: note: the memory driver keeps jobs in this process only; other processes cannot push to this worker");
    }
    eprintln!(
        "routemq: worker on {target}, queues {}, concurrency {}, jobs: {}",
        args.queue.join(","),
        args.concurrency,
        app.job_names().join(", ")
    );
    #[cfg(feature = "outbox")]
    let relay = match config {
        Some(c) => crate::connect::outbox(c).await?,
        None => None,
    }
    .map(|outbox| {
        eprintln!("routemq: relaying the outbox (ROUTEMQ_OUTBOX=true) to the Redis queues");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            outbox
                .run_relay(async {
                    let _ = stopped.await;
                })
                .await
        });
        (stop, task)
    });
    #[cfg(feature = "failed-mysql")]
    let mover = match config {
        Some(c) => crate::connect::database_failed_store(c).await?,
        None => None,
    }
    .map(|store| {
        eprintln!("routemq: failed jobs are kept in the database (queue_failed_jobs)");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            store
                .run_mover(async {
                    let _ = stopped.await;
                })
                .await
        });
        (stop, task)
    });
    let report = worker.run().await.map_err(worker_error);
    #[cfg(feature = "failed-mysql")]
    if let Some((stop, task)) = mover {
        let _ = stop.send(());
        let _ = task.await;
    }
    #[cfg(feature = "outbox")]
    if let Some((stop, task)) = relay {
        let _ = stop.send(());
        if let Ok(relayed) = task.await {
            eprintln!("routemq: the outbox relay moved {relayed} jobs");
        }
    }
    print_report(&report?, out)
}

fn print_report(report: &WorkerReport, out: &mut Output<'_>) -> Result<(), CliError> {
    if out.is_json() {
        return out.json(report);
    }
    let rows = vec![
        vec![
            "stopped because".into(),
            format!("{:?}", report.stop_reason).to_lowercase(),
        ],
        vec![
            "ran for".into(),
            crate::duration::short(std::time::Duration::from_millis(report.elapsed_ms)),
        ],
        vec!["claimed".into(), report.counts.claimed.to_string()],
        vec!["processed".into(), report.counts.processed.to_string()],
        vec!["retried".into(), report.counts.retried.to_string()],
        vec!["failed".into(), report.counts.failed.to_string()],
        vec!["timed out".into(), report.counts.timed_out.to_string()],
        vec![
            "released on shutdown".into(),
            report.counts.released_on_shutdown.to_string(),
        ],
        vec!["lease lost".into(), report.counts.lease_lost.to_string()],
    ];
    out.table(&["worker", &report.worker_id], rows)
}
