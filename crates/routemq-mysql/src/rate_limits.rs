//! [`RateLimits`] for [`MysqlDriver`] (rows of `queue_rate_limits`, group
//! holds in `queue_group_holds`), and the parts of a claim and of the idle wait
//! that keep them: locking the limiter rows, counting and logging the windows
//! (`queue_rate_starts`, per lane under a per-group limit), and how long a full
//! window, a hold or a capped group keeps a queue (or all its lanes) closed.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Transaction, TxOpts, Value};
use routemq_core::{
    checked_group_concurrency, DriverError, GroupKey, QueueName, RateLimit, RateLimits,
};

use crate::driver::{MysqlDriver, OpError};
use crate::error::{map, NAME};
use crate::sql;
use crate::time::micros;

/// Window rows a claim prunes at most (the rest go with later claims).
const PRUNE_CHUNK: u64 = 1_000;

/// Lanes of the rotation the idle wait looks at (the claim's `LANES`).
const WAIT_LANES: u64 = 64;

/// The queues with a limiter row (a rate limit, a group concurrency cap or a
/// hold of the queue or of one of its groups), as the driver caches them.
#[derive(Debug, Default)]
pub(crate) struct GatedQueues {
    /// Every such queue, sorted.
    pub(crate) names: Vec<String>,
    /// Those with a group concurrency cap: ending one of their jobs wakes
    /// this process's waiters (a capped group may deliver again).
    pub(crate) capped: Vec<String>,
}

/// A locked limiter row, as the claim sees it.
pub(crate) struct Gate {
    limit: Option<(u32, u64)>,
    per_group: bool,
    cap: Option<u32>,
    held: bool,
    group_held: bool,
}

/// What the grouped claim checks per lane of a queue with per-group controls.
#[derive(Debug, Clone)]
pub(crate) struct LaneRules {
    /// A group of the queue is held: look up each group's hold.
    pub(crate) holds: bool,
    /// A per-group limit: (jobs, window in microseconds) per lane.
    pub(crate) window: Option<(u32, u64)>,
    /// The group concurrency cap.
    pub(crate) cap: Option<u32>,
    /// Under a per-group limit: what the ungrouped lane's window still allows.
    pub(crate) ungrouped_left: Option<usize>,
}

/// What a claim may take from one queue.
pub(crate) enum Room {
    /// Held: nothing.
    Held,
    /// Open, within these bounds.
    Open {
        /// A queue-wide window's room (`None`: no queue-wide window).
        left: Option<usize>,
        /// Where the starts are logged: the server's now (as a value) and the
        /// window in ms (`None`: no limit, nothing logged).
        window: Option<(Value, u64)>,
        /// Per-lane checks (`None`: the queue has no per-group controls).
        lanes: Option<LaneRules>,
    },
}

/// Locks the limiter rows of `queues` that the cached `gated` list names (and
/// `paused` does not), in queue order; deletes rows that only held holds that
/// have passed (the flag says so: the caller forgets the cached list).
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
    type Row = (
        String,
        Option<u32>,
        Option<u64>,
        u8,
        Option<u32>,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = tx.exec(stmt, sql::pad(params, padded)).await?;
    let mut spent_any = false;
    for (queue, jobs, per_ms, per_group, cap, held, group_held, spent) in rows {
        if spent == 1 && group_held == 0 {
            tx.exec_drop(sql::RATE_SPENT, (queue.as_str(), queue.as_str()))
                .await?;
            tx.exec_drop(sql::GROUP_HOLDS_SPENT, (queue.as_str(),))
                .await?;
            spent_any = true;
            continue;
        }
        gates.insert(
            queue,
            Gate {
                limit: jobs.zip(per_ms),
                per_group: per_group != 0,
                cap,
                held: held == 1,
                group_held: group_held == 1,
            },
        );
    }
    Ok((gates, spent_any))
}

