//! `routemq batch show ID`, `batch list` and `batch cancel ID`: a batch's
//! counters (total, pending, succeeded, failed, cancelled) and state.

use std::sync::Arc;

use routemq_core::{from_unix_ms, BatchId, BatchInfo, Driver};

use crate::cli::BatchCommand;
use crate::output::Output;
use crate::CliError;

fn state(b: &BatchInfo) -> &'static str {
    match (b.finished_at_ms.is_some(), b.cancelled_batch) {
        (true, true) => "finished (cancelled)",
        (true, false) => "finished",
        (false, true) => "cancelled (running jobs finishing)",
        (false, false) => "running",
    }
}

fn when(ms: Option<i64>) -> String {
    ms.map(|ms| humantime::format_rfc3339_seconds(from_unix_ms(ms)).to_string())
        .unwrap_or_else(|| "-".into())
}

fn row(b: &BatchInfo) -> Vec<String> {
    vec![
        b.id.to_string(),
        b.name.clone(),
        b.queue.to_string(),
        state(b).into(),
        b.total.to_string(),
        b.pending.to_string(),
        b.succeeded.to_string(),
        b.failed.to_string(),
        b.cancelled.to_string(),
        when(b.finished_at_ms),
    ]
}

const HEADER: [&str; 10] = [
    "batch",
    "name",
    "queue",
    "state",
    "total",
    "pending",
    "succeeded",
    "failed",
    "cancelled",
    "finished",
];

fn not_found(id: &str) -> CliError {
    CliError::NotFound(format!(
        "no batch {id} (never stored, or its record expired: finished batches are kept for 7 days)"
    ))
}

/// Runs one `routemq batch` verb.
pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    cmd: &BatchCommand,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    match cmd {
        BatchCommand::Show { id } => {
            let b = driver
                .batch(&BatchId::from_string(id.as_str()))
                .await?
                .ok_or_else(|| not_found(id))?;
            if out.is_json() {
                return out.json(&b);
            }
            out.table(&HEADER, vec![row(&b)])
        }
        BatchCommand::List => {
            let all = driver.batches().await?;
            if out.is_json() {
                return out.json(&all);
            }
            if all.is_empty() {
                return out.line("no batches");
            }
            out.table(&HEADER, all.iter().map(row).collect())
        }
        BatchCommand::Cancel { id } => {
            let b = driver
                .cancel_batch(&BatchId::from_string(id.as_str()))
                .await?
                .ok_or_else(|| not_found(id))?;
            let text = format!(
                "batch {id}: {}; {} pending, {} cancelled",
                state(&b),
                b.pending,
                b.cancelled
            );
            out.either(&b, text)
        }
    }
}
