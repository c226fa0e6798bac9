//! [`Workflows`] for [`MysqlDriver`] (migration 0013): chains and batches,
//! plus the effects every settlement path applies to a workflow job
//! ([`flow_settled`]).
//!
//! Chain links after the first and batch callbacks are stored *waiting*
//! (`waiting = 1`, `available_at` at the sentinel `9999-12-31`), which the
//! claim never reaches. A link's row names the next link and the chain's catch
//! job (`flow_next`, `flow_catch`); a batch job's row names its batch
//! (`batch_id`), whose counters live in `queue_batches`. The claim ends the
//! owner token of such a job with `w` (`token.rs`), so only those settlements
//! (ack, batched ack, kept ack, fail, cancelled ack, release or reclaim of a
//! cancelled job, reclaim out of tries) look at these columns, in the
//! transaction that removes the job: job row first, then the batch row, so
//! concurrent settlements never wait on each other in a cycle.

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Transaction, TxOpts, Value};
use routemq_core::{
    unix_ms, BatchId, BatchInfo, BatchPlan, ChainPlan, DriverError, JobId, Lease, PendingJob,
    QueueName, Workflows, BATCH_KEPT_FOR,
};

use crate::driver::{MysqlDriver, OpError};
use crate::error::{map, NAME};
use crate::lease::{lost, MAX_BATCH};
use crate::push::check_due;
use crate::time::{from_unix_text, micros, unix_parts};
use crate::tracking::cancel_rows;
use crate::unique::release_locks;
use crate::{sql, token};

/// Jobs of a batch cancelled per statement when a batch is cancelled.
const CANCEL_CHUNK: u64 = MAX_BATCH as u64;
/// Expired batch records looked at per prune.
const PRUNE_BATCHES: u64 = 100;
/// Membership rows deleted per pruning statement.
const PRUNE_CHUNK: u64 = 1000;
/// Pruning statements one [`MysqlDriver::prune_batches`] runs at most.
const PRUNE_ROUNDS: usize = 8;
/// Rows per multi-row INSERT of workflow jobs (11 placeholders each).
const INSERT_ROWS: usize = 500;
/// Bytes a row adds to a multi-row INSERT beside its payload.
const ROW_OVERHEAD: usize = 256;

/// How a workflow job settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Acknowledged (plain, batched or with a kept result).
    Succeeded,
    /// Failed for good (`fail`, or a reclaim out of tries).
    Failed,
    /// Cancelled (removed before it ran, or stopped on a cancel request).
    Cancelled,
}

/// A job row's place in a workflow (workflow_owned.sql).
#[derive(Debug, Clone, Default)]
pub(crate) struct FlowRow {
    /// The job's row id.
    pub(crate) id: u64,
    /// Its queue (every job of a chain or batch shares it).
    pub(crate) queue: String,
    /// A chain link: the next link's uuid.
    pub(crate) next: Option<String>,
    /// A chain link: the chain's catch job's uuid.
    pub(crate) catch: Option<String>,
    /// A batch job: its batch.
    pub(crate) batch: Option<String>,
}

impl FlowRow {
    /// True when settling the job has an effect.
    pub(crate) fn has_effects(&self) -> bool {
        self.next.is_some() || self.catch.is_some() || self.batch.is_some()
    }
}

/// A row of workflow_owned.sql: id, queue, flow_next, flow_catch, batch_id.
type OwnedRow = (u64, String, Option<String>, Option<String>, Option<String>);

/// Locks row `id` while `owner` holds it and reads its place in a workflow;
/// `None` = the lease was lost.
pub(crate) async fn lock_owned(
    tx: &mut Transaction<'_>,
    id: u64,
    owner: &str,
) -> Result<Option<FlowRow>, mysql_async::Error> {
    let row: Option<OwnedRow> = tx.exec_first(sql::WORKFLOW_OWNED, (id, owner)).await?;
    Ok(row.map(|(id, queue, next, catch, batch)| FlowRow {
        id,
        queue,
        next,
        catch,
        batch,
    }))
}

