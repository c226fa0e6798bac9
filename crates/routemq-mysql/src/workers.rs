//! [`WorkerRegistry`] for [`MysqlDriver`]: heartbeats in `queue_workers`, one row
//! per worker with its expiry; expired rows are pruned when the list is read.

use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use routemq_core::{DriverError, WorkerInfo, WorkerRegistry};

use crate::driver::MysqlDriver;
use crate::error::{map, NAME};
use crate::sql;
use crate::time::micros;

#[async_trait]
impl WorkerRegistry for MysqlDriver {
    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError> {
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

    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        let mut conn = self.conn().await?;
        conn.exec_drop(sql::REMOVE_WORKER, (worker_id,))
            .await
            .map_err(map)
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
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
