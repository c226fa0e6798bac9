//! Dispatch: single INSERTs and chunked multi-row INSERTs in one transaction.

use std::time::SystemTime;

use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{DriverError, JobId, PendingJob};

use crate::driver::{MysqlDriver, OpError};
use crate::error::map;
use crate::sql;
use crate::time::unix_parts;

/// True when `job` is claimable now (no due time, or one already past).
fn due_now(job: &PendingJob) -> bool {
    job.available_at.is_none_or(|t| t <= SystemTime::now())
}

/// The latest due time every supported server converts: `FROM_UNIXTIME` stops
/// at 2038-01-19 03:14:07 UTC on MariaDB before 11.5 (later instants give NULL).
const LATEST_DUE_SECS: i64 = i32::MAX as i64;

/// Rejects a due time the server could not store.
fn check_due(job: &PendingJob) -> Result<(), DriverError> {
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
fn row_params(job: PendingJob, now: bool, out: &mut Vec<Value>) {
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

impl MysqlDriver {
    pub(crate) async fn push_one(&self, job: PendingJob) -> Result<JobId, DriverError> {
        self.check_size(&job)?;
        check_due(&job)?;
        let id = job.id.clone();
        let now = due_now(&job);
        let mut params = Vec::with_capacity(6);
        row_params(job, now, &mut params);
        let stmt = if now { sql::PUSH_NOW } else { sql::PUSH };
        let mut conn = self.conn().await?;
        conn.exec_drop(stmt, params).await.map_err(map)?;
        drop(conn);
        self.wake_local();
        Ok(id)
    }

    pub(crate) async fn push_many(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        for job in &jobs {
            self.check_size(job)?;
            check_due(job)?;
        }
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
        // Each statement stays under half the payload limit (itself below the
        // server's max_allowed_packet) and under the row cap.
        let byte_budget = (self.inner.max_payload / 2).max(1);
        let row_cap = self.inner.config.bulk_chunk_rows.max(1);
        let mut chunks: Vec<Vec<PendingJob>> = Vec::new();
        let mut bytes = 0usize;
        for job in jobs {
            let len = job.payload.len() + 128;
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
        self.retrying(|| {
            let chunks = chunks.clone();
            async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                for chunk in chunks {
                    let now = chunk.iter().all(due_now);
                    let stmt = sql::push_bulk(chunk.len(), now);
                    let mut params = Vec::with_capacity(chunk.len() * 6);
                    for job in chunk {
                        row_params(job, now, &mut params);
                    }
                    tx.exec_drop(stmt, params).await?;
                }
                tx.commit().await?;
                Ok::<(), OpError>(())
            }
        })
        .await?;
        self.wake_local();
        Ok(ids)
    }
}
