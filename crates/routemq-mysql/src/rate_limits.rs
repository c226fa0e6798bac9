//! [`RateLimits`] for [`MysqlDriver`] (rows of `queue_rate_limits`), and the
//! parts of a claim and of the idle wait that keep them: locking the limiter
//! rows, counting and logging the window (`queue_rate_starts`), and how long a
//! full window or a hold keeps a queue closed.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Transaction, Value};
use routemq_core::{DriverError, QueueName, RateLimit, RateLimits};

use crate::driver::MysqlDriver;
use crate::error::{map, NAME};
use crate::sql;
use crate::time::micros;

/// Window rows a claim prunes at most (the rest go with later claims).
const PRUNE_CHUNK: u64 = 1_000;

/// A locked limiter row, as the claim sees it.
pub(crate) struct Gate {
    limit: Option<(u32, u64)>,
    held: bool,
}

/// What a claim may take from one queue.
pub(crate) enum Room {
    /// Held: nothing.
    Held,
    /// No limit (only a hold, passed).
    Unlimited,
    /// `left` jobs; their starts are logged at `now` (the server's, as a value).
    Window {
        now: Value,
        left: usize,
        per_ms: u64,
    },
}

/// Locks the limiter rows of `queues` that the cached `gated` list names (and
/// `paused` does not), in queue order; deletes rows that only held a hold that
/// has passed (the flag says so: the caller forgets the cached list).
pub(crate) async fn lock_gates(
    tx: &mut Transaction<'_>,
    queues: &[QueueName],
    paused: &[String],
    gated: &[String],
) -> Result<(HashMap<String, Gate>, bool), mysql_async::Error> {
    let mut names: Vec<&str> = queues
        .iter()
        .map(QueueName::as_str)
        .filter(|q| gated.iter().any(|g| g == q) && !paused.iter().any(|p| p == q))
        .collect();
    let mut gates = HashMap::new();
    if names.is_empty() {
        return Ok((gates, false));
    }
    names.sort_unstable();
    names.dedup();
    let (stmt, padded) = sql::rate_lock(names.len());
    let params: Vec<Value> = names.iter().map(|q| Value::from(*q)).collect();
    type Row = (String, Option<u32>, Option<u64>, i64, i64);
    let rows: Vec<Row> = tx.exec(stmt, sql::pad(params, padded)).await?;
    let mut spent_any = false;
    for (queue, jobs, per_ms, held, spent) in rows {
        if spent == 1 {
            tx.exec_drop(sql::RATE_SPENT, (queue.as_str(),)).await?;
            spent_any = true;
            continue;
        }
        let limit = jobs.zip(per_ms);
        gates.insert(
            queue,
            Gate {
                limit,
                held: held == 1,
            },
        );
    }
    Ok((gates, spent_any))
}

/// How many jobs the claim may take from `queue` under its locked `gate`.
pub(crate) async fn room(
    tx: &mut Transaction<'_>,
    queue: &QueueName,
    gate: &Gate,
) -> Result<Room, mysql_async::Error> {
    if gate.held {
        return Ok(Room::Held);
    }
    let Some((jobs, per_ms)) = gate.limit else {
        return Ok(Room::Unlimited);
    };
    let row: Option<(Value, u64)> = tx
        .exec_first(sql::RATE_WINDOW, (queue.as_str(), per_ms * 1000))
        .await?;
    let (now, count) = row.unwrap_or((Value::NULL, 0));
    Ok(Room::Window {
        now,
        left: (jobs as u64).saturating_sub(count) as usize,
        per_ms,
    })
}

/// Logs `n` starts of `queue` at `now` and prunes the starts that left the
/// window.
pub(crate) async fn record(
    tx: &mut Transaction<'_>,
    queue: &QueueName,
    now: &Value,
    n: usize,
    per_ms: u64,
) -> Result<(), mysql_async::Error> {
    let mut params = Vec::with_capacity(n * 2);
    for _ in 0..n {
        params.push(Value::from(queue.as_str()));
        params.push(now.clone());
    }
    tx.exec_drop(sql::rate_record(n), params).await?;
    tx.exec_drop(
        sql::RATE_PRUNE,
        (queue.as_str(), per_ms * 1000, PRUNE_CHUNK),
    )
    .await
}

