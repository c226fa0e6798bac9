//! Inspection and housekeeping: stats, queue list, clear, worker heartbeats.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use routemq_core::{DriverError, QueueName, QueueStats, WorkerInfo};

use crate::driver::MysqlDriver;
use crate::error::{map, NAME};
use crate::sql;
use crate::time::micros;

/// Rows deleted per statement by bulk deletes (short transactions, no huge undo).
pub(crate) const DELETE_CHUNK: u64 = 5000;

impl MysqlDriver {
    pub(crate) async fn queue_stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        let q = queue.as_str();
        let mut conn = self.conn().await?;
        let row: Option<(u64, u64, u64, u64, Option<i64>)> = conn
            .exec_first(sql::STATS, (q, q, q, q, q))
            .await
            .map_err(map)?;
        let (ready, delayed, reserved, failed, oldest_us) = row.unwrap_or_default();
        Ok(QueueStats {
            queue: q.to_owned(),
            ready,
            delayed,
            reserved,
            failed,
            oldest_ready_age: oldest_us.map(|us| Duration::from_micros(us.max(0) as u64)),
        })
    }

    /// Queue names in the tables; names written by hand that are not valid
    /// queue names are skipped (with a warning) since no API call could use them.
    pub(crate) async fn queue_names(&self) -> Result<Vec<QueueName>, DriverError> {
        let mut conn = self.conn().await?;
        let names: Vec<String> = conn.query(sql::QUEUES).await.map_err(map)?;
        Ok(names
            .into_iter()
            .filter_map(|n| match QueueName::new(n.clone()) {
                Ok(q) => Some(q),
                Err(e) => {
                    tracing::warn!(queue = %n, error = %e, "skipping a queue name the tables hold but the API cannot address");
                    None
                }
            })
            .collect())
    }

    pub(crate) async fn clear_queue(&self, queue: &QueueName) -> Result<u64, DriverError> {
        let mut conn = self.conn().await?;
        let mut total = 0;
        loop {
            conn.exec_drop(sql::CLEAR, (queue.as_str(), DELETE_CHUNK))
                .await
                .map_err(map)?;
            let n = conn.affected_rows();
            total += n;
            if n < DELETE_CHUNK {
                return Ok(total);
            }
        }
    }

    pub(crate) async fn record_heartbeat(
        &self,
        info: &WorkerInfo,
        ttl: Duration,
    ) -> Result<(), DriverError> {
        let json = serde_json::to_string(info)
            .map_err(|e| DriverError::InvalidArgument(format!("worker info: {e}")))?;
        let mut conn = self.conn().await?;
        conn.exec_drop(
            sql::HEARTBEAT,
            (
                info.id.as_str(),
                info.host.as_str(),
                info.pid,
                json,
                micros(ttl),
            ),
        )
        .await
        .map_err(map)
    }

    pub(crate) async fn delete_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(sql::REMOVE_WORKER, (worker_id,))
            .await
            .map_err(map)
    }

    pub(crate) async fn live_workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
        let mut conn = self.conn().await?;
        conn.query_drop(sql::WORKERS_PRUNE).await.map_err(map)?;
        let rows: Vec<String> = conn.query(sql::WORKERS).await.map_err(map)?;
        rows.into_iter()
            .map(|json| {
                serde_json::from_str(&json).map_err(|e| DriverError::Corrupt {
                    driver: NAME,
                    detail: format!("queue_workers.info is not a worker heartbeat: {e}"),
                })
            })
            .collect()
    }
}
