//! The relay: committed outbox rows to their Redis queues, exactly once.

use std::future::Future;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use routemq_core::{from_unix_ms, GroupKey, JobId, PendingJob, QueueName};

use crate::{sql, Outbox, OutboxError};

/// The steps of a relay pass, for fault tests: where
/// [`Outbox::relay_pass_stopping_at`] stops, as if the process died there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayStep {
    /// The batch was read; nothing pushed.
    Read,
    /// The batch was pushed to Redis; its rows are still in the outbox.
    Pushed,
    /// The rows were deleted; Redis still remembers their ids as pushed.
    Deleted,
}

/// What one relay pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayPass {
    /// Rows read and deleted.
    pub rows: usize,
    /// Of those, jobs this pass stored in Redis (the rest were repeats of a
    /// pass that died after its push: already there, not stored again).
    pub pushed: usize,
    /// Rows that could not be relayed (an invalid queue name or group written
    /// by hand): left in the outbox, logged, counted in the lag.
    pub skipped: usize,
    /// Another relay held the lock: this pass did nothing.
    pub busy: bool,
}

/// One outbox row as read by a pass.
struct Staged {
    row_id: u64,
    job: Result<PendingJob, String>,
}

/// A row of outbox_batch.sql: id, uuid, queue, payload, max_tries, due_ms,
/// group_key.
type BatchRow = (
    u64,
    String,
    String,
    Vec<u8>,
    u32,
    Option<i64>,
    Option<Vec<u8>>,
);

fn staged(row: BatchRow) -> Staged {
    let (row_id, uuid, queue, payload, max_tries, due_ms, group) = row;
    let job = (|| {
        let queue = QueueName::new(&queue).map_err(|e| format!("queue {queue:?}: {e}"))?;
        let group = group
            .map(|g| {
                String::from_utf8(g)
                    .map_err(|e| e.to_string())
                    .and_then(|g| GroupKey::new(g).map_err(|e| e.to_string()))
            })
            .transpose()
            .map_err(|e| format!("group: {e}"))?;
        Ok(PendingJob {
            id: JobId::from(uuid.as_str()),
            queue,
            payload,
            max_tries,
            available_at: due_ms.map(from_unix_ms),
            group,
        })
    })();
    Staged { row_id, job }
}

impl Outbox {
    /// One relay pass: under the relay lock (a pass of another relay makes
    /// this one return `busy`), the oldest committed rows (up to `batch`) are
    /// pushed to Redis in id order and deleted.
    pub async fn relay_pass(&self) -> Result<RelayPass, OutboxError> {
        self.pass(None).await
    }

    /// A relay pass that stops after `step` as if its process died there: its
    /// connection is dropped without deleting (for `Read`, `Pushed`) and without
    /// giving the lock back (the server frees it with the session). For fault
    /// tests; returns [`OutboxError::Stopped`].
    pub async fn relay_pass_stopping_at(&self, step: RelayStep) -> Result<RelayPass, OutboxError> {
        self.pass(Some(step)).await
    }