/// Microseconds until a claim may take jobs of `queue` again (its hold ends
/// and its window has room); 0 when it may now.
pub(crate) async fn opens_in(conn: &mut Conn, queue: &QueueName) -> Result<i64, DriverError> {
    let q = queue.as_str();
    let gate: Option<(Option<i64>, Option<u32>, Option<u64>)> =
        conn.exec_first(sql::RATE_GATE, (q,)).await.map_err(map)?;
    let Some((held_us, jobs, per_ms)) = gate else {
        return Ok(0);
    };
    let mut wait = held_us.unwrap_or(0).max(0);
    if let (Some(jobs), Some(per_ms)) = (jobs, per_ms) {
        let per_us = per_ms * 1000;
        let open: Option<i64> = conn
            .exec_first(
                sql::RATE_OPEN,
                (per_us, q, per_us, u64::from(jobs.saturating_sub(1))),
            )
            .await
            .map_err(map)?;
        wait = wait.max(open.unwrap_or(0));
    }
    Ok(wait)
}

/// The stored limit of a row, checked.
fn stored(jobs: u32, per_ms: u64) -> Result<RateLimit, DriverError> {
    RateLimit::new(jobs, Duration::from_millis(per_ms)).map_err(|e| DriverError::Corrupt {
        driver: NAME,
        detail: format!("queue_rate_limits holds a limit no driver can keep: {e}"),
    })
}

impl MysqlDriver {
    /// The stored limit of `queue`, for stats.
    pub(crate) async fn rate_limit_of(
        &self,
        conn: &mut Conn,
        queue: &QueueName,
    ) -> Result<Option<RateLimit>, DriverError> {
        let row: Option<(u32, u64)> = conn
            .exec_first(sql::RATE_LIMIT_GET, (queue.as_str(),))
            .await
            .map_err(map)?;
        row.map(|(jobs, per_ms)| stored(jobs, per_ms)).transpose()
    }
}

#[async_trait]
impl RateLimits for MysqlDriver {
    /// One upsert into `queue_rate_limits`, then wakes this process's waiters
    /// (a higher limit may open the window at once).
    async fn set_rate_limit(&self, queue: &QueueName, limit: RateLimit) -> Result<(), DriverError> {
        let limit = limit.validated()?;
        let params = vec![
            Value::from(queue.as_str()),
            Value::from(limit.jobs),
            Value::from(limit.per_ms()),
        ];
        self.single(sql::RATE_LIMIT_SET, params).await?;
        self.forget_gated();
        self.wake_local();
        Ok(())
    }

    async fn rate_limits(&self) -> Result<Vec<(QueueName, RateLimit)>, DriverError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, u32, u64)> = conn.query(sql::RATE_LIMITS).await.map_err(map)?;
        let mut out = Vec::with_capacity(rows.len());
        for (queue, jobs, per_ms) in rows {
            if let Ok(q) = QueueName::new(queue) {
                out.push((q, stored(jobs, per_ms)?));
            }
        }
        Ok(out)
    }

    /// Deletes the queue's row, then its window rows in chunks.
    async fn clear_rate_limit(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let q = queue.as_str();
        let changed = self.single(sql::RATE_CLEAR, vec![q.into()]).await?;
        self.forget_gated();
        self.delete_in_chunks(sql::RATE_STARTS_CLEAR, vec![q.into()])
            .await?;
        if changed > 0 {
            self.wake_local();
        }
        Ok(changed > 0)
    }

    async fn hold_queue(&self, queue: &QueueName, duration: Duration) -> Result<(), DriverError> {
        let params = vec![Value::from(queue.as_str()), Value::from(micros(duration))];
        self.single(sql::RATE_HOLD, params).await?;
        self.forget_gated();
        Ok(())
    }
}