/// The workflow effects of job `row` settling with `outcome`, in the
/// transaction that removes it (called after its row is deleted, with the row
/// lock still held): a chain's next link or catch job released (or the catch
/// job removed after the last link), a batch's counters and callbacks. Returns
/// true when a job became claimable.
pub(crate) async fn flow_settled(
    tx: &mut Transaction<'_>,
    row: &FlowRow,
    outcome: Outcome,
) -> Result<bool, mysql_async::Error> {
    let mut released = false;
    match (outcome, &row.next, &row.catch) {
        (Outcome::Succeeded, Some(next), _) => {
            released |= release_waiting(tx, &row.queue, next).await?;
        }
        // The chain is done: its catch job will never be needed.
        (Outcome::Succeeded, None, Some(catch)) => drop_waiting(tx, &row.queue, catch).await?,
        (Outcome::Failed, _, Some(catch)) => {
            released |= release_waiting(tx, &row.queue, catch).await?;
        }
        _ => {}
    }
    if let Some(batch) = &row.batch {
        let (_, r) = batch_step(tx, batch, Step::Settled(outcome, row.id)).await?;
        released |= r;
    }
    Ok(released)
}

/// Makes waiting job `uuid` of `queue` claimable now; true when it was waiting.
async fn release_waiting(
    tx: &mut Transaction<'_>,
    queue: &str,
    uuid: &str,
) -> Result<bool, mysql_async::Error> {
    tx.exec_drop(sql::WORKFLOW_RELEASE, (queue, uuid)).await?;
    Ok(tx.affected_rows() > 0)
}

/// Removes waiting job `uuid` of `queue` (a callback never released).
async fn drop_waiting(
    tx: &mut Transaction<'_>,
    queue: &str,
    uuid: &str,
) -> Result<(), mysql_async::Error> {
    tx.exec_drop(sql::WORKFLOW_DROP, (queue, uuid)).await
}

/// What changes a batch ([`batch_step`]).
#[derive(Debug, Clone, Copy)]
enum Step {
    /// One of its jobs (row id) settled.
    Settled(Outcome, u64),
    /// `cancel_batch`.
    Cancel,
    /// Just stored (an empty batch finishes at once).
    Created,
}

/// A batch's record as locked by workflow_batch_lock.sql.
#[derive(Debug, Clone)]
struct BatchRow {
    queue: String,
    pending: u64,
    succeeded: u64,
    failed: u64,
    cancelled: u64,
    allow_failures: bool,
    cancelled_batch: bool,
    then: Option<String>,
    catch: Option<String>,
    finally: Option<String>,
    finished: bool,
}

type BatchLockRow = (
    String,
    u64,
    u64,
    u64,
    u64,
    u64,
    u8,
    u8,
    Option<String>,
    Option<String>,
    Option<String>,
    u8,
);

async fn lock_batch(
    tx: &mut Transaction<'_>,
    id: &str,
) -> Result<Option<BatchRow>, mysql_async::Error> {
    let row: Option<BatchLockRow> = tx.exec_first(sql::WORKFLOW_BATCH_LOCK, (id,)).await?;
    Ok(row.map(
        |(
            queue,
            _total,
            pending,
            succeeded,
            failed,
            cancelled,
            allow,
            cancelled_batch,
            then,
            catch,
            finally,
            finished,
        )| {
            BatchRow {
                queue,
                pending,
                succeeded,
                failed,
                cancelled,
                allow_failures: allow != 0,
                cancelled_batch: cancelled_batch != 0,
                then,
                catch,
                finally,
                finished: finished != 0,
            }
        },
    ))
}

