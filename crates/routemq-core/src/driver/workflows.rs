//! Workflows: chains (jobs run one after another) and batches (a set of jobs
//! with counters and callbacks). Both rest on *waiting* jobs: stored, never
//! claimed, until the atomic step that settles the job they wait for makes them
//! claimable.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{DriverError, JobId, PendingJob, QueueName};

/// How long a finished (or cancelled) batch's record is kept.
pub const BATCH_KEPT_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// A batch's id (a UUIDv7, like job ids).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(String);

impl BatchId {
    /// A fresh UUIDv7 id.
    pub fn generate() -> Self {
        BatchId(uuid::Uuid::now_v7().hyphenated().to_string())
    }
    /// Wraps an id read back from a backend or typed by an operator.
    pub fn from_string(id: impl Into<String>) -> Self {
        BatchId(id.into())
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchId({})", self.0)
    }
}

/// A chain as a driver stores it: every job of `queue`, none unique, none
/// grouped (the dispatch API checks that).
#[derive(Debug, Clone)]
pub struct ChainPlan {
    /// The queue of every link and of `catch`.
    pub queue: QueueName,
    /// The links, in order (at least one). The first is stored like a push
    /// (due at its `available_at`); the others wait.
    pub links: Vec<PendingJob>,
    /// Made claimable when a link fails for good.
    pub catch: Option<PendingJob>,
}

/// A batch as a driver stores it: every job of `queue`, none unique, none
/// grouped (the dispatch API checks that).
#[derive(Debug, Clone)]
pub struct BatchPlan {
    /// The batch's id.
    pub id: BatchId,
    /// The queue of every job and callback.
    pub queue: QueueName,
    /// A name for operators (may be empty).
    pub name: String,
    /// The batch's jobs (may be empty: the batch then finishes at once).
    pub jobs: Vec<PendingJob>,
    /// Made claimable when every job succeeded.
    pub then: Option<PendingJob>,
    /// Made claimable at the first job that failed for good.
    pub catch: Option<PendingJob>,
    /// Made claimable when no job is pending any more (succeeded, failed or
    /// cancelled), whatever the outcome.
    pub finally: Option<PendingJob>,
    /// Without it, the first failure cancels the batch (its waiting jobs are
    /// not run).
    pub allow_failures: bool,
}

/// Checks jobs for a chain or batch of `queue` (`what` names it in errors):
/// each within `limit` bytes ([`DriverError::PayloadTooLarge`] naming
/// `driver`), on `queue` and not grouped ([`DriverError::InvalidArgument`]).
/// Every driver's check before it stores a plan or adds to a batch.
pub fn check_workflow_jobs<'a>(
    what: &str,
    queue: &QueueName,
    jobs: impl IntoIterator<Item = &'a PendingJob>,
    limit: usize,
    driver: &'static str,
) -> Result<(), DriverError> {
    for job in jobs {
        job.check_size(limit, driver)?;
        if job.queue != *queue {
            return Err(DriverError::InvalidArgument(format!(
                "{what}: job {} is on queue {}, not {queue}: every job of a chain or batch is on its queue",
                job.id, job.queue
            )));
        }
        if job.group.is_some() {
            return Err(DriverError::InvalidArgument(format!(
                "{what}: job {} is grouped: jobs of a chain or batch cannot be",
                job.id
            )));
        }
    }
    Ok(())
}

impl ChainPlan {
    /// [`check_workflow_jobs`] on every link and the catch job, and at least
    /// one link.
    pub fn check(&self, limit: usize, driver: &'static str) -> Result<(), DriverError> {
        if self.links.is_empty() {
            return Err(DriverError::InvalidArgument(
                "a chain needs at least one job".into(),
            ));
        }
        check_workflow_jobs(
            "chain",
            &self.queue,
            self.links.iter().chain(&self.catch),
            limit,
            driver,
        )
    }
}

impl BatchPlan {
    /// [`check_workflow_jobs`] on every job and callback.
    pub fn check(&self, limit: usize, driver: &'static str) -> Result<(), DriverError> {
        let callbacks = [&self.then, &self.catch, &self.finally];
        check_workflow_jobs(
            &format!("batch {}", self.id),
            &self.queue,
            self.jobs.iter().chain(callbacks.into_iter().flatten()),
            limit,
            driver,
        )
    }
}

