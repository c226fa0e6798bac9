//! Job tracking: where one job is (`routemq job show`), what a running job last
//! reported (progress), the value a finished job returned (results), and
//! cancellation of waiting and running jobs.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{DriverError, JobId, Lease, QueueName};

/// How long a cancelled job's record is kept before it expires by itself.
pub const CANCELLED_KEPT_FOR: Duration = Duration::from_secs(24 * 3600);

/// The longest progress message kept, in bytes; longer ones are cut at a
/// character boundary.
pub const MAX_PROGRESS_MESSAGE: usize = 1024;

/// The longest last-error text kept in a run record, in bytes.
pub const MAX_RUN_ERROR: usize = 4096;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Stored, waiting for another job of its chain or batch to settle.
    Waiting,
    /// Stored, due later.
    Delayed,
    /// Waiting for a worker.
    Ready,
    /// Claimed by a worker, under a lease.
    Running,
    /// Finished successfully (known only while its record is kept:
    /// [`JobOptions::keep_result`](crate::JobOptions::keep_result)).
    Succeeded,
    /// In the failed store.
    Failed,
    /// Cancelled before it ran, or stopped by its worker when asked to.
    Cancelled,
}

impl JobState {
    /// The lowercase name shown by the CLI (`delayed`, `ready`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Waiting => "waiting",
            JobState::Delayed => "delayed",
            JobState::Ready => "ready",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// True for the states a job never leaves (succeeded, failed, cancelled).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a running job last said about itself
/// ([`JobContext::progress`](crate::JobContext::progress)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Percent done, 0 to 100.
    pub percent: f32,
    /// Free text (at most [`MAX_PROGRESS_MESSAGE`] bytes).
    pub message: String,
    /// When it was reported, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl Progress {
    /// A report now: `percent` clamped to 0–100 (NaN is 0), `message` cut to
    /// [`MAX_PROGRESS_MESSAGE`] bytes.
    pub fn new(percent: f32, message: &str) -> Self {
        let percent = if percent.is_nan() {
            0.0
        } else {
            percent.clamp(0.0, 100.0)
        };
        Progress {
            percent,
            message: cut(message, MAX_PROGRESS_MESSAGE).to_owned(),
            at_ms: crate::unix_ms(std::time::SystemTime::now()),
        }
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One running attempt's record, written by its worker
/// ([`JobTracking::record_runs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The attempt's lease: the record is written only while it is current.
    pub lease: Lease,
    /// The id of the worker running it ([`WorkerInfo::id`](crate::WorkerInfo::id)).
    pub worker: String,
    /// The latest progress, if the job reported any.
    pub progress: Option<Progress>,
    /// The attempt's error, written just before the worker gives the job back for
    /// a retry; shown as the job's last error while it waits.
    pub error: Option<String>,
}

/// Everything known about one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    /// The job.
    pub id: JobId,
    /// Its queue.
    pub queue: QueueName,
    /// Where it is.
    pub state: JobState,
    /// Attempts started so far (counted at claim).
    pub attempts: u32,
    /// Attempts allowed; 0 when the record does not say.
    pub max_tries: u32,
    /// Delayed: when it becomes due, milliseconds since the Unix epoch.
    pub due_at_ms: Option<i64>,
    /// Running: its lease deadline, milliseconds since the Unix epoch.
    pub lease_until_ms: Option<i64>,
    /// Running: the worker that reported on it (none until its worker's first
    /// report, a fraction of a second after the start).
    pub worker: Option<String>,
    /// Running: its latest progress.
    pub progress: Option<Progress>,
    /// Running: a cancel was requested and its worker has not stopped it yet.
    pub cancel_requested: bool,
    /// The last attempt's error: a job waiting for a retry, or a failed job.
    pub last_error: Option<String>,
    /// Finished: when, milliseconds since the Unix epoch.
    pub finished_at_ms: Option<i64>,
    /// Succeeded with a kept result ([`JobTracking::job_result`] reads it).
    pub has_result: bool,
}

impl JobStatus {
    /// A status with only the identity, state and attempts set.
    pub fn new(id: JobId, queue: QueueName, state: JobState, attempts: u32) -> Self {
        JobStatus {
            id,
            queue,
            state,
            attempts,
            max_tries: 0,
            due_at_ms: None,
            lease_until_ms: None,
            worker: None,
            progress: None,
            cancel_requested: false,
            last_error: None,
            finished_at_ms: None,
            has_result: false,
        }
    }
}

