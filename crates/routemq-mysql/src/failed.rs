//! [`FailedStore`] for [`MysqlDriver`]: list, show, retry (atomic move back), forget, flush, prune.

use std::time::SystemTime;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{DriverError, FailedJob, FailedQuery, FailedStore, GroupKey, JobId, QueueName};

use crate::driver::{MysqlDriver, OpError};
use crate::error::map;
use crate::sql;
use crate::time::{from_unix_text, unix_parts};

/// A failed row: id, uuid, connection, queue, payload, exception, failed_at as
/// Unix seconds text, group_key.
type Row = (
    u64,
    Option<String>,
    String,
    String,
    Vec<u8>,
    String,
    String,
    Option<Vec<u8>>,
);

/// A stored group key as a [`GroupKey`] (`None` for NULL, or for bytes written
/// by hand that are not a valid key).
pub(crate) fn group_of(bytes: Option<Vec<u8>>) -> Option<GroupKey> {
    bytes
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|g| GroupKey::new(g).ok())
}

fn to_failed(
    (id, uuid, connection, queue, payload, exception, failed_unix, group): Row,
) -> FailedJob {
    FailedJob {
        id: JobId::from_string(match uuid {
            Some(u) if !u.is_empty() => u,
            _ => format!("failed-{id}"),
        }),
        connection,
        queue,
        payload,
        exception,
        failed_at: from_unix_text(&failed_unix).unwrap_or(SystemTime::UNIX_EPOCH),
        group: group_of(group),
    }
}

/// The WHERE clause and parameter selecting the failed row named `id`.
fn by_id(id: &JobId) -> (&'static str, Value) {
    if let Some(row) = id
        .as_str()
        .strip_prefix("failed-")
        .and_then(|n| n.parse::<u64>().ok())
    {
        (sql::FAILED_BY_ROW, Value::from(row))
    } else {
        (sql::FAILED_BY_UUID, Value::from(id.as_str()))
    }
}

#[async_trait]
impl FailedStore for MysqlDriver {
    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError> {
        let mut conn = self.conn().await?;
        let limit = query.limit as u64;
        let offset = query.offset as u64;
        let rows: Vec<Row> = match &query.queue {
            Some(q) => {
                conn.exec(sql::failed_list(true), (q.as_str(), limit, offset))
                    .await
            }
            None => conn.exec(sql::failed_list(false), (limit, offset)).await,
        }
        .map_err(map)?;
        Ok(rows.into_iter().map(to_failed).collect())
    }

    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError> {
        let (filter, param) = by_id(id);
        let mut conn = self.conn().await?;
        let row: Option<Row> = conn
            .exec_first(sql::failed_select(Some(filter), ""), (param,))
            .await
            .map_err(map)?;
        Ok(row.map(to_failed))
    }

    /// One transaction: lock the failed row, insert it back into queue_jobs
    /// (attempts 0, claimable now), delete it from the failed store.
    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError> {
        let (filter, param) = by_id(id);
        let select = sql::failed_lock(filter);
        let moved = self
            .retrying(|| {
                let (select, param) = (select.clone(), param.clone());
                async move {
                    let mut conn = self.conn().await?;
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    let row: Option<(u64, String, Option<Vec<u8>>)> =
                        tx.exec_first(select, (param,)).await?;
                    let Some((row_id, queue, group)) = row else {
                        tx.rollback().await?;
                        return Ok::<_, OpError>(false);
                    };
                    if let Err(e) = QueueName::new(queue.clone()) {
                        tx.rollback().await?;
                        return Err(OpError::Driver(e));
                    }
                    tx.exec_drop(sql::FAILED_RETRY_COPY, (row_id,)).await?;
                    if let Some(g) = group {
                        // Back in its group: the lane joins the rotation.
                        tx.exec_drop(sql::GROUP_JOIN, (queue.as_str(), g, queue.as_str()))
                            .await?;
                    }
                    tx.exec_drop(sql::FAILED_DELETE_ROW, (row_id,)).await?;
                    tx.commit().await?;
                    Ok(true)
                }
            })
            .await?;
        if moved {
            self.forget_grouped();
            self.wake_local();
        }
        Ok(moved)
    }

    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError> {
        let (filter, param) = by_id(id);
        let mut conn = self.conn().await?;
        conn.exec_drop(sql::failed_delete(filter), (param,))
            .await
            .map_err(map)?;
        Ok(conn.affected_rows() > 0)
    }

    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError> {
        match queue {
            Some(q) => {
                self.delete_in_chunks(sql::FAILED_FLUSH_QUEUE, vec![q.as_str().into()])
                    .await
            }
            None => self.delete_in_chunks(sql::FAILED_FLUSH_ALL, vec![]).await,
        }
    }

    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError> {
        // FROM_UNIXTIME stops at 2038 on older MariaDB; a later cutoff means
        // "everything" all the same.
        let (secs, micros) = unix_parts(cutoff);
        let (secs, micros) = if secs > i64::from(i32::MAX) {
            (i64::from(i32::MAX), 0)
        } else {
            (secs, micros)
        };
        self.delete_in_chunks(sql::FAILED_PRUNE, vec![secs.into(), micros.into()])
            .await
    }
}