/// Applies `step` to batch `id` under its row lock: counters, the catch job at
/// the first failure, the cancel of jobs not started (a batch cancel, or a
/// failure without `allow_failures`), and the finish once nothing is pending.
/// Returns the batch after the step (`None`: unknown, or the one-statement
/// path of a success that changed nothing else) and whether a job became
/// claimable.
async fn batch_step(
    tx: &mut Transaction<'_>,
    id: &str,
    step: Step,
) -> Result<(Option<BatchRow>, bool), mysql_async::Error> {
    if let Step::Settled(Outcome::Succeeded, _) = step {
        // The hot path: one short UPDATE under the batch's row lock.
        tx.exec_drop(sql::WORKFLOW_BATCH_SUCCEEDED, (id,)).await?;
        if tx.affected_rows() > 0 {
            return Ok((None, false));
        }
    }
    let Some(mut b) = lock_batch(tx, id).await? else {
        return Ok((None, false));
    };
    let mut released = false;
    let mut cancel_rest = false;
    let mut settling = 0;
    match step {
        Step::Settled(outcome, job) => {
            settling = job;
            b.pending = b.pending.saturating_sub(1);
            match outcome {
                Outcome::Succeeded => b.succeeded += 1,
                Outcome::Cancelled => b.cancelled += 1,
                Outcome::Failed => {
                    b.failed += 1;
                    if b.failed == 1 {
                        if let Some(catch) = b.catch.take() {
                            released |= release_waiting(tx, &b.queue, &catch).await?;
                        }
                    }
                    if !b.allow_failures && !b.cancelled_batch {
                        b.cancelled_batch = true;
                        cancel_rest = true;
                    }
                }
            }
        }
        Step::Cancel => {
            if b.cancelled_batch || b.finished {
                return Ok((Some(b), false));
            }
            b.cancelled_batch = true;
            cancel_rest = true;
        }
        Step::Created => {}
    }
    if cancel_rest {
        let n = cancel_not_started(tx, id, settling).await?;
        b.cancelled += n;
        b.pending = b.pending.saturating_sub(n);
    }
    let finishing = !b.finished && b.pending == 0;
    if finishing {
        b.finished = true;
        let all_good = b.failed == 0 && b.cancelled == 0;
        if let Some(then) = b.then.take() {
            if all_good {
                released |= release_waiting(tx, &b.queue, &then).await?;
            } else {
                drop_waiting(tx, &b.queue, &then).await?;
            }
        }
        if let Some(catch) = b.catch.take() {
            drop_waiting(tx, &b.queue, &catch).await?;
        }
        if let Some(finally) = b.finally.take() {
            released |= release_waiting(tx, &b.queue, &finally).await?;
        }
    }
    let params: Vec<Value> = vec![
        b.pending.into(),
        b.succeeded.into(),
        b.failed.into(),
        b.cancelled.into(),
        u8::from(b.cancelled_batch).into(),
        b.then.clone().into(),
        b.catch.clone().into(),
        b.finally.clone().into(),
        u8::from(finishing).into(),
        u8::from(finishing).into(),
        micros(BATCH_KEPT_FOR).into(),
        id.into(),
    ];
    tx.exec_drop(sql::WORKFLOW_BATCH_WRITE, params).await?;
    Ok((Some(b), released))
}

/// Records batch `id`'s jobs not yet started (but row `settling`) cancelled
/// and removes them, in chunks; returns how many.
async fn cancel_not_started(
    tx: &mut Transaction<'_>,
    id: &str,
    settling: u64,
) -> Result<u64, mysql_async::Error> {
    let mut total = 0;
    loop {
        let ids: Vec<u64> = tx
            .exec(sql::WORKFLOW_NOT_STARTED, (id, settling, CANCEL_CHUNK))
            .await?;
        let n = ids.len() as u64;
        // Batch jobs are never unique: no uniqueness lock to release.
        cancel_rows(tx, &ids).await?;
        total += n;
        if n < CANCEL_CHUNK {
            return Ok(total);
        }
    }
}

/// One row to store: the job, whether it waits, and its place in a workflow.
struct NewRow<'a> {
    job: &'a PendingJob,
    waiting: bool,
    next: Option<&'a str>,
    catch: Option<&'a str>,
    batch: Option<&'a str>,
}

