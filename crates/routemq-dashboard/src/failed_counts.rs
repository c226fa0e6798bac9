//! [`FailedCounts`]: per-queue counts of a failed store kept apart from the
//! driver, so the queue counts show its failed jobs rather than the driver's
//! own (empty) failed store.

use std::fmt;

use routemq_core::DriverError;

/// How many failed jobs each queue has in a failed store that is not the
/// driver's own (the database failed store of Redis queues, for instance).
/// Give it with [`Dashboard::with_failed_counts`](crate::Dashboard::with_failed_counts);
/// without it the counts come from the driver's `stats`.
#[routemq_core::async_trait]
pub trait FailedCounts: Send + Sync + fmt::Debug + 'static {
    /// `(queue, failed jobs)` for every queue that has any.
    async fn failed_counts(&self) -> Result<Vec<(String, u64)>, DriverError>;
}