/// How many jobs the claim may take from `queue` under its locked `gate`, and
/// what it must check per lane.
pub(crate) async fn room(
    tx: &mut Transaction<'_>,
    queue: &QueueName,
    gate: &Gate,
) -> Result<Room, mysql_async::Error> {
    if gate.held {
        return Ok(Room::Held);
    }
    let lanes = (gate.per_group && gate.limit.is_some()) || gate.cap.is_some() || gate.group_held;
    let mut rules = lanes.then_some(LaneRules {
        holds: gate.group_held,
        window: None,
        cap: gate.cap,
        ungrouped_left: None,
    });
    let Some((jobs, per_ms)) = gate.limit else {
        return Ok(Room::Open {
            left: None,
            window: None,
            lanes: rules,
        });
    };
    let per_us = per_ms * 1000;
    if gate.per_group {
        // The ungrouped lane's window; each group's is counted by the claim.
        let row: Option<(Value, u64)> = tx
            .exec_first(sql::RATE_LANE_WINDOW, (queue.as_str(), "", per_us))
            .await?;
        let (now, count) = row.unwrap_or((Value::NULL, 0));
        if let Some(r) = rules.as_mut() {
            r.window = Some((jobs, per_us));
            r.ungrouped_left = Some((jobs as u64).saturating_sub(count) as usize);
        }
        return Ok(Room::Open {
            left: None,
            window: Some((now, per_ms)),
            lanes: rules,
        });
    }
    let row: Option<(Value, u64)> = tx
        .exec_first(sql::RATE_WINDOW, (queue.as_str(), per_us))
        .await?;
    let (now, count) = row.unwrap_or((Value::NULL, 0));
    Ok(Room::Open {
        left: Some((jobs as u64).saturating_sub(count) as usize),
        window: Some((now, per_ms)),
        lanes: rules,
    })
}

/// Logs the starts of `queue`'s claimed jobs at `now`, one per entry of
/// `lanes` (each job's group, `None` = ungrouped), and prunes the starts that
/// left the window.
pub(crate) async fn record(
    tx: &mut Transaction<'_>,
    queue: &QueueName,
    now: &Value,
    lanes: &[Option<&[u8]>],
    per_ms: u64,
) -> Result<(), mysql_async::Error> {
    let mut params = Vec::with_capacity(lanes.len() * 3);
    for lane in lanes {
        params.push(Value::from(queue.as_str()));
        params.push(Value::Bytes(lane.unwrap_or_default().to_vec()));
        params.push(now.clone());
    }
    tx.exec_drop(sql::rate_record(lanes.len()), params).await?;
    tx.exec_drop(
        sql::RATE_PRUNE,
        (queue.as_str(), per_ms * 1000, PRUNE_CHUNK),
    )
    .await
}