/// The multi-row INSERTs (statement and parameters) storing `rows`: at most
/// [`INSERT_ROWS`] rows and about `budget` bytes each.
fn insert_statements(rows: &[NewRow<'_>], budget: usize) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let (mut n, mut bytes) = (0usize, 0usize);
    for row in rows {
        let len = row.job.payload.len() + ROW_OVERHEAD;
        if n > 0 && (n >= INSERT_ROWS || bytes + len > budget) {
            out.push((sql::workflow_insert(n), std::mem::take(&mut params)));
            (n, bytes) = (0, 0);
        }
        let (secs, us) = match row.job.available_at {
            Some(at) if !row.waiting => unix_parts(at),
            _ => (0, 0),
        };
        let waiting = u8::from(row.waiting);
        params.extend([
            Value::from(row.job.id.as_str()),
            Value::from(row.job.queue.as_str()),
            Value::Bytes(row.job.payload.clone()),
            Value::from(row.job.max_tries.max(1)),
            Value::from(waiting),
            Value::from(secs),
            Value::from(us),
            Value::from(waiting),
            Value::from(row.next),
            Value::from(row.catch),
            Value::from(row.batch),
        ]);
        n += 1;
        bytes += len;
    }
    if n > 0 {
        out.push((sql::workflow_insert(n), params));
    }
    out
}

/// The multi-row INSERTs of batch `id`'s memberships for `jobs`.
fn member_statements(id: &str, jobs: &[PendingJob]) -> Vec<(String, Vec<Value>)> {
    jobs.chunks(INSERT_ROWS)
        .map(|chunk| {
            let params = chunk
                .iter()
                .flat_map(|j| [Value::from(id), Value::from(j.id.as_str())])
                .collect();
            (sql::workflow_members(chunk.len()), params)
        })
        .collect()
}

/// Checks what the contract leaves to drivers: sizes, due times, the queue
/// of every job, no group.
fn check_jobs<'a>(
    queue: &QueueName,
    jobs: impl IntoIterator<Item = &'a PendingJob>,
    max_payload: usize,
) -> Result<(), DriverError> {
    for job in jobs {
        job.check_size(max_payload, NAME)?;
        check_due(job)?;
        if job.queue != *queue {
            return Err(DriverError::InvalidArgument(format!(
                "job {} is for queue {}, not the workflow's queue {queue}",
                job.id, job.queue
            )));
        }
        if job.group.is_some() {
            return Err(DriverError::InvalidArgument(format!(
                "job {} has a group: a chain or batch job cannot be grouped",
                job.id
            )));
        }
    }
    Ok(())
}

/// A batch record read by workflow_batch_get.sql / workflow_batches.sql.
type BatchInfoRow = (
    String,
    String,
    String,
    u64,
    u64,
    u64,
    u64,
    u64,
    u8,
    u8,
    String,
    Option<String>,
);

fn corrupt(id: &str, detail: impl std::fmt::Display) -> DriverError {
    DriverError::Corrupt {
        driver: NAME,
        detail: format!("batch {id}: {detail}"),
    }
}

fn ms_of(id: &str, what: &str, text: &str) -> Result<i64, DriverError> {
    from_unix_text(text).map(unix_ms).ok_or_else(|| {
        corrupt(
            id,
            format_args!("queue_batches {what} is {text:?}, not a time"),
        )
    })
}

fn batch_info(row: BatchInfoRow) -> Result<BatchInfo, DriverError> {
    let (
        id,
        queue,
        name,
        total,
        pending,
        succeeded,
        failed,
        cancelled,
        allow,
        cb,
        created,
        finished,
    ) = row;
    let queue = QueueName::new(queue.clone())
        .map_err(|e| corrupt(&id, format_args!("queue {queue:?}: {e}")))?;
    let created_at_ms = ms_of(&id, "created_at", &created)?;
    let finished_at_ms = match finished {
        Some(t) => Some(ms_of(&id, "finished_at", &t)?),
        None => None,
    };
    Ok(BatchInfo {
        id: BatchId::from_string(id),
        queue,
        name,
        total,
        pending,
        succeeded,
        failed,
        cancelled,
        allow_failures: allow != 0,
        cancelled_batch: cb != 0,
        created_at_ms,
        finished_at_ms,
    })
}

