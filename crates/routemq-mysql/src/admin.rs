//! [`QueueAdmin`] for [`MysqlDriver`]: stats, the queue list, clear, pause and
//! resume (rows of `queue_paused`).

use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use routemq_core::{DriverError, QueueAdmin, QueueName, QueueStats};

use crate::driver::MysqlDriver;
use crate::error::map;
use crate::sql;

#[async_trait]
impl QueueAdmin for MysqlDriver {
    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        let q = queue.as_str();
        let mut conn = self.conn().await?;
        let row: Option<(u64, u64, u64, u64, Option<i64>, u64)> = conn
            .exec_first(sql::STATS, (q, q, q, q, q, q))
            .await
            .map_err(map)?;
        let (ready, delayed, reserved, failed, oldest_us, paused) = row.unwrap_or_default();
        let rate_limit = self.rate_limit_of(&mut conn, queue).await?;
        Ok(QueueStats {
            queue: q.to_owned(),
            ready,
            delayed,
            reserved,
            failed,
            oldest_ready_age: oldest_us.map(|us| Duration::from_micros(us.max(0) as u64)),
            paused: paused > 0,
            rate_limit,
        })
    }

    /// Queue names in the tables; names written by hand that are not valid
    /// queue names are skipped (with a warning) since no API call could use them.
    async fn queues(&self) -> Result<Vec<QueueName>, DriverError> {
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

    /// Chunked deletes of the queue's jobs (waiting chain links and batch
    /// callbacks too), then one DELETE of its uniqueness locks whose job is
    /// gone; the queue's batch records go with their jobs.
    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError> {
        let n = self
            .delete_in_chunks(sql::CLEAR, vec![queue.as_str().into()])
            .await?;
        self.single(sql::UNIQUE_CLEAR, vec![queue.as_str().into()])
            .await?;
        self.single(sql::GROUP_CLEAR, vec![queue.as_str().into()])
            .await?;
        self.clear_batches(queue).await?;
        Ok(n)
    }

    /// One INSERT into `queue_paused` unless the queue has a row there; a
    /// duplicate key (a concurrent pause won) means it was paused already.
    async fn pause(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let q = queue.as_str();
        let mut conn = self.conn().await?;
        let result = conn.exec_drop(sql::PAUSE, (q, q)).await;
        self.forget_paused();
        match result {
            Ok(()) => Ok(conn.affected_rows() > 0),
            Err(mysql_async::Error::Server(e)) if e.code == ER_DUP_ENTRY => Ok(false),
            Err(e) => Err(map(e)),
        }
    }

    /// One DELETE from `queue_paused`, then wakes this process's waiters (other
    /// processes see it at their next poll, within `poll_max`).
    async fn resume(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let changed = self
            .single(sql::RESUME, vec![queue.as_str().into()])
            .await?;
        self.forget_paused();
        if changed > 0 {
            self.wake_local();
        }
        Ok(changed > 0)
    }

    async fn paused(&self) -> Result<Vec<QueueName>, DriverError> {
        let mut conn = self.conn().await?;
        let names: Vec<String> = conn.query(sql::PAUSED).await.map_err(map)?;
        Ok(names
            .into_iter()
            .filter_map(|n| QueueName::new(n).ok())
            .collect())
    }
}

/// MySQL's and MariaDB's "Duplicate entry … for key" error.
const ER_DUP_ENTRY: u16 = 1062;
