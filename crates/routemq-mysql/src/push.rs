//! Dispatch: single INSERTs and chunked multi-row INSERTs in one transaction.

use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{DriverError, JobId, PendingJob};

use crate::driver::{MysqlDriver, OpError};
use crate::error::map;
use crate::sql;
use crate::time::unix_parts;

/// Parameters of one job row, in push.sql's order.
fn row_params(job: PendingJob) -> [Value; 6] {
    let (secs, micros) = job.available_at.map_or((0, 0), unix_parts);
    [
        Value::from(job.id.as_str()),
        Value::from(job.queue.as_str()),
        Value::Bytes(job.payload),
        Value::from(job.max_tries.max(1)),
        Value::from(secs),
        Value::from(micros),
    ]
}

impl MysqlDriver {
    pub(crate) async fn push_one(&self, job: PendingJob) -> Result<JobId, DriverError> {
        self.check_size(&job)?;
        let id = job.id.clone();
        let mut conn = self.conn().await?;
        conn.exec_drop(sql::PUSH, row_params(job).to_vec())
            .await
            .map_err(map)?;
        drop(conn);
        self.wake_local();
        Ok(id)
    }

    pub(crate) async fn push_many(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        for job in &jobs {
            self.check_size(job)?;
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
                    let stmt = sql::push_bulk(chunk.len());
                    let params: Vec<Value> = chunk.into_iter().flat_map(row_params).collect();
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
