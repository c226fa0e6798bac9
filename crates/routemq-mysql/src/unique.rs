//! Unique jobs: a push that stores the job and its uniqueness lock in one
//! transaction (or finds the key held and returns the holder, debouncing it when
//! asked), and the release of the locks of jobs that start or leave, issued only
//! for jobs marked as holding one (`queue_jobs.unique_scope`, the `u` token).

use std::time::SystemTime;

use mysql_async::prelude::Queryable;
use mysql_async::{Transaction, TxOpts, Value};
use routemq_core::{Dispatched, DriverError, PendingJob, UniqueScope, Uniqueness};

use crate::driver::{MysqlDriver, OpError};
use crate::error::NAME;
use crate::time::{micros, unix_parts};
use crate::{sql, token};

/// `queue_jobs.unique_scope` of a job whose lock goes at claim.
pub(crate) const SCOPE_UNTIL_STARTED: u8 = 1;
/// `queue_jobs.unique_scope` of a job whose lock goes when the job is gone.
pub(crate) const SCOPE_UNTIL_GONE: u8 = 2;

/// How often a push that lost the race for a new key (duplicate key on the lock
/// row) looks again; each retry finds the winner's lock, so one is normally enough.
const RACE_RETRIES: usize = 8;

/// MySQL's and MariaDB's "Duplicate entry … for key" error.
const ER_DUP_ENTRY: u16 = 1062;

/// A lock row and its holder: row id, expired, holder exists, uuid, never claimed.
type Found = (u64, u8, u8, Option<String>, u8);

/// Releases the locks held by the jobs with these row ids (inside `tx`).
pub(crate) async fn release_locks(
    tx: &mut Transaction<'_>,
    ids: &[u64],
) -> Result<(), mysql_async::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let (stmt, padded) = sql::unique_release(ids.len());
    let ids: Vec<Value> = ids.iter().map(|id| Value::from(*id)).collect();
    tx.exec_drop(stmt, sql::pad(ids, padded)).await
}

impl MysqlDriver {
    /// One unique push (see `JobLifecycle::push_unique`): lookup, then debounce,
    /// duplicate, or job plus lock, in one transaction; a lost race for a new key
    /// is run again.
    pub(crate) async fn push_unique_tx(
        &self,
        job: &PendingJob,
        unique: &Uniqueness,
    ) -> Result<Dispatched, DriverError> {
        let due = job.available_at.map_or((0, 0), unix_parts);
        let due_in = job
            .available_at
            .and_then(|t| t.duration_since(SystemTime::now()).ok())
            .unwrap_or_default();
        let ttl_us = micros(unique.lock_ttl(due_in));
        for _ in 0..RACE_RETRIES {
            let done = self
                .retrying(|| async move {
                    let mut conn = self.conn().await?;
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    let res = attempt(&mut tx, job, unique, due, ttl_us).await?;
                    match res {
                        Some(_) => tx.commit().await?,
                        None => tx.rollback().await?,
                    }
                    Ok::<_, OpError>(res)
                })
                .await?;
            if let Some(done) = done {
                if job.group.is_some() {
                    self.forget_grouped();
                }
                return Ok(done);
            }
        }
        Err(DriverError::backend(
            NAME,
            format!(
                "unique push of key {} on queue {}: the lock row changed under {RACE_RETRIES} \
                 attempts in a row; retry the dispatch",
                unique.key, job.queue
            ),
        ))
    }
}

/// The steps of one unique push inside `tx`; `None` = lost the race for a new
/// key (roll back and look again).
async fn attempt(
    tx: &mut Transaction<'_>,
    job: &PendingJob,
    unique: &Uniqueness,
    due: (i64, i64),
    ttl_us: i64,
) -> Result<Option<Dispatched>, mysql_async::Error> {
    let q = job.queue.as_str();
    let key = unique.key.as_str().as_bytes();
    let found: Option<Found> = tx.exec_first(sql::UNIQUE_LOOKUP, (q, key)).await?;
    if let Some((holder, 0, 1, uuid, waiting)) = &found {
        let mut debounced = false;
        if unique.debounce.is_some() && *waiting == 1 {
            let params = vec![
                Value::Bytes(job.payload.clone()),
                Value::from(job.max_tries.max(1)),
                Value::from(due.0),
                Value::from(due.1),
                Value::from(*holder),
            ];
            tx.exec_drop(sql::UNIQUE_DEBOUNCE, params).await?;
            debounced = tx.affected_rows() > 0;
            if debounced && !matches!(unique.scope, UniqueScope::For(_)) {
                tx.exec_drop(sql::UNIQUE_LOCK_TAKE, (*holder, ttl_us, q, key))
                    .await?;
            }
        }
        let id = token::job_id(*holder, uuid.clone());
        return Ok(Some(Dispatched::duplicate_of(id, debounced)));
    }
    let scope = if unique.scope.until_started() {
        SCOPE_UNTIL_STARTED
    } else {
        SCOPE_UNTIL_GONE
    };
    let params = vec![
        Value::from(job.id.as_str()),
        Value::from(q),
        Value::Bytes(job.payload.clone()),
        Value::from(job.max_tries.max(1)),
        Value::from(due.0),
        Value::from(due.1),
        Value::from(scope),
        job.group.as_ref().map_or(Value::NULL, |g| {
            Value::Bytes(g.as_str().as_bytes().to_vec())
        }),
    ];
    crate::groups::join(tx, std::slice::from_ref(job)).await?;
    tx.exec_drop(sql::PUSH_UNIQUE, params).await?;
    let row = tx.last_insert_id().unwrap_or_default();
    if found.is_some() {
        tx.exec_drop(sql::UNIQUE_LOCK_TAKE, (row, ttl_us, q, key))
            .await?;
    } else {
        match tx
            .exec_drop(sql::UNIQUE_LOCK_INSERT, (q, key, row, ttl_us))
            .await
        {
            Ok(()) => {}
            Err(mysql_async::Error::Server(e)) if e.code == ER_DUP_ENTRY => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(Dispatched::stored(job.id.clone())))
}
