//! The contract every storage backend implements, split by capability:
//!
//! | trait | what it covers | conformance rules |
//! |---|---|---|
//! | [`JobLifecycle`] | push, claim, wait, ack, release, fail, extend, reclaim | `conformance::lifecycle` |
//! | [`FailedStore`] | failed list / show / retry / forget / flush / prune | `conformance::failed_store` |
//! | [`QueueAdmin`] | stats, known queues, clear, pause / resume | `conformance::admin` |
//! | [`WorkerRegistry`] | worker heartbeats | `conformance::worker_registry` |
//! | [`ScheduleStore`] | recurring jobs: schedules, their state, firing a tick | `conformance::schedule_store` |
//! | [`RateLimits`] | per-queue rate limits and holds | `conformance::rate_limits` |
//! | [`JobTracking`] | job status, progress, kept results, cancellation | `conformance::tracking` |
//! | [`Workflows`] | chains and batches | `conformance::workflows` |
//! | [`History`] | per-minute processed / failed / retried counts | `conformance::history` |
//! | [`JobListing`] | a queue's jobs by state, a page at a time | `conformance::listing` |
//!
//! [`Driver`] is all of them together; it is implemented automatically for every type
//! that implements them, and `Arc<dyn Driver>` coerces to `Arc<dyn FailedStore>`
//! (or any other part) where only one capability is needed.

mod admin;
mod failed_store;
mod history;
mod lifecycle;
mod listing;
mod rate_limits;
mod schedule_store;
mod tracking;
mod worker_registry;
mod workflows;

pub use admin::{QueueAdmin, QueueStats};
pub use failed_store::{FailedJob, FailedQuery, FailedStore};
pub use history::{
    merge_deltas, unix_minute, History, HistoryCounts, HistoryDelta, MinuteCounts, UnixMinute,
    HISTORY_KEPT_FOR,
};
pub use lifecycle::{
    wait_then_claim, AckOutcome, JobLifecycle, Lease, LeaseToken, PendingJob, ReclaimReport,
    Reservation,
};
pub use listing::{JobListing, JobSummary, ListPage, MAX_LIST_PAGE};
pub use rate_limits::{
    checked_group_concurrency, RateLimit, RateLimitError, RateLimits, MAX_GROUP_CONCURRENCY,
};
pub use schedule_store::{FireOutcome, ScheduleStore, Tick, UpsertOutcome};
pub(crate) use tracking::cut;
pub use tracking::{
    CancelOutcome, JobState, JobStatus, JobTracking, Progress, RunReport, CANCELLED_KEPT_FOR,
    MAX_PROGRESS_MESSAGE, MAX_RUN_ERROR,
};
pub use worker_registry::{WorkerInfo, WorkerRegistry};
pub use workflows::{
    check_workflow_jobs, BatchId, BatchInfo, BatchPlan, ChainPlan, Workflows, BATCH_KEPT_FOR,
};

/// A complete storage backend: every capability of the contract.
///
/// Never implemented by hand: the blanket implementation covers every type that
/// implements [`JobLifecycle`], [`FailedStore`], [`QueueAdmin`],
/// [`WorkerRegistry`], [`ScheduleStore`], [`RateLimits`], [`JobTracking`], [`Workflows`],
/// [`History`] and [`JobListing`]. The worker and the CLI hold an `Arc<dyn Driver>`; bring
/// the capability traits into scope (`use routemq_core::prelude::*`) to call them.
pub trait Driver:
    JobLifecycle
    + FailedStore
    + QueueAdmin
    + WorkerRegistry
    + ScheduleStore
    + RateLimits
    + JobTracking
    + Workflows
    + History
    + JobListing
{
}

impl<T> Driver for T where
    T: JobLifecycle
        + FailedStore
        + QueueAdmin
        + WorkerRegistry
        + ScheduleStore
        + RateLimits
        + JobTracking
        + Workflows
        + History
        + JobListing
        + ?Sized
{
}
