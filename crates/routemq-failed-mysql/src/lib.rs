//! The database failed store of Redis queues — RouteMQ's "even if using Redis,
//! keep failed jobs in database": failed jobs of Redis queues end up in MySQL's
//! `queue_failed_jobs` (with `connection = 'redis'`), where an operator's SQL
//! and the 30-day prune cover every failure.
//!
//! Two stores cannot change in one transaction, so a failure travels in steps,
//! each one safe to repeat:
//!
//! 1. Failing stays one fenced Redis script (`fail.lua`, `reclaim.lua`): only
//!    the job's current owner (or the reclaim of an expired lease) writes the
//!    Redis failed list, so a stale owner can never create a failed record for a
//!    job another worker owns.
//! 2. A *move* ([`DatabaseFailedStore::move_failures`]; every `routemq work` runs
//!    one a second, and every failed-store read runs one first) copies the
//!    oldest Redis records into MySQL with an idempotent insert (the job id is
//!    unique there), then deletes them from Redis. A mover that dies between the
//!    two leaves the record in both until the next move, whose insert adds
//!    nothing and whose delete finishes the job: never in neither, never for
//!    good in both.
//! 3. A *retry* ([`FailedStore::failed_retry`](routemq_core::FailedStore::failed_retry)) marks the row with a retry token
//!    (under its row lock), pushes the job back to its Redis queue with
//!    [`RedisDriver::push_once_marked`] under that token (a repeat is a no-op),
//!    then deletes the row while it still carries the token. A retry that dies
//!    between the steps leaves a marked row, which the next move finishes after
//!    [`HandoffConfig::retry_grace`].
//!
//! Rows of the database driver's own queues (`connection = 'database'`) are
//! listed, shown, forgotten, flushed, pruned and retried by `MysqlDriver`'s
//! own failed store, unchanged.
//!
//! This crate must not depend on the worker or the CLI.

#![warn(missing_docs)]

mod mover;
mod store;

use std::time::Duration;

use routemq_core::DriverError;
use routemq_mysql::MysqlDriver;
use routemq_redis::RedisDriver;

pub use mover::MovePass;

/// The `connection` of the rows this store moves and retries.
pub const CONNECTION: &str = "redis";

/// How the store moves and retries (defaults in [`HandoffConfig::default`]).
#[derive(Debug, Clone)]
pub struct HandoffConfig {
    /// Records per Redis read and MySQL transaction of a move (default 200).
    pub batch: usize,
    /// How long a marked retry may be unfinished before a move finishes it
    /// (default 5 s).
    pub retry_grace: Duration,
    /// How long Redis remembers a retried job's push under its token (default
    /// 24 h): a retry left unfinished longer than this could push twice.
    pub remember: Duration,
    /// The pause between two moves of [`DatabaseFailedStore::run_mover`]
    /// (default 1 s).
    pub interval: Duration,
}

impl Default for HandoffConfig {
    fn default() -> Self {
        HandoffConfig {
            batch: 200,
            retry_grace: Duration::from_secs(5),
            remember: Duration::from_secs(24 * 3600),
            interval: Duration::from_secs(1),
        }
    }
}

/// The steps of a move and of a retry, for fault tests: where the
/// `*_stopping_at` calls stop, as if the process died there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffStep {
    /// A move stored a batch in MySQL; the records are still in Redis.
    Stored,
    /// A retry marked the row; nothing pushed yet.
    RetryMarked,
    /// A retry pushed the job back to Redis; the row is still there.
    RetryPushed,
}

/// A move or retry that failed, or a fault test's stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandoffError {
    /// A store failed.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// A fault test stopped here.
    #[error("stopped after {0:?}")]
    Stopped(HandoffStep),
}

/// The failed store of Redis queues in MySQL (see the crate docs).
#[derive(Debug, Clone)]
pub struct DatabaseFailedStore {
    redis: RedisDriver,
    mysql: MysqlDriver,
    config: HandoffConfig,
}

impl DatabaseFailedStore {
    /// Failed jobs of `redis`'s queues kept in `mysql`'s `queue_failed_jobs`
    /// (its migrations applied).
    pub fn new(redis: RedisDriver, mysql: MysqlDriver) -> Self {
        DatabaseFailedStore {
            redis,
            mysql,
            config: HandoffConfig::default(),
        }
    }

    /// Replaces the settings.
    pub fn with_config(mut self, config: HandoffConfig) -> Self {
        self.config = config;
        self
    }

    /// Failed jobs of Redis queues per queue (after a move), for `stats`.
    pub async fn failed_counts(&self) -> Result<Vec<(String, u64)>, DriverError> {
        self.move_failures().await?;
        self.mysql.handed_over_counts(CONNECTION).await
    }
}