/// Batch `id` as kept, read in `tx` (sees the transaction's own changes).
async fn read_batch(
    tx: &mut Transaction<'_>,
    id: &str,
) -> Result<Option<BatchInfoRow>, mysql_async::Error> {
    tx.exec_first(sql::WORKFLOW_BATCH_GET, (id,)).await
}

/// Why `add_to_batch` refused (decided in its transaction).
enum Refused {
    Unknown,
    Finished,
    Cancelled,
    OtherQueue(String),
}

impl MysqlDriver {
    /// Ack of a workflow job (a `w` token): the row locked, deleted (its
    /// uniqueness lock released) and its effects applied, in one transaction.
    pub(crate) async fn ack_flow(&self, id: u64, lease: &Lease) -> Result<(), DriverError> {
        let owner = lease.token.0.as_str();
        let done = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                let Some(row) = lock_owned(&mut tx, id, owner).await? else {
                    tx.rollback().await?;
                    return Ok::<_, OpError>(None);
                };
                tx.exec_drop(sql::ACK, (id, owner)).await?;
                if token::holds_lock(owner) {
                    release_locks(&mut tx, &[id]).await?;
                }
                let released = flow_settled(&mut tx, &row, Outcome::Succeeded).await?;
                tx.commit().await?;
                Ok(Some(released))
            })
            .await?;
        match done {
            None => Err(lost(lease)),
            Some(released) => {
                if released {
                    self.wake_local();
                } else {
                    self.wake_if_capped(&lease.queue);
                }
                Ok(())
            }
        }
    }

    /// Deletes the batch records of `queue` and their membership rows (its
    /// jobs were just cleared).
    pub(crate) async fn clear_batches(&self, queue: &QueueName) -> Result<(), DriverError> {
        let mut conn = self.conn().await?;
        let ids: Vec<String> = conn
            .exec(sql::WORKFLOW_CLEAR_SELECT, (queue.as_str(),))
            .await
            .map_err(map)?;
        drop(conn);
        for id in ids {
            self.delete_in_chunks(sql::WORKFLOW_CLEAR_MEMBERS, vec![Value::from(id.as_str())])
                .await?;
            self.single(sql::WORKFLOW_CLEAR_BATCH, vec![Value::from(id.as_str())])
                .await?;
        }
        Ok(())
    }

    /// Deletes expired batch records with their membership rows: at most
    /// [`PRUNE_ROUNDS`] chunked deletes per call (a backlog is worked off over
    /// several calls). Called from `reclaim_expired`.
    pub(crate) async fn prune_batches(&self) -> Result<u64, DriverError> {
        let mut conn = self.conn().await?;
        let ids: Vec<String> = conn
            .exec(sql::WORKFLOW_PRUNE_SELECT, (PRUNE_BATCHES,))
            .await
            .map_err(map)?;
        drop(conn);
        let mut rounds = 0;
        let mut pruned = 0;
        'batches: for id in ids {
            loop {
                if rounds >= PRUNE_ROUNDS {
                    break 'batches;
                }
                rounds += 1;
                let n = self
                    .single(
                        sql::WORKFLOW_PRUNE_MEMBERS,
                        vec![Value::from(id.as_str()), Value::from(PRUNE_CHUNK)],
                    )
                    .await?;
                if n < PRUNE_CHUNK {
                    break;
                }
            }
            pruned += self
                .single(sql::WORKFLOW_PRUNE_BATCH, vec![Value::from(id.as_str())])
                .await?;
        }
        Ok(pruned)
    }
}