    /// Relays until `shutdown` completes: passes back to back while rows
    /// come, pauses from `idle_min` doubling to `idle_max` while the outbox is
    /// empty (or another relay has the lock), and after an error (logged) the
    /// longest pause. A pass in progress when `shutdown` completes is finished
    /// first. Returns the rows relayed.
    pub async fn run_relay(&self, shutdown: impl Future<Output = ()>) -> u64 {
        tokio::pin!(shutdown);
        let mut relayed = 0u64;
        let mut pause = self.config.idle_min;
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => return relayed,
                _ = std::future::ready(()) => {}
            }
            let idle = match self.relay_pass().await {
                Ok(p) => {
                    relayed += p.rows as u64;
                    p.busy || p.rows == 0
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay pass failed; retrying");
                    pause = self.config.idle_max;
                    true
                }
            };
            if !idle {
                pause = self.config.idle_min;
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => return relayed,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(self.config.idle_max.max(self.config.idle_min));
        }
    }

    async fn pass(&self, stop: Option<RelayStep>) -> Result<RelayPass, OutboxError> {
        let mut conn = self.pool.get_conn().await?;
        let taken: Option<Option<i64>> = match conn.query_first(sql::LOCK).await {
            Ok(t) => t,
            Err(e) => {
                drop_session(conn).await;
                return Err(e.into());
            }
        };
        if taken.flatten() != Some(1) {
            return Ok(RelayPass {
                busy: true,
                ..RelayPass::default()
            });
        }
        match self.locked_pass(&mut conn, stop).await {
            Ok(pass) => {
                let _: Option<Option<i64>> = conn.query_first(sql::UNLOCK).await?;
                Ok(pass)
            }
            Err(e) => {
                // The session ends, and the server frees the lock with it.
                drop_session(conn).await;
                Err(e)
            }
        }
    }

    async fn locked_pass(
        &self,
        conn: &mut Conn,
        stop: Option<RelayStep>,
    ) -> Result<RelayPass, OutboxError> {
        let stopped = |at: RelayStep| stop == Some(at);
        let rows: Vec<BatchRow> = conn
            .exec(sql::BATCH, (self.config.batch.max(1) as u64,))
            .await?;
        let mut pass = RelayPass::default();
        let mut ids: Vec<u64> = Vec::with_capacity(rows.len());
        let mut jobs: Vec<PendingJob> = Vec::with_capacity(rows.len());
        for row in rows {
            let s = staged(row);
            match s.job {
                Ok(job) => {
                    ids.push(s.row_id);
                    jobs.push(job);
                }
                Err(why) => {
                    tracing::error!(
                        row = s.row_id,
                        "outbox row cannot be relayed and stays: {why}"
                    );
                    pass.skipped += 1;
                }
            }
        }
        if stopped(RelayStep::Read) {
            return Err(OutboxError::Stopped(RelayStep::Read));
        }
        if !jobs.is_empty() {
            let stored = self.redis.push_once(&jobs, self.config.remember).await?;
            pass.pushed = stored.iter().filter(|s| **s).count();
            if stopped(RelayStep::Pushed) {
                return Err(OutboxError::Stopped(RelayStep::Pushed));
            }
            let params: Vec<Value> = ids.iter().map(|id| Value::from(*id)).collect();
            conn.exec_drop(sql::delete(ids.len()), params).await?;
            pass.rows = ids.len();
            if stopped(RelayStep::Deleted) {
                return Err(OutboxError::Stopped(RelayStep::Deleted));
            }
            // Rows gone: no pass can push them again, so Redis may forget them.
            if let Err(e) = self.redis.forget_pushed(&jobs).await {
                tracing::warn!(error = %e, "could not forget relayed job ids; they expire by age");
            }
            metrics::counter!("routemq_outbox_relayed_total").increment(pass.pushed as u64);
        } else if stopped(RelayStep::Pushed) || stopped(RelayStep::Deleted) {
            return Err(OutboxError::Stopped(stop.unwrap_or(RelayStep::Read)));
        }
        self.record_lag(conn).await;
        Ok(pass)
    }

    /// Sets the lag and backlog gauges (a failure is only logged).
    async fn record_lag(&self, conn: &mut Conn) {
        match conn.query_first::<(u64, Option<i64>), _>(sql::STATUS).await {
            Ok(Some((waiting, lag_us))) => {
                let lag = lag_us.map_or(0.0, |us| us.max(0) as f64 / 1e6);
                metrics::gauge!("routemq_outbox_lag_seconds").set(lag);
                metrics::gauge!("routemq_outbox_waiting").set(waiting as f64);
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "could not read the outbox lag"),
        }
    }
}

/// Ends a session without handing it back to the pool (a pooled session would
/// keep the relay lock).
async fn drop_session(conn: Conn) {
    let _ = conn.disconnect().await;
}
