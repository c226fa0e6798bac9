//! The failed store: jobs that used up their tries, failed fatally, or could not be
//! decoded, kept with the reason until an operator retries, forgets or prunes them.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::{DriverError, GroupKey, JobId, QueueName};

/// A job in the failed store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedJob {
    /// The job's id (unique in the failed store).
    pub id: JobId,
    /// The driver's connection name (`redis`, `database`, `memory`).
    pub connection: String,
    /// The queue it failed on.
    pub queue: String,
    /// The stored payload, byte for byte.
    pub payload: Vec<u8>,
    /// Why it failed: the last error, panic message, timeout or decode problem.
    pub exception: String,
    /// When it failed.
    pub failed_at: SystemTime,
    /// Its fair group (`None`: ungrouped): a retry puts it back in this group.
    pub group: Option<GroupKey>,
}

/// Which failed jobs to list: newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedQuery {
    /// Only this queue; `None` = all queues.
    pub queue: Option<QueueName>,
    /// Skip this many (newest first).
    pub offset: usize,
    /// Return at most this many.
    pub limit: usize,
}

impl Default for FailedQuery {
    fn default() -> Self {
        FailedQuery {
            queue: None,
            offset: 0,
            limit: 100,
        }
    }
}
/// Where failed jobs are kept, and the operator's verbs on them
/// (`routemq failed list|show|retry|forget|flush|prune`).
///
/// A failed store is a value of its own (`Arc<dyn FailedStore>`): every driver
/// implements it over its own storage, and the CLI composes the store it shows
/// separately from the driver that runs the jobs, so a queue can be given a store
/// in another backend.
#[async_trait]
pub trait FailedStore: Send + Sync + fmt::Debug + 'static {
    /// Failed jobs, newest first.
    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError>;

    /// One failed job.
    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError>;

    /// Moves a failed job back to its queue (and its group), claimable at once
    /// with attempts reset, atomically (a crash cannot leave it in both places or neither). `false` when
    /// no such failed job exists.
    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError>;

    /// Deletes a failed job; `false` when no such failed job exists.
    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError>;

    /// Deletes every failed job, or those of one queue; returns how many.
    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError>;

    /// Deletes failed jobs that failed before `cutoff`; returns how many.
    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError>;
}
