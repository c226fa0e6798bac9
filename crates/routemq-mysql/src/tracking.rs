//! [`JobTracking`] for [`MysqlDriver`] (migration 0012): job status, run
//! records, kept results and cancellation, plus what the rest of the driver
//! calls for them: the cancelled end of a release or reclaim of a job with a
//! cancel request ([`MysqlDriver::release_cancelled`], [`cancel_rows`]) and the
//! pruning of expired records ([`MysqlDriver::prune_records`]).
//!
//! The run record is a set of columns of the job's row (`run_*`,
//! `cancel_requested`), so it goes with the row; `run_owner` names the
//! reservation that wrote it, and only that reservation's worker and progress
//! are shown. Finished jobs' records live in `queue_job_records` (primary key
//! `(queue, uuid)`) until their `expires_at`.

use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Row, Transaction, TxOpts, Value};
use routemq_core::{
    from_unix_ms, unix_ms, CancelOutcome, DriverError, JobId, JobState, JobStatus, JobTracking,
    Lease, Progress, QueueName, RunReport, CANCELLED_KEPT_FOR, MAX_PROGRESS_MESSAGE, MAX_RUN_ERROR,
};

use crate::driver::{MysqlDriver, OpError};
use crate::error::{map, NAME};
use crate::lease::{lost, MAX_BATCH};
use crate::sql::{self, JobBy};
use crate::time::{from_unix_text, micros, unix_parts};
use crate::token;
use crate::unique::release_locks;
use crate::workflows::{flow_settled, lock_owned, FlowRow, Outcome};

/// `queue_job_records.state` of a succeeded job.
const STATE_SUCCEEDED: &str = "succeeded";
/// `queue_job_records.state` of a cancelled job.
const STATE_CANCELLED: &str = "cancelled";

/// Expired records deleted per pruning statement.
const PRUNE_CHUNK: u64 = 1000;
/// Pruning statements one [`MysqlDriver::prune_records`] runs at most (while
/// each deletes a full chunk): a backlog is worked off over several calls, and
/// no call takes long.
const PRUNE_ROUNDS: usize = 8;

