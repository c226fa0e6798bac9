//! Failed jobs of another store's queues (Redis) kept in `queue_failed_jobs`
//! (the database failed store of `routemq-failed-mysql`): the idempotent insert
//! of a handed-over failure, and the three steps of a retry back to that store
//! (migration 0010). Listing, showing, forgetting, flushing and pruning those
//! rows is the driver's own [`FailedStore`](routemq_core::FailedStore).

use std::time::{Duration, SystemTime};

use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{DriverError, FailedJob, JobId};

use crate::driver::{MysqlDriver, OpError};
use crate::error::map;
use crate::failed::group_of;
use crate::sql;
use crate::time::{from_unix_text, unix_parts};

/// A failed job of another store's queue, with the attempts it allowed (a
/// retry restores them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandedOver {
    /// The failure (its `connection` names the other store, e.g. `redis`).
    pub job: FailedJob,
    /// Attempts allowed.
    pub max_tries: u32,
}

/// A retry in progress: the failed row, marked with `token` (the name the
/// job's push back is remembered under), until [`MysqlDriver::finish_handoff_retry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRetry {
    /// The failed job and its attempts allowed.
    pub failed: HandedOver,
    /// This retry's token.
    pub token: String,
}

/// A row of handoff_retry_lock.sql / handoff_retry_stale.sql.
type RetryRow = (
    String,
    String,
    String,
    Vec<u8>,
    String,
    String,
    u32,
    Option<String>,
    Option<Vec<u8>>,
);

fn to_handed_over(row: &RetryRow) -> HandedOver {
    let (uuid, connection, queue, payload, exception, failed_unix, max_tries, _, group) = row;
    HandedOver {
        job: FailedJob {
            id: JobId::from(uuid.as_str()),
            connection: connection.clone(),
            queue: queue.clone(),
            payload: payload.clone(),
            exception: exception.clone(),
            failed_at: from_unix_text(failed_unix).unwrap_or(SystemTime::UNIX_EPOCH),
            group: group_of(group.clone()),
        },
        max_tries: (*max_tries).max(1),
    }
}

impl MysqlDriver {
    /// Stores failures handed over by another store, in one transaction; a job
    /// id already in the failed store is left as it is (so a mover that died
    /// after storing them and hands them over again adds nothing). Returns how
    /// many rows were added.
    pub async fn store_handed_over(&self, failures: &[HandedOver]) -> Result<u64, DriverError> {
        if failures.is_empty() {
            return Ok(0);
        }
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let mut added = 0;
            for f in failures {
                let (secs, micros) = unix_parts(f.job.failed_at);
                let params: Vec<Value> = vec![
                    f.job.id.as_str().into(),
                    f.job.connection.as_str().into(),
                    f.job.queue.as_str().into(),
                    Value::Bytes(f.job.payload.clone()),
                    f.job.exception.as_str().into(),
                    secs.into(),
                    micros.into(),
                    f.max_tries.max(1).into(),
                    f.job
                        .group
                        .as_ref()
                        .map(|g| g.as_str().as_bytes().to_vec())
                        .into(),
                ];
                tx.exec_drop(sql::HANDOFF_INSERT, params).await?;
                added += tx.affected_rows();
            }
            tx.commit().await?;
            Ok::<u64, OpError>(added)
        })
        .await
    }

    /// Starts (or continues) the retry of job `id` of `connection`'s store:
    /// locks its failed row and marks it with a retry token, unless it carries
    /// one already. `None` when no such failed job of that store exists.
    pub async fn begin_handoff_retry(
        &self,
        id: &JobId,
        connection: &str,
    ) -> Result<Option<HandoffRetry>, DriverError> {
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let row: Option<RetryRow> = tx
                .exec_first(sql::HANDOFF_RETRY_LOCK, (id.as_str(), connection))
                .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok::<_, OpError>(None);
            };
            let token = match &row.7 {
                Some(t) => t.clone(),
                None => {
                    let t = format!(
                        "{:016x}{:016x}",
                        rand::random::<u64>(),
                        rand::random::<u64>()
                    );
                    tx.exec_drop(sql::HANDOFF_RETRY_MARK, (t.as_str(), id.as_str()))
                        .await?;
                    t
                }
            };
            tx.commit().await?;
            Ok(Some(HandoffRetry {
                failed: to_handed_over(&row),
                token,
            }))
        })
        .await
    }

    /// Retries of `connection`'s store marked more than `older_than` ago and not
    /// finished (their retrier died or is slow), oldest first, at most `limit`.
    pub async fn stale_handoff_retries(
        &self,
        connection: &str,
        older_than: Duration,
        limit: usize,
    ) -> Result<Vec<HandoffRetry>, DriverError> {
        let mut conn = self.conn().await?;
        let rows: Vec<RetryRow> = conn
            .exec(
                sql::HANDOFF_RETRY_STALE,
                (
                    older_than.as_micros().min(u64::MAX as u128) as u64,
                    connection,
                    limit as u64,
                ),
            )
            .await
            .map_err(map)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let token = row.7.clone()?;
                Some(HandoffRetry {
                    failed: to_handed_over(&row),
                    token,
                })
            })
            .collect())
    }

    /// Ends a retry: deletes the failed row while it still carries the retry's
    /// token; `false` when it was gone or retried again under another token.
    pub async fn finish_handoff_retry(&self, retry: &HandoffRetry) -> Result<bool, DriverError> {
        let changed = self
            .single(
                sql::HANDOFF_RETRY_FINISH,
                vec![
                    Value::from(retry.failed.job.id.as_str()),
                    Value::from(retry.token.as_str()),
                ],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Failed jobs of `connection`'s store per queue.
    pub async fn handed_over_counts(
        &self,
        connection: &str,
    ) -> Result<Vec<(String, u64)>, DriverError> {
        let mut conn = self.conn().await?;
        conn.exec(sql::HANDOFF_COUNTS, (connection,))
            .await
            .map_err(map)
    }
}