/// `Ok(None)` from the retried body of a step that found nothing.
type Found<T> = Result<Option<T>, OpError>;

#[async_trait]
impl Workflows for MysqlDriver {
    /// One transaction: the catch job and the later links waiting, the first
    /// link due like a push; each link names the next and the catch job.
    async fn push_chain(&self, chain: ChainPlan) -> Result<Vec<JobId>, DriverError> {
        if chain.links.is_empty() {
            return Err(DriverError::InvalidArgument(
                "a chain needs at least one job".into(),
            ));
        }
        check_jobs(
            &chain.queue,
            chain.links.iter().chain(chain.catch.iter()),
            self.inner.max_payload,
        )?;
        let ids: Vec<JobId> = chain.links.iter().map(|j| j.id.clone()).collect();
        let catch_id = chain.catch.as_ref().map(|j| j.id.as_str());
        let mut rows: Vec<NewRow<'_>> = Vec::with_capacity(chain.links.len() + 1);
        if let Some(catch) = &chain.catch {
            rows.push(NewRow {
                job: catch,
                waiting: true,
                next: None,
                catch: None,
                batch: None,
            });
        }
        for (i, link) in chain.links.iter().enumerate() {
            rows.push(NewRow {
                job: link,
                waiting: i > 0,
                next: chain.links.get(i + 1).map(|j| j.id.as_str()),
                catch: catch_id,
                batch: None,
            });
        }
        let statements = insert_statements(&rows, (self.inner.max_payload / 2).max(1));
        self.in_one_transaction(&statements).await?;
        self.wake_local();
        Ok(ids)
    }