/// The longest a record is kept (about 100 years): `NOW(6)` plus more would
/// leave the `DATETIME` range.
const LONGEST_KEEP: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How the statements select job `id`: by uuid, or by row id for a row written
/// by hand without one (`db-<id>`, as [`token::job_id`] names it).
pub(crate) fn job_by(id: &JobId) -> (JobBy, Value) {
    match id
        .as_str()
        .strip_prefix("db-")
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(row) => (JobBy::Row, Value::from(row)),
        None => (JobBy::Uuid, Value::from(id.as_str())),
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `keep_for` in microseconds, at most [`LONGEST_KEEP`].
fn keep_us(keep_for: Duration) -> i64 {
    micros(keep_for.min(LONGEST_KEEP))
}

/// A [`DriverError::Corrupt`] about job `id` of `queue`.
fn corrupt(queue: &QueueName, id: &JobId, detail: impl std::fmt::Display) -> DriverError {
    DriverError::Corrupt {
        driver: NAME,
        detail: format!("job {id} of queue {queue}: {detail}"),
    }
}

/// Column `i` (named `what` in errors) of a status row.
fn column<T: FromValue>(
    row: &mut Row,
    i: usize,
    what: &str,
    queue: &QueueName,
    id: &JobId,
) -> Result<T, DriverError> {
    match row.take_opt::<T, usize>(i) {
        Some(Ok(v)) => Ok(v),
        Some(Err(_)) => Err(corrupt(
            queue,
            id,
            format_args!("queue_jobs {what} holds a value of an unexpected type"),
        )),
        None => Err(corrupt(
            queue,
            id,
            format_args!("the status row has no column {what}"),
        )),
    }
}

/// A `UNIX_TIMESTAMP(…)` text as milliseconds since the Unix epoch (`None` for
/// NULL); text that is not a time is an error naming `what`.
fn ms_of(
    text: Option<String>,
    what: &str,
    queue: &QueueName,
    id: &JobId,
) -> Result<Option<i64>, DriverError> {
    match text {
        None => Ok(None),
        Some(t) => match from_unix_text(&t) {
            Some(at) => Ok(Some(unix_ms(at))),
            None => Err(corrupt(
                queue,
                id,
                format_args!("{what} is {t:?}, not a time"),
            )),
        },
    }
}

/// The status of a stored job from its tracking_job.sql row.
fn stored_status(queue: &QueueName, id: &JobId, mut row: Row) -> Result<JobStatus, DriverError> {
    let (q, i) = (queue, id);
    let attempts: u32 = column(&mut row, 1, "attempts", q, i)?;
    let max_tries: u32 = column(&mut row, 2, "max_tries", q, i)?;
    let reserved: bool = column::<i64>(&mut row, 3, "reserved_at", q, i)? != 0;
    let delayed: bool = column::<Option<i64>>(&mut row, 4, "available_at", q, i)?.unwrap_or(0) != 0;
    let due = ms_of(
        column(&mut row, 5, "available_at", q, i)?,
        "available_at",
        q,
        i,
    )?;
    let lease = ms_of(
        column(&mut row, 6, "lease_until", q, i)?,
        "lease_until",
        q,
        i,
    )?;
    let worker: Option<String> = column(&mut row, 7, "run_worker", q, i)?;
    let percent: Option<f64> = column(&mut row, 8, "run_percent", q, i)?;
    let message: Option<String> = column(&mut row, 9, "run_message", q, i)?;
    let at = ms_of(column(&mut row, 10, "run_at", q, i)?, "run_at", q, i)?;
    let cancel: bool = column::<i64>(&mut row, 11, "cancel_requested", q, i)? != 0;
    let error: Option<String> = column(&mut row, 12, "run_error", q, i)?;
    let waiting: bool = column::<i64>(&mut row, 13, "waiting", q, i)? != 0;

    let state = if waiting && !reserved {
        JobState::Waiting
    } else if reserved {
        JobState::Running
    } else if delayed {
        JobState::Delayed
    } else {
        JobState::Ready
    };
    let mut status = JobStatus::new(id.clone(), queue.clone(), state, attempts);
    status.max_tries = max_tries;
    status.last_error = error;
    match state {
        JobState::Delayed => status.due_at_ms = due,
        JobState::Running => {
            status.lease_until_ms = lease;
            status.worker = worker;
            status.cancel_requested = cancel;
            status.progress = match (percent, at) {
                (None, _) => None,
                (Some(percent), Some(at_ms)) => Some(Progress {
                    percent: percent as f32,
                    message: message.unwrap_or_default(),
                    at_ms,
                }),
                (Some(_), None) => {
                    return Err(corrupt(
                        q,
                        i,
                        "queue_jobs run_percent is set without run_at",
                    ))
                }
            };
        }
        _ => {}
    }
    Ok(status)
}

/// A kept record: state, attempts, max_tries, finished_at (Unix seconds text),
/// 1 when a result is kept (tracking_record.sql).
type Record = (String, u32, u32, String, i64);

/// The state named by a record's `state` column; anything else is an error.
fn record_state(queue: &QueueName, id: &JobId, state: &str) -> Result<JobState, DriverError> {
    match state {
        STATE_SUCCEEDED => Ok(JobState::Succeeded),
        STATE_CANCELLED => Ok(JobState::Cancelled),
        other => Err(corrupt(
            queue,
            id,
            format_args!(
                "queue_job_records state is {other:?}, not {STATE_SUCCEEDED:?} or {STATE_CANCELLED:?}"
            ),
        )),
    }
}

/// The status of a finished job from its kept record.
fn record_status(
    queue: &QueueName,
    id: &JobId,
    (state, attempts, max_tries, finished, has_result): Record,
) -> Result<JobStatus, DriverError> {
    let state = record_state(queue, id, &state)?;
    let mut status = JobStatus::new(id.clone(), queue.clone(), state, attempts);
    status.max_tries = max_tries;
    status.finished_at_ms = ms_of(Some(finished), "queue_job_records finished_at", queue, id)?;
    status.has_result = state == JobState::Succeeded && has_result != 0;
    Ok(status)
}

/// The parameters of tracking_run.sql for `report` (`None` for a token this
/// driver did not issue, which can own nothing).
fn run_params(report: &RunReport) -> Option<Vec<Value>> {
    let id = token::row_id(&report.lease.token)?;
    let (percent, message, secs, us) = match &report.progress {
        Some(p) => {
            let (secs, us) = unix_parts(from_unix_ms(p.at_ms));
            let percent = if p.percent.is_nan() {
                0.0
            } else {
                p.percent.clamp(0.0, 100.0)
            };
            (
                Value::from(percent),
                Value::from(cut(&p.message, MAX_PROGRESS_MESSAGE)),
                Value::from(secs),
                Value::from(us),
            )
        }
        None => (Value::NULL, Value::NULL, Value::NULL, Value::NULL),
    };
    Some(vec![
        Value::from(report.worker.as_str()),
        percent,
        message,
        secs,
        us,
        report
            .error
            .as_deref()
            .map_or(Value::NULL, |e| Value::from(cut(e, MAX_RUN_ERROR))),
        Value::from(id),
        Value::from(report.lease.token.0.as_str()),
    ])
}

/// Records the jobs of rows `ids` (locked by `tx`) as cancelled, kept for
/// [`CANCELLED_KEPT_FOR`], and deletes the rows. Uniqueness locks are the
/// caller's (it knows which rows hold one).
pub(crate) async fn cancel_rows(
    tx: &mut Transaction<'_>,
    ids: &[u64],
) -> Result<(), mysql_async::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let values: Vec<Value> = ids.iter().map(|id| Value::from(*id)).collect();
    let (stmt, padded) = sql::tracking_cancel_keep(ids.len());
    let mut params = vec![Value::from(keep_us(CANCELLED_KEPT_FOR))];
    params.extend(sql::pad(values.clone(), padded));
    tx.exec_drop(stmt, params).await?;
    let (stmt, padded) = sql::delete_ids(ids.len());
    tx.exec_drop(stmt, sql::pad(values, padded)).await
}

