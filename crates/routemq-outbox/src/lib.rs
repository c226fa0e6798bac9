//! The transactional outbox for Redis queues: a job dispatched inside the
//! application's own MySQL transaction is staged as a row of `queue_outbox`
//! there, and a relay moves committed rows to their Redis queue. A service that
//! writes an order and dispatches "send the confirmation" in one transaction
//! never sends for an order that rolled back, nor loses the job of one that
//! committed.
//!
//! - [`Outbox::stage`] writes the job in the caller's transaction: nothing
//!   exists until it commits.
//! - The relay ([`Outbox::relay_pass`], [`Outbox::run_relay`]) runs one pass at a
//!   time per database (a named server lock), reads committed rows in id order,
//!   pushes them with [`RedisDriver::push_once`] and then deletes them. A relay
//!   that dies after the push and before the delete pushes the same rows again
//!   on its next pass, and `push_once` makes those repeats no-ops (a job id still
//!   stored, or remembered as pushed, is not stored again), so every staged job
//!   reaches its queue exactly once. After the delete the ids are forgotten
//!   again ([`RedisDriver::forget_pushed`]), so Redis remembers only the ids
//!   in flight.
//! - Per queue, jobs reach Redis in id order among the rows committed when a
//!   pass reads them: a transaction that commits later than a pass is relayed
//!   by the next one.
//! - [`Outbox::status`] gives the backlog and the relay lag (the oldest row's
//!   age); the relay also records them as the metrics
//!   `routemq_outbox_lag_seconds`, `routemq_outbox_waiting` and
//!   `routemq_outbox_relayed_total`.
//!
//! The table comes from `routemq-mysql`'s migrations (`0009`), applied with
//! `routemq migrate` or `MysqlDriver::migrate` on the application's database.
//! This crate must not depend on `routemq-mysql` (the application brings its
//! own `mysql_async` pool), the worker or the CLI.

#![warn(missing_docs)]

mod error;
mod relay;
mod sql;

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Pool, Transaction, Value};
use routemq_core::{unix_ms, JobId, JobLifecycle, PendingJob};
use routemq_redis::RedisDriver;

pub use error::OutboxError;
pub use relay::{RelayPass, RelayStep};

/// How the relay runs (defaults in [`RelayConfig::default`]).
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows per pass (default 500).
    pub batch: usize,
    /// The idle relay's first pause between empty passes (default 10 ms); it
    /// doubles up to [`idle_max`](Self::idle_max) while the outbox stays empty.
    pub idle_min: Duration,
    /// The longest pause between empty passes (default 200 ms): the relay lag
    /// of a job staged into an idle outbox is at most about this.
    pub idle_max: Duration,
    /// How long Redis remembers a pushed id whose row could not be deleted
    /// (default 24 h): a relay that cannot reach MySQL for longer than this
    /// after a push could push those jobs a second time.
    pub remember: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch: 500,
            idle_min: Duration::from_millis(10),
            idle_max: Duration::from_millis(200),
            remember: Duration::from_secs(24 * 3600),
        }
    }
}

/// The outbox's backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStatus {
    /// Rows committed and not yet relayed.
    pub waiting: u64,
    /// The oldest waiting row's age: the relay lag (`None` when empty).
    pub lag: Option<Duration>,
}

/// The outbox of one application database, relaying to one Redis.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: Pool,
    redis: RedisDriver,
    config: RelayConfig,
}

impl Outbox {
    /// The outbox in `pool`'s database (its `queue_outbox` table migrated),
    /// relaying to `redis`.
    pub fn new(pool: Pool, redis: RedisDriver) -> Self {
        Outbox {
            pool,
            redis,
            config: RelayConfig::default(),
        }
    }

    /// Replaces the relay settings.
    pub fn with_config(mut self, config: RelayConfig) -> Self {
        self.config = config;
        self
    }

    /// The relay settings.
    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// Stages `job` in `tx`, the caller's transaction on the outbox's
    /// database: the relay sees it (and pushes it to its Redis queue) only once
    /// `tx` commits; a rollback, or a transaction dropped uncommitted, leaves
    /// nothing. Build `job` with `Queue::pending` (any driver's `Queue` will
    /// do: it only encodes).
    ///
    /// ```no_run
    /// # async fn f(outbox: routemq_outbox::Outbox, pool: mysql_async::Pool,
    /// #            job: routemq_core::PendingJob) -> Result<(), Box<dyn std::error::Error>> {
    /// use mysql_async::prelude::Queryable;
    /// let mut conn = pool.get_conn().await?;
    /// let mut tx = conn.start_transaction(Default::default()).await?;
    /// tx.exec_drop("INSERT INTO orders (id) VALUES (?)", (42,)).await?;
    /// outbox.stage(&mut tx, job).await?;
    /// tx.commit().await?; // the order and its job, or neither
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`OutboxError::Driver`] (`PayloadTooLarge`) before anything is written
    /// when the payload is over the Redis driver's limit;
    /// [`OutboxError::Mysql`] when the insert fails (roll the transaction back).
    pub async fn stage(
        &self,
        tx: &mut Transaction<'_>,
        job: PendingJob,
    ) -> Result<JobId, OutboxError> {
        let mut ids = self.stage_bulk(tx, vec![job]).await?;
        Ok(ids.remove(0))
    }

    /// [`stage`](Self::stage) for several jobs, in order; all are checked
    /// before any is written.
    pub async fn stage_bulk(
        &self,
        tx: &mut Transaction<'_>,
        jobs: Vec<PendingJob>,
    ) -> Result<Vec<JobId>, OutboxError> {
        let limit = self.redis.max_payload_bytes();
        for job in &jobs {
            job.check_size(limit, "redis")?;
        }
        let mut ids = Vec::with_capacity(jobs.len());
        for job in jobs {
            let params: Vec<Value> = vec![
                job.id.as_str().into(),
                job.queue.as_str().into(),
                Value::Bytes(job.payload),
                job.max_tries.max(1).into(),
                job.available_at.map(unix_ms).into(),
                job.group
                    .as_ref()
                    .map(|g| g.as_str().as_bytes().to_vec())
                    .into(),
            ];
            tx.exec_drop(sql::STAGE, params).await?;
            ids.push(job.id);
        }
        Ok(ids)
    }

    /// The backlog and the relay lag.
    pub async fn status(&self) -> Result<OutboxStatus, OutboxError> {
        let mut conn = self.pool.get_conn().await?;
        let row: Option<(u64, Option<i64>)> = conn.query_first(sql::STATUS).await?;
        let (waiting, lag_us) = row.unwrap_or((0, None));
        Ok(OutboxStatus {
            waiting,
            lag: lag_us.map(|us| Duration::from_micros(us.max(0) as u64)),
        })
    }
}
