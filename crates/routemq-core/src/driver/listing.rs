//! Browsing a queue: the jobs in one state, a page at a time, and the stored
//! envelope of one job (the dashboard's queue and job pages).

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{DriverError, JobId, JobState, QueueName};

/// The most jobs one [`JobListing::list_jobs`] call returns.
pub const MAX_LIST_PAGE: usize = 500;

/// One line of a queue listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The job.
    pub id: JobId,
    /// Its state: the state that was asked for.
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: u32,
    /// Delayed (and waiting, where known): when it becomes due; ready: when it
    /// became available. Milliseconds since the Unix epoch.
    pub due_at_ms: Option<i64>,
    /// Running: its lease deadline, milliseconds since the Unix epoch.
    pub lease_until_ms: Option<i64>,
    /// The stored envelope ([`Envelope::encode`](crate::Envelope::encode)'s bytes),
    /// from which a viewer reads the job's name, creation time and data. Empty
    /// when the backend lost it (a corrupt or missing payload is shown, not
    /// skipped).
    pub envelope: Vec<u8>,
}

/// Which jobs of a queue to list ([`JobListing::list_jobs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListPage {
    /// [`JobState::Ready`], [`JobState::Delayed`], [`JobState::Running`] or
    /// [`JobState::Waiting`]; any other state is a [`DriverError::InvalidArgument`] naming it
    /// (its [`JobState::as_str`] name is in the message).
    pub state: JobState,
    /// How many jobs of the listing to skip.
    pub offset: u64,
    /// How many to return, at most [`MAX_LIST_PAGE`] (more is cut to it).
    pub limit: usize,
}

/// Listing the jobs of a queue by state: the tenth capability.
///
/// # Contract (checked for every driver by the conformance suite's `listing` rules)
/// - [`list_jobs`](JobListing::list_jobs) lists the jobs of one queue that are in
///   the page's state, in a stable order, skipping `offset` and returning at most
///   `limit`:
///   - ready: in the order they would be claimed for an ungrouped queue (oldest
///     first); grouped jobs follow, lane by lane;
///   - delayed: soonest due first;
///   - running: soonest lease deadline first;
///   - waiting (chain links and batch callbacks): oldest first.
/// - Each summary carries the job's envelope bytes as stored, so the caller can
///   show its name and data without a second read.
/// - The cost is bounded by `offset + limit`, never by the queue's length (no full
///   scan): the first page of a queue of a million jobs answers as fast as that of
///   a queue of ten.
/// - Listing changes nothing (no claim, no lease, no counter).
#[async_trait]
pub trait JobListing: Send + Sync + fmt::Debug + 'static {
    /// One page of `queue`'s jobs in `page.state` (see the contract).
    async fn list_jobs(
        &self,
        queue: &QueueName,
        page: ListPage,
    ) -> Result<Vec<JobSummary>, DriverError>;

    /// The stored envelope bytes of job `id` of `queue` while the job is stored
    /// (waiting, delayed, ready or running), `None` otherwise. Failed jobs are read
    /// from the failed store.
    async fn job_envelope(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError>;
}
