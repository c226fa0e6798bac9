//! Rows for dispatch: due-time checks and the parameters of one row of the
//! single and multi-row INSERTs (the pushes themselves are in `lifecycle.rs`).

use std::time::SystemTime;

use mysql_async::Value;
use routemq_core::{DriverError, PendingJob};

use crate::time::unix_parts;

/// True when `job` is claimable now (no due time, or one already past).
pub(crate) fn due_now(job: &PendingJob) -> bool {
    job.available_at.is_none_or(|t| t <= SystemTime::now())
}

/// The latest due time every supported server converts: `FROM_UNIXTIME` stops
/// at 2038-01-19 03:14:07 UTC on MariaDB before 11.5 (later instants give NULL).
const LATEST_DUE_SECS: i64 = i32::MAX as i64;

/// Rejects a due time the server could not store.
pub(crate) fn check_due(job: &PendingJob) -> Result<(), DriverError> {
    match job.available_at.map(unix_parts) {
        Some((secs, _)) if secs > LATEST_DUE_SECS => Err(DriverError::InvalidArgument(format!(
            "job {} is due after 2038-01-19 03:14:07 UTC, later than the database driver can schedule",
            job.id
        ))),
        _ => Ok(()),
    }
}

/// Parameters of one job row: push_now.sql's four, plus push.sql's due time
/// unless `now`.
pub(crate) fn row_params(job: PendingJob, now: bool, out: &mut Vec<Value>) {
    let due = job.available_at.map_or((0, 0), unix_parts);
    out.push(Value::from(job.id.as_str()));
    out.push(Value::from(job.queue.as_str()));
    out.push(Value::Bytes(job.payload));
    out.push(Value::from(job.max_tries.max(1)));
    if !now {
        out.push(Value::from(due.0));
        out.push(Value::from(due.1));
    }
}

/// Splits `jobs` for multi-row INSERTs: each chunk holds at most `row_cap` rows
/// and stays under `byte_budget` bytes (payload plus `row_overhead` per row),
/// except that a single larger job gets a chunk of its own. Order is kept.
pub(crate) fn insert_chunks(
    jobs: Vec<PendingJob>,
    row_cap: usize,
    byte_budget: usize,
    row_overhead: usize,
) -> Vec<Vec<PendingJob>> {
    let mut chunks: Vec<Vec<PendingJob>> = Vec::new();
    let mut bytes = 0usize;
    for job in jobs {
        let len = job.payload.len() + row_overhead;
        let start_new = match chunks.last() {
            None => true,
            Some(c) => c.len() >= row_cap || (bytes + len > byte_budget && !c.is_empty()),
        };
        if start_new {
            chunks.push(Vec::new());
            bytes = 0;
        }
        bytes += len;
        if let Some(c) = chunks.last_mut() {
            c.push(job);
        }
    }
    chunks
}