/// A batch's counters and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchInfo {
    /// The batch.
    pub id: BatchId,
    /// Its queue.
    pub queue: QueueName,
    /// Its name.
    pub name: String,
    /// Jobs added in all.
    pub total: u64,
    /// Jobs not yet finished (waiting or running).
    pub pending: u64,
    /// Jobs that succeeded.
    pub succeeded: u64,
    /// Jobs that failed for good.
    pub failed: u64,
    /// Jobs cancelled (one by one, or by cancelling the batch).
    pub cancelled: u64,
    /// Whether failures leave the batch running.
    pub allow_failures: bool,
    /// The batch was cancelled (by `cancel_batch`, or by a failure without
    /// `allow_failures`).
    pub cancelled_batch: bool,
    /// Created, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When the last pending job finished, milliseconds since the Unix epoch.
    pub finished_at_ms: Option<i64>,
}

/// Chains and batches: the eighth capability.
///
/// # Contract (checked for every driver by the conformance suite's `workflow_*` rules)
/// - **Waiting jobs.** A chain's links after the first, and every callback
///   (`catch`, `then`, `finally`), are stored *waiting*: never claimed, not
///   counted as ready or delayed, reported by
///   [`job_status`](crate::JobTracking::job_status) as
///   [`JobState::Waiting`](crate::JobState::Waiting), removed by
///   [`clear`](crate::QueueAdmin::clear) and by a
///   [`cancel`](crate::JobTracking::cancel). A waiting job becomes claimable
///   (due now) in the same atomic step as the settlement that releases it, so a
///   worker that dies between the two neither loses nor repeats it.
/// - **Chains.** The ack (plain, batched or with a kept result) of a link makes
///   the next link claimable; the last link's ack removes `catch`. A link that fails for good (`fail`, or a reclaim
///   out of tries) makes `catch` claimable and leaves the later links waiting,
///   visible; a cancelled link leaves them waiting too (no `catch`).
/// - **Batches.** Every settlement of a batch job updates the counters in the
///   same atomic step: an ack counts it succeeded, a final failure failed, a
///   cancel cancelled, each taking it off `pending`. The first failure makes
///   `catch` claimable; without `allow_failures` it also cancels the batch.
///   When `pending` reaches 0: `then` if nothing failed or was cancelled, and
///   `finally` always; each callback at most once, ever; callbacks not made
///   claimable then are removed. Cancelling a batch removes its jobs not yet
///   started (ready or delayed; counted cancelled); running ones finish and are
///   counted as they end. A retry or a reclaimed lease changes no counter.
/// - **Records.** A batch's record is kept for [`BATCH_KEPT_FOR`] after it
///   finished, then expires by itself; [`clear`](crate::QueueAdmin::clear)
///   of its queue removes it with the queue's jobs.
#[async_trait]
pub trait Workflows: Send + Sync + fmt::Debug + 'static {
    /// Stores a chain in one atomic step; returns the links' ids in order.
    async fn push_chain(&self, chain: ChainPlan) -> Result<Vec<JobId>, DriverError>;

    /// Stores a batch (its record, jobs and callbacks) in one atomic step.
    async fn push_batch(&self, batch: BatchPlan) -> Result<BatchInfo, DriverError>;

    /// Adds jobs to a batch that has not finished, atomically with its
    /// counters. A finished or cancelled batch refuses them with
    /// [`DriverError::InvalidArgument`] naming it; an unknown one with
    /// [`DriverError::InvalidArgument`] too.
    async fn add_to_batch(
        &self,
        id: &BatchId,
        jobs: Vec<PendingJob>,
    ) -> Result<BatchInfo, DriverError>;

    /// A batch's counters, or `None` (never stored, or its record expired).
    async fn batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError>;

    /// Every batch still kept, newest first.
    async fn batches(&self) -> Result<Vec<BatchInfo>, DriverError>;

    /// Cancels a batch: its jobs not yet started are removed and counted
    /// cancelled.
    /// Returns the batch after the step (`None` when unknown); cancelling a
    /// cancelled or finished batch changes nothing.
    async fn cancel_batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError>;
}