/// Microseconds until a claim may take jobs of `queue` again (its hold ends
/// and its window has room; with per-group controls, until one of its lanes
/// may deliver); 0 when it may now. `None` when no lane with jobs is due (a
/// capped group only opens when one of its jobs ends). `ready_us` is the
/// queue's own next due time (see `next_due`).
pub(crate) async fn opens_in(
    conn: &mut Conn,
    queue: &QueueName,
    ready_us: i64,
) -> Result<Option<i64>, DriverError> {
    let q = queue.as_str();
    type GateRow = (
        Option<i64>,
        Option<u32>,
        Option<u64>,
        Option<u8>,
        Option<u32>,
        Option<i64>,
    );
    let gate: Option<GateRow> = conn.exec_first(sql::RATE_GATE, (q,)).await.map_err(map)?;
    let Some((held_us, jobs, per_ms, per_group, cap, group_held)) = gate else {
        return Ok(Some(ready_us));
    };
    let per_group = per_group.unwrap_or(0) != 0 && jobs.is_some();
    let mut wait = held_us.unwrap_or(0).max(0);
    if let (Some(jobs), Some(per_ms), false) = (jobs, per_ms, per_group) {
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
    if !per_group && cap.is_none() && group_held.unwrap_or(0) == 0 {
        return Ok(Some(wait.max(ready_us)));
    }
    let (per_us, skip) = match (jobs, per_ms, per_group) {
        (Some(jobs), Some(per_ms), true) => (per_ms * 1000, u64::from(jobs.saturating_sub(1))),
        _ => (0, 0),
    };
    let params: Vec<Value> = vec![
        per_us.into(),
        per_us.into(),
        skip.into(),
        q.into(),
        WAIT_LANES.into(),
        cap.into(),
        cap.into(),
        q.into(),
        per_us.into(),
        q.into(),
        per_us.into(),
        skip.into(),
    ];
    let lanes: Option<Option<i64>> = conn.exec_first(sql::LANE_DUE, params).await.map_err(map)?;
    Ok(lanes.flatten().map(|us| us.max(wait)))
}

/// The stored limit of a row, checked.
fn stored(jobs: u32, per_ms: u64, per_group: u8) -> Result<RateLimit, DriverError> {
    let limit =
        RateLimit::new(jobs, Duration::from_millis(per_ms)).map_err(|e| DriverError::Corrupt {
            driver: NAME,
            detail: format!("queue_rate_limits holds a limit no driver can keep: {e}"),
        })?;
    Ok(if per_group != 0 {
        limit.per_group()
    } else {
        limit
    })
}

impl MysqlDriver {
    /// The stored limit of `queue`, for stats.
    pub(crate) async fn rate_limit_of(
        &self,
        conn: &mut Conn,
        queue: &QueueName,
    ) -> Result<Option<RateLimit>, DriverError> {
        let row: Option<(u32, u64, u8)> = conn
            .exec_first(sql::RATE_LIMIT_GET, (queue.as_str(),))
            .await
            .map_err(map)?;
        row.map(|(jobs, per_ms, per_group)| stored(jobs, per_ms, per_group))
            .transpose()
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
            Value::from(u8::from(limit.per_group)),
        ];
        self.single(sql::RATE_LIMIT_SET, params).await?;
        self.forget_gated();
        self.wake_local();
        Ok(())
    }

    async fn rate_limits(&self) -> Result<Vec<(QueueName, RateLimit)>, DriverError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, u32, u64, u8)> = conn.query(sql::RATE_LIMITS).await.map_err(map)?;
        let mut out = Vec::with_capacity(rows.len());
        for (queue, jobs, per_ms, per_group) in rows {
            if let Ok(q) = QueueName::new(queue) {
                out.push((q, stored(jobs, per_ms, per_group)?));
            }
        }
        Ok(out)
    }

    /// One upsert of the queue's row's cap; the running jobs are counted from
    /// `queue_jobs` by each claim, so jobs already running count at once.
    async fn set_group_concurrency(&self, queue: &QueueName, cap: u32) -> Result<(), DriverError> {
        let cap = checked_group_concurrency(cap)?;
        self.single(
            sql::RATE_CAP_SET,
            vec![Value::from(queue.as_str()), Value::from(cap)],
        )
        .await?;
        self.forget_gated();
        self.wake_local();
        Ok(())
    }

    async fn group_concurrency_limits(&self) -> Result<Vec<(QueueName, u32)>, DriverError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, u32)> = conn.query(sql::RATE_CAPS).await.map_err(map)?;
        let mut out = Vec::with_capacity(rows.len());
        for (queue, cap) in rows {
            if let Ok(q) = QueueName::new(queue) {
                out.push((q, cap));
            }
        }
        Ok(out)
    }

    /// Deletes the queue's row and its group holds in one transaction, then
    /// its window rows in chunks.
    async fn clear_rate_limit(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let q = queue.as_str();
        let changed = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                tx.exec_drop(sql::RATE_CLEAR, (q,)).await?;
                let mut changed = tx.affected_rows();
                tx.exec_drop(sql::GROUP_HOLDS_CLEAR, (q,)).await?;
                changed += tx.affected_rows();
                tx.commit().await?;
                Ok::<_, OpError>(changed)
            })
            .await?;
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

    /// One transaction: the queue's limiter row (so claims check its lanes),
    /// then the group's hold, moved only later.
    async fn hold_group(
        &self,
        queue: &QueueName,
        group: &GroupKey,
        duration: Duration,
    ) -> Result<(), DriverError> {
        let q = queue.as_str();
        let g = group.as_str().as_bytes();
        let us = micros(duration);
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            tx.exec_drop(sql::GROUP_HOLD_GATE, (q,)).await?;
            tx.exec_drop(sql::GROUP_HOLD, (q, g, us)).await?;
            tx.commit().await?;
            Ok::<_, OpError>(())
        })
        .await?;
        self.forget_gated();
        Ok(())
    }
}