/// What [`JobTracking::cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelOutcome {
    /// The job was waiting (ready or delayed): it was removed and recorded as
    /// cancelled; it will not run.
    Removed,
    /// The job is running: its worker is asked to stop it
    /// ([`JobTracking::cancel_requests`]), and it will not run again.
    Requested,
    /// The job had already finished in this state; nothing changed.
    AlreadyFinished(JobState),
    /// No such job on this queue (never stored, or finished and forgotten).
    NotFound,
}

/// Job status, progress, results and cancellation: the seventh capability.
///
/// # Contract (checked for every driver by the conformance suite's `tracking` rules)
/// - **Status.** [`job_status`](JobTracking::job_status) reports a stored job as
///   waiting (a chain link or batch callback, see [`Workflows`](crate::Workflows)),
///   delayed, ready or running, and a finished one as succeeded or cancelled while
///   its record is kept. Failed jobs live in the failed store (possibly another
///   backend's); drivers do not report them here.
/// - **Run records.** [`record_runs`](JobTracking::record_runs) writes each
///   report only while its lease is current (stale ones are skipped, not errors).
///   A running job's status shows its latest report's worker and progress; once
///   the job is given back for a retry, it shows the report's error as the last
///   error and no worker or progress. Run records go with their job: nothing of
///   them outlives an ack, a fail, a cancel or a clear.
/// - **Results.** [`ack_and_keep`](JobTracking::ack_and_keep) is an ack (same
///   fencing, unique-lock release and group slot) that also stores a succeeded
///   record, with the result if any, for `keep_for`; the record then expires by
///   itself. A plain [`ack`](crate::JobLifecycle::ack) keeps nothing.
/// - **Cancellation.** [`cancel`](JobTracking::cancel) removes a job not yet
///   started (waiting, ready, delayed, in any group; its uniqueness lock is
///   released; a batch counts it cancelled) and records
///   it as cancelled, or flags a running one. A flagged job never runs again: its
///   worker stops it and calls [`ack_cancelled`](JobTracking::ack_cancelled); a
///   [`release`](crate::JobLifecycle::release) or a
///   [`reclaim_expired`](crate::JobLifecycle::reclaim_expired) of it records it as
///   cancelled instead of making it claimable, and a reclaim does so even when its
///   tries are used up (it is never counted as failed). Cancelled records are kept
///   for [`CANCELLED_KEPT_FOR`].
#[async_trait]
pub trait JobTracking: Send + Sync + fmt::Debug + 'static {
    /// Where job `id` of `queue` is, or `None` when this backend knows nothing of
    /// it (never stored, acknowledged without a kept record, or its record
    /// expired).
    async fn job_status(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<JobStatus>, DriverError>;

    /// The result kept by [`ack_and_keep`](JobTracking::ack_and_keep) (JSON bytes),
    /// or `None` when there is none (no such record, expired, or the job returned
    /// nothing worth keeping).
    async fn job_result(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError>;

    /// Writes running attempts' records (worker, progress, error) in as few round
    /// trips as the backend allows; a report whose lease is no longer current is
    /// skipped.
    async fn record_runs(&self, reports: &[RunReport]) -> Result<(), DriverError>;

    /// Acknowledges a finished job like [`ack`](crate::JobLifecycle::ack) and, in
    /// the same atomic step, keeps a succeeded record with `result` for
    /// `keep_for`. A stale owner gets [`DriverError::LeaseLost`] and nothing is
    /// stored.
    async fn ack_and_keep(
        &self,
        lease: &Lease,
        result: Option<&[u8]>,
        keep_for: Duration,
    ) -> Result<(), DriverError>;

    /// Cancels job `id` of `queue`: see [`CancelOutcome`].
    async fn cancel(&self, queue: &QueueName, id: &JobId) -> Result<CancelOutcome, DriverError>;

    /// Which of these running jobs have a cancel request (in any order). Leases
    /// no longer current are left out.
    async fn cancel_requests(&self, leases: &[Lease]) -> Result<Vec<JobId>, DriverError>;

    /// Removes a running job its worker stopped on a cancel request, and records
    /// it as cancelled (not failed). Fenced by the owner token like an ack.
    async fn ack_cancelled(&self, lease: &Lease) -> Result<(), DriverError>;
}