impl MysqlDriver {
    /// The end of a release of a job with a cancel request (release.sql changed
    /// nothing): in one transaction, when `lease` still owns row `id` and it is
    /// flagged, records the job cancelled and deletes it (releasing its
    /// uniqueness lock; a chain link or batch job's cancel counted by its
    /// workflow). `false` = the lease was lost.
    pub(crate) async fn release_cancelled(
        &self,
        id: u64,
        lease: &Lease,
    ) -> Result<bool, DriverError> {
        let owner = lease.token.0.as_str();
        let done = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                let row: Option<u64> = tx
                    .exec_first(sql::TRACKING_RELEASE_CANCELLED, (id, owner))
                    .await?;
                if row.is_none() {
                    tx.rollback().await?;
                    return Ok::<_, OpError>(None);
                }
                let flow = match token::in_flow(owner) {
                    true => lock_owned(&mut tx, id, owner).await?,
                    false => None,
                };
                cancel_rows(&mut tx, &[id]).await?;
                if token::holds_lock(owner) {
                    release_locks(&mut tx, &[id]).await?;
                }
                let released = match &flow {
                    Some(row) => flow_settled(&mut tx, row, Outcome::Cancelled).await?,
                    None => false,
                };
                tx.commit().await?;
                Ok(Some(released))
            })
            .await?;
        match done {
            Some(true) => self.wake_local(),
            Some(false) => self.wake_if_capped(&lease.queue),
            None => {}
        }
        Ok(done.is_some())
    }

    /// Deletes expired records of finished jobs: chunks of [`PRUNE_CHUNK`]
    /// (an index range each), at most [`PRUNE_ROUNDS`] of them; returns the
    /// records deleted. Called from `reclaim_expired`.
    pub(crate) async fn prune_records(&self) -> Result<u64, DriverError> {
        let mut total = 0;
        for _ in 0..PRUNE_ROUNDS {
            let n = self
                .single(sql::TRACKING_PRUNE, vec![Value::from(PRUNE_CHUNK)])
                .await?;
            total += n;
            if n < PRUNE_CHUNK {
                break;
            }
        }
        Ok(total)
    }

    /// Ack with a kept record (`state`, `result`, kept `keep_for`) in one
    /// transaction: the record copied from the row while `lease` owns it, the
    /// row deleted, its uniqueness lock released. `LeaseLost` when the lease
    /// is not current (nothing stored).
    async fn finish_keeping(
        &self,
        lease: &Lease,
        state: &'static str,
        result: Option<&[u8]>,
        keep_for: Duration,
    ) -> Result<(), DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let owner = lease.token.0.as_str();
        let keep = keep_us(keep_for);
        let result = result.map_or(Value::NULL, |r| Value::Bytes(r.to_vec()));
        let done = self
            .retrying(|| {
                let result = result.clone();
                async move {
                    let mut conn = self.conn().await?;
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    // A chain link or batch job: its row locked first, its
                    // effects after the delete (workflows.rs).
                    let flow = if token::in_flow(owner) {
                        match lock_owned(&mut tx, id, owner).await? {
                            Some(row) => Some(row),
                            None => {
                                tx.rollback().await?;
                                return Ok::<_, OpError>(None);
                            }
                        }
                    } else {
                        None
                    };
                    tx.exec_drop(sql::TRACKING_KEEP, (state, keep, result, id, owner))
                        .await?;
                    if tx.affected_rows() == 0 {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    tx.exec_drop(sql::ACK, (id, owner)).await?;
                    if tx.affected_rows() == 0 {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    if token::holds_lock(owner) {
                        release_locks(&mut tx, &[id]).await?;
                    }
                    let outcome = if state == STATE_SUCCEEDED {
                        Outcome::Succeeded
                    } else {
                        Outcome::Cancelled
                    };
                    let released = match &flow {
                        Some(row) => flow_settled(&mut tx, row, outcome).await?,
                        None => false,
                    };
                    tx.commit().await?;
                    Ok(Some(released))
                }
            })
            .await?;
        match done {
            None => return Err(lost(lease)),
            Some(true) => self.wake_local(),
            Some(false) => self.wake_if_capped(&lease.queue),
        }
        Ok(())
    }

    /// The unexpired record of job `id` of `queue`, if one is kept.
    async fn record(
        &self,
        conn: &mut mysql_async::Conn,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Record>, DriverError> {
        conn.exec_first(sql::TRACKING_RECORD, (queue.as_str(), id.as_str()))
            .await
            .map_err(map)
    }
}

#[async_trait]
impl JobTracking for MysqlDriver {
    /// The job's row (through queue_jobs_uuid_index), else its kept record: one
    /// or two primary-key or index lookups, no lock.
    async fn job_status(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<JobStatus>, DriverError> {
        let (by, key) = job_by(id);
        let mut conn = self.conn().await?;
        let row: Option<Row> = conn
            .exec_first(sql::tracking_job(by), (queue.as_str(), key))
            .await
            .map_err(map)?;
        if let Some(row) = row {
            return stored_status(queue, id, row).map(Some);
        }
        // Gone from queue_jobs: an ack_and_keep or a cancel stores its record
        // in the transaction that deletes the row, so it is visible now.
        match self.record(&mut conn, queue, id).await? {
            Some(record) => record_status(queue, id, record).map(Some),
            None => Ok(None),
        }
    }

    async fn job_result(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError> {
        let mut conn = self.conn().await?;
        let row: Option<Option<Vec<u8>>> = conn
            .exec_first(sql::TRACKING_RESULT, (queue.as_str(), id.as_str()))
            .await
            .map_err(map)?;
        Ok(row.flatten())
    }

    /// One fenced primary-key UPDATE per report: a single report autocommits,
    /// several go in one transaction (rows in id order, so two writers never
    /// wait on each other in a cycle).
    async fn record_runs(&self, reports: &[RunReport]) -> Result<(), DriverError> {
        let mut batch: Vec<(u64, Vec<Value>)> = reports
            .iter()
            .filter_map(|r| Some((token::row_id(&r.lease.token)?, run_params(r)?)))
            .collect();
        match batch.len() {
            0 => return Ok(()),
            1 => {
                let (_, params) = batch.swap_remove(0);
                self.single(sql::TRACKING_RUN, params).await?;
                return Ok(());
            }
            _ => {}
        }
        batch.sort_by_key(|(id, _)| *id);
        let batch = &batch;
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            for (_, params) in batch {
                tx.exec_drop(sql::TRACKING_RUN, params.clone()).await?;
            }
            tx.commit().await?;
            Ok::<_, OpError>(())
        })
        .await
    }

    async fn ack_and_keep(
        &self,
        lease: &Lease,
        result: Option<&[u8]>,
        keep_for: Duration,
    ) -> Result<(), DriverError> {
        self.finish_keeping(lease, STATE_SUCCEEDED, result, keep_for)
            .await
    }

    /// One transaction: the job's row locked; a waiting job recorded cancelled
    /// and deleted (its uniqueness lock released), a running one flagged. With
    /// no row, the kept record says whether it finished.
    async fn cancel(&self, queue: &QueueName, id: &JobId) -> Result<CancelOutcome, DriverError> {
        let (by, key) = job_by(id);
        let stmt = sql::tracking_cancel_lock(by);
        let q = queue.as_str();
        let (stmt, key) = (&stmt, &key);
        let done = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                let row: Option<(u64, i64, Option<u8>, Option<String>)> =
                    tx.exec_first(stmt.as_str(), (q, key.clone())).await?;
                let mut released = false;
                let outcome = match row {
                    None => None,
                    Some((row, reserved, _, _)) if reserved != 0 => {
                        tx.exec_drop(sql::TRACKING_CANCEL_FLAG, (row,)).await?;
                        Some(CancelOutcome::Requested)
                    }
                    Some((row, _, scope, batch)) => {
                        cancel_rows(&mut tx, &[row]).await?;
                        // A waiting job holds its lock whatever its scope.
                        if scope.is_some() {
                            release_locks(&mut tx, &[row]).await?;
                        }
                        // A batch counts it cancelled (a cancelled chain link
                        // releases nothing).
                        if batch.is_some() {
                            let flow = FlowRow {
                                id: row,
                                queue: q.to_owned(),
                                batch,
                                ..FlowRow::default()
                            };
                            released = flow_settled(&mut tx, &flow, Outcome::Cancelled).await?;
                        }
                        Some(CancelOutcome::Removed)
                    }
                };
                tx.commit().await?;
                Ok::<_, OpError>((outcome, released))
            })
            .await?;
        if let (Some(outcome), released) = done {
            if released {
                self.wake_local();
            }
            return Ok(outcome);
        }
        let mut conn = self.conn().await?;
        match self.record(&mut conn, queue, id).await? {
            Some((state, ..)) => Ok(CancelOutcome::AlreadyFinished(record_state(
                queue, id, &state,
            )?)),
            None => Ok(CancelOutcome::NotFound),
        }
    }

    /// One SELECT of primary-key lookups per `lease::MAX_BATCH` leases.
    async fn cancel_requests(&self, leases: &[Lease]) -> Result<Vec<JobId>, DriverError> {
        let valid: Vec<(u64, &Lease)> = leases
            .iter()
            .filter_map(|l| Some((token::row_id(&l.token)?, l)))
            .collect();
        let mut out = Vec::new();
        if valid.is_empty() {
            return Ok(out);
        }
        let mut conn = self.conn().await?;
        for chunk in valid.chunks(MAX_BATCH) {
            let (stmt, padded) = sql::tracking_cancel_requests(chunk.len());
            let params = sql::ids_and_owners_params(chunk, padded);
            let flagged: Vec<String> = conn.exec(stmt, params).await.map_err(map)?;
            for (_, lease) in chunk {
                if flagged.contains(&lease.token.0) {
                    out.push(lease.job_id.clone());
                }
            }
        }
        Ok(out)
    }

    async fn ack_cancelled(&self, lease: &Lease) -> Result<(), DriverError> {
        self.finish_keeping(lease, STATE_CANCELLED, None, CANCELLED_KEPT_FOR)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_characters_whole() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("héllo", 3), "hé");
        assert_eq!(cut("abc", 10), "abc");
    }

    #[test]
    fn hand_written_rows_are_selected_by_row_id() {
        let (by, v) = job_by(&JobId::from_string("db-42".to_owned()));
        assert_eq!((by, v), (JobBy::Row, Value::from(42u64)));
        let (by, _) = job_by(&JobId::from_string("db-x".to_owned()));
        assert_eq!(by, JobBy::Uuid);
        let (by, _) = job_by(&JobId::generate());
        assert_eq!(by, JobBy::Uuid);
    }

    #[test]
    fn record_states_are_checked() {
        let q = QueueName::new("q").unwrap();
        let id = JobId::from_string("j".to_owned());
        assert_eq!(
            record_state(&q, &id, "succeeded").unwrap(),
            JobState::Succeeded
        );
        assert_eq!(
            record_state(&q, &id, "cancelled").unwrap(),
            JobState::Cancelled
        );
        let err = record_state(&q, &id, "lost").unwrap_err();
        assert!(matches!(err, DriverError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("\"lost\""), "{err}");
        assert!(keep_us(Duration::MAX) <= micros(LONGEST_KEEP));
    }
}