    /// One transaction: the record, the callbacks waiting, the jobs due like
    /// pushes with their memberships; an empty batch finishes in it.
    async fn push_batch(&self, batch: BatchPlan) -> Result<BatchInfo, DriverError> {
        let callbacks = [&batch.then, &batch.catch, &batch.finally];
        check_jobs(
            &batch.queue,
            batch.jobs.iter().chain(callbacks.into_iter().flatten()),
            self.inner.max_payload,
        )?;
        let id = batch.id.as_str();
        let mut rows: Vec<NewRow<'_>> = Vec::with_capacity(batch.jobs.len() + 3);
        for cb in callbacks.into_iter().flatten() {
            rows.push(NewRow {
                job: cb,
                waiting: true,
                next: None,
                catch: None,
                batch: None,
            });
        }
        for job in &batch.jobs {
            rows.push(NewRow {
                job,
                waiting: false,
                next: None,
                catch: None,
                batch: Some(id),
            });
        }
        let mut statements = insert_statements(&rows, (self.inner.max_payload / 2).max(1));
        statements.extend(member_statements(id, &batch.jobs));
        let uuid = |j: &Option<PendingJob>| {
            j.as_ref()
                .map_or(Value::NULL, |j| Value::from(j.id.as_str()))
        };
        let n = batch.jobs.len() as u64;
        let record: Vec<Value> = vec![
            id.into(),
            batch.queue.as_str().into(),
            batch.name.as_str().into(),
            n.into(),
            n.into(),
            u8::from(batch.allow_failures).into(),
            uuid(&batch.then),
            uuid(&batch.catch),
            uuid(&batch.finally),
        ];
        let (statements, record) = (&statements, &record);
        let row = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                tx.exec_drop(sql::WORKFLOW_BATCH_INSERT, record.clone())
                    .await?;
                for (stmt, params) in statements {
                    tx.exec_drop(stmt.as_str(), params.clone()).await?;
                }
                if n == 0 {
                    batch_step(&mut tx, id, Step::Created).await?;
                }
                let row = read_batch(&mut tx, id).await?;
                tx.commit().await?;
                Ok::<_, OpError>(row)
            })
            .await?;
        self.wake_local();
        match row {
            Some(row) => batch_info(row),
            None => Err(corrupt(
                id,
                "its record is missing right after it was stored",
            )),
        }
    }

    /// One transaction: the record locked and checked, the jobs and their
    /// memberships stored, total and pending raised.
    async fn add_to_batch(
        &self,
        id: &BatchId,
        jobs: Vec<PendingJob>,
    ) -> Result<BatchInfo, DriverError> {
        let bid = id.as_str();
        // One queue for all (the batch's: checked under its lock below).
        let queue = jobs.first().map(|j| j.queue.clone());
        if let Some(queue) = &queue {
            check_jobs(queue, &jobs, self.inner.max_payload)?;
        }
        let queue = queue.as_ref().map(QueueName::as_str);
        let rows: Vec<NewRow<'_>> = jobs
            .iter()
            .map(|job| NewRow {
                job,
                waiting: false,
                next: None,
                catch: None,
                batch: Some(bid),
            })
            .collect();
        let mut statements = insert_statements(&rows, (self.inner.max_payload / 2).max(1));
        statements.extend(member_statements(bid, &jobs));
        let statements = &statements;
        let n = jobs.len() as u64;
        let outcome = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                let refused = match lock_batch(&mut tx, bid).await? {
                    None => Some(Refused::Unknown),
                    Some(b) if b.finished => Some(Refused::Finished),
                    Some(b) if b.cancelled_batch => Some(Refused::Cancelled),
                    Some(b) if queue.is_some_and(|q| q != b.queue) => {
                        Some(Refused::OtherQueue(b.queue))
                    }
                    Some(_) => None,
                };
                if let Some(refused) = refused {
                    tx.rollback().await?;
                    return Ok::<_, OpError>(Err(refused));
                }
                for (stmt, params) in statements {
                    tx.exec_drop(stmt.as_str(), params.clone()).await?;
                }
                tx.exec_drop(sql::WORKFLOW_BATCH_ADD, (n, n, bid)).await?;
                let row = read_batch(&mut tx, bid).await?;
                tx.commit().await?;
                Ok(Ok(row))
            })
            .await?;
        let refusal = |why: &str| Err(DriverError::InvalidArgument(format!("batch {id} {why}")));
        match outcome {
            Err(Refused::Unknown) | Ok(None) => {
                refusal("is unknown (never stored, or its record expired)")
            }
            Err(Refused::Finished) => refusal("has finished: no job can be added"),
            Err(Refused::Cancelled) => refusal("was cancelled: no job can be added"),
            Err(Refused::OtherQueue(q)) => refusal(&format!(
                "is on queue {q}: its jobs must be on the same queue"
            )),
            Ok(Some(row)) => {
                if n > 0 {
                    self.wake_local();
                }
                batch_info(row)
            }
        }
    }

    async fn batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError> {
        let mut conn = self.conn().await?;
        let row: Option<BatchInfoRow> = conn
            .exec_first(sql::WORKFLOW_BATCH_GET, (id.as_str(),))
            .await
            .map_err(map)?;
        row.map(batch_info).transpose()
    }

    async fn batches(&self) -> Result<Vec<BatchInfo>, DriverError> {
        let mut conn = self.conn().await?;
        let rows: Vec<BatchInfoRow> = conn.query(sql::WORKFLOW_BATCHES).await.map_err(map)?;
        rows.into_iter().map(batch_info).collect()
    }

    /// One transaction: the record locked, marked cancelled, the jobs not
    /// started recorded cancelled and removed, the batch finished if nothing
    /// is pending any more.
    async fn cancel_batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError> {
        let bid = id.as_str();
        let found = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                let (b, released) = batch_step(&mut tx, bid, Step::Cancel).await?;
                if b.is_none() {
                    tx.rollback().await?;
                    return Found::Ok(None);
                }
                let row = read_batch(&mut tx, bid).await?;
                tx.commit().await?;
                Ok(Some((row, released)))
            })
            .await?;
        match found {
            None | Some((None, _)) => Ok(None),
            Some((Some(row), released)) => {
                if released {
                    self.wake_local();
                }
                batch_info(row).map(Some)
            }
        }
    }
}
