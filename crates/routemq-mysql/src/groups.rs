//! Fair groups (migration 0007): grouped pushes, which also put their group and
//! the ungrouped lane in the queue's rotation (`queue_groups`), and the claim of
//! a queue that has a rotation, which takes one job per lane in turn. Queues
//! without grouped jobs are claimed as before: the claim checks a cached list of
//! grouped queues (read at most every 250 ms, like the paused queues).

use std::sync::Arc;
use std::time::Instant;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Transaction, TxOpts, Value};
use routemq_core::{DriverError, PendingJob, QueueName};

use crate::driver::{MysqlDriver, OpError};
use crate::push::row_params;
use crate::rate_limits::LaneRules;
use crate::sql;

/// A locked row: id, uuid, attempts before this claim, max_tries, payload,
/// unique_scope, group_key, 1 when in a workflow (as `lifecycle.rs` reads it),
/// available_at (as the server's `DATETIME(6)`: the claim cursor's position).
pub(crate) type Locked = (
    u64,
    Option<String>,
    u32,
    u32,
    Vec<u8>,
    Option<u8>,
    Option<Vec<u8>>,
    u8,
    mysql_async::Value,
);

/// Lanes one round of a claim looks at, at most (the ones served longest ago).
const LANES: usize = 64;

/// Rounds of [`LANES`] lanes a claim looks through while it has found nothing.
const ROUNDS: usize = 16;

/// How long claims trust the last read of the grouped queues. A grouped push
/// through this driver refreshes it at once; another process's first grouped
/// push of a queue is claimed fairly within this long (FIFO until then).
const GROUPED_FRESH_FOR: std::time::Duration = std::time::Duration::from_millis(250);

/// The rotation rows a grouped push needs: (queue, group) for each distinct
/// group of `jobs`, as group_join.sql's parameters.
fn joins(jobs: &[PendingJob]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for job in jobs {
        if let Some(g) = &job.group {
            let row = (
                job.queue.as_str().to_owned(),
                g.as_str().as_bytes().to_vec(),
            );
            if !out.contains(&row) {
                out.push(row);
            }
        }
    }
    out
}

/// Puts the groups of `jobs` (and the ungrouped lane) in their queues' rotation.
pub(crate) async fn join(
    tx: &mut Transaction<'_>,
    jobs: &[PendingJob],
) -> Result<(), mysql_async::Error> {
    for (queue, group) in joins(jobs) {
        tx.exec_drop(sql::GROUP_JOIN, (queue.as_str(), group, queue.as_str()))
            .await?;
    }
    Ok(())
}

/// Inserts `jobs` (some grouped) in `tx` with one multi-row INSERT.
pub(crate) async fn insert(
    tx: &mut Transaction<'_>,
    jobs: Vec<PendingJob>,
) -> Result<(), mysql_async::Error> {
    let stmt = sql::push_group_bulk(jobs.len());
    let mut params = Vec::with_capacity(jobs.len() * 7);
    for job in jobs {
        let group = job.group.as_ref().map(|g| g.as_str().as_bytes().to_vec());
        row_params(job, false, &mut params);
        params.push(group.map_or(Value::NULL, Value::Bytes));
    }
    tx.exec_drop(stmt, params).await
}

/// How many jobs this claim may take from each lane of `asked` (indexes into
/// `lanes`) under `rules`, in `asked`'s order: 0 while the group is held, its
/// window full or it is at its cap; `usize::MAX` when nothing bounds it. The
/// grouped lanes' states are read in one statement ([`sql::lane_states`]),
/// none when no control applies to them.
async fn allowances(
    tx: &mut Transaction<'_>,
    q: &str,
    lanes: &[Vec<u8>],
    asked: &[usize],
    rules: &LaneRules,
) -> Result<Vec<usize>, mysql_async::Error> {
    // Ungrouped: never held nor capped; its window was read with the gate.
    let ungrouped = rules.ungrouped_left.unwrap_or(usize::MAX);
    let mut out: Vec<usize> = asked
        .iter()
        .map(|&i| {
            if lanes[i].is_empty() {
                ungrouped
            } else {
                usize::MAX
            }
        })
        .collect();
    let (held, window, running) = (rules.holds, rules.window.is_some(), rules.cap.is_some());
    // Positions in `asked` of the grouped lanes, whose states are read.
    let grouped: Vec<usize> = (0..asked.len())
        .filter(|&k| !lanes[asked[k]].is_empty())
        .collect();
    if grouped.is_empty() || !(held || window || running) {
        return Ok(out);
    }
    let (stmt, padded) = sql::lane_states(held, window, running, grouped.len());
    let mut params: Vec<Value> = Vec::with_capacity(padded * 8);
    for &k in &sql::pad(grouped, padded) {
        let lane = lanes[asked[k]].as_slice();
        params.push(Value::from(k as u64));
        if held {
            params.extend([Value::from(q), Value::from(lane)]);
        }
        if let Some((_, per_us)) = rules.window {
            params.extend([Value::from(q), Value::from(lane), Value::from(per_us)]);
        }
        if running {
            params.extend([Value::from(q), Value::from(lane)]);
        }
    }
    let rows: Vec<(u64, u64, u64, u64)> = tx.exec(stmt, params).await?;
    for (k, held_n, started, running_n) in rows {
        let mut left = usize::MAX;
        if held_n > 0 {
            left = 0;
        }
        if let Some((jobs, _)) = rules.window {
            left = left.min(u64::from(jobs).saturating_sub(started) as usize);
        }
        if let Some(cap) = rules.cap {
            left = left.min(u64::from(cap).saturating_sub(running_n) as usize);
        }
        out[k as usize] = left;
    }
    Ok(out)
}

/// The claim of `queue` through its rotation, in `tx`: up to `room` jobs, one per
/// lane per pass, lanes in turn order. `None` when the queue has no rotation
/// (claim it plainly). Every lane looked at moves to the rotation's end (in the
/// order last looked at; the others keep their turn); a group without jobs leaves
/// it, and so does the ungrouped lane once alone. With `rules` (per-group
/// controls), a lane gives at most what its hold, window and cap allow: a
/// blocked lane is passed over (and still moves to the end, so blocked lanes
/// never crowd the open ones out of the first [`LANES`]).
///
/// When the [`LANES`] lanes looked at give nothing (their jobs all running,
/// gone, or blocked) the claim looks at the next ones, up to [`ROUNDS`] rounds,
/// so a claim does not come back empty while a lane further on has a job.
///
/// Concurrent claims of one queue serve different lanes: a claim locks the
/// lanes no other claim holds (group_lanes_free.sql), so claims run side by
/// side instead of one after the other (with more than [`LANES`] lanes; with
/// fewer, the first claim holds them all and the next waits for it, in turn
/// order as before). Only when it finds no free lane but the ungrouped one
/// does a claim wait for the whole rotation (group_lanes.sql), which alone
/// tells an empty rotation from a held one.
pub(crate) async fn claim(
    tx: &mut Transaction<'_>,
    queue: &QueueName,
    room: usize,
    rules: Option<&LaneRules>,
) -> Result<Option<Vec<Locked>>, mysql_async::Error> {
    let q = queue.as_str();
    let mut got: Vec<Locked> = Vec::new();
    for round in 0..ROUNDS {
        let mut lanes: Vec<Vec<u8>> = tx.exec(sql::GROUP_LANES_FREE, (q, LANES as u64)).await?;
        if round == 0 && lanes.iter().all(|lane| lane.is_empty()) {
            // No free lane but perhaps the ungrouped one: the whole rotation
            // (waiting for the claims that hold it) tells whether the queue
            // has one, and whether the ungrouped lane is alone in it.
            lanes = tx.exec(sql::GROUP_LANES, (q, LANES as u64)).await?;
            if lanes.is_empty() {
                return Ok(None);
            }
            if lanes.len() == 1 && lanes[0].is_empty() {
                leave(tx, q, &[b"".as_slice()]).await?;
                return Ok(None);
            }
        }
        // Only a round that found nothing is followed by another, so no lane
        // is looked at again after it gave a job in this claim (its own locked
        // rows would be seen twice).
        claim_round(tx, q, &lanes, room, rules, &mut got).await?;
        if !got.is_empty() || lanes.len() < LANES {
            break;
        }
    }
    Ok(Some(got))
}

/// One round of [`claim`] over `lanes` (locked by group_lanes_free.sql or
/// group_lanes.sql): appends to `got` up to `room` in all, then moves the lanes
/// looked at to the end and deletes the ones left without jobs.
///
/// Lanes are looked at in turn order, one job each per pass, as many lanes at
/// a time as there is room left: each such step is one statement
/// ([`sql::group_claim`]), so a claim of `room` jobs from as many lanes costs a
/// handful of round trips, not one per lane (the lanes stay locked for the
/// whole claim, so every round trip in it delays the claims waiting for them).
async fn claim_round(
    tx: &mut Transaction<'_>,
    q: &str,
    lanes: &[Vec<u8>],
    room: usize,
    rules: Option<&LaneRules>,
    got: &mut Vec<Locked>,
) -> Result<(), mysql_async::Error> {
    let mut live: Vec<usize> = (0..lanes.len()).collect();
    // Lanes (indexes into `lanes`) in the order this claim last looked at
    // them: they move to the end.
    let mut looked: Vec<usize> = Vec::new();
    // Grouped lanes that gave nothing when asked: checked for any job left.
    let mut empty: Vec<usize> = Vec::new();
    // Under per-group controls: what each lane may still give, read on the
    // first look.
    let mut left: Vec<Option<usize>> = vec![None; lanes.len()];
    // Per lane, the (available_at, id) of the last row this claim took from
    // it: the next one is claimed after it (see `claim_lanes`).
    let mut after: Vec<Option<(Value, u64)>> = vec![None; lanes.len()];
    while got.len() < room && !live.is_empty() {
        let mut next = Vec::new();
        let mut at = 0;
        while got.len() < room && at < live.len() {
            let step = &live[at..live.len().min(at + room - got.len())];
            at += step.len();
            if let Some(rules) = rules {
                // The lanes looked at for the first time: their states in
                // one read.
                let first: Vec<usize> = step
                    .iter()
                    .copied()
                    .filter(|&i| left[i].is_none())
                    .collect();
                if !first.is_empty() {
                    let allowed = allowances(tx, q, lanes, &first, rules).await?;
                    for (i, n) in first.into_iter().zip(allowed) {
                        left[i] = Some(n);
                    }
                }
            }
            let mut asked: Vec<usize> = Vec::with_capacity(step.len());
            for &i in step {
                looked.retain(|l| *l != i);
                looked.push(i);
                if left[i] == Some(0) {
                    continue;
                }
                asked.push(i);
            }
            let mut rows = claim_lanes(tx, q, lanes, &asked, &after).await?;
            for i in asked {
                let lane = lanes[i].as_slice();
                let from_lane = rows
                    .iter()
                    .position(|row| row.6.as_deref().unwrap_or_default() == lane);
                match from_lane {
                    Some(k) => {
                        let row = rows.swap_remove(k);
                        after[i] = Some((row.8.clone(), row.0));
                        got.push(row);
                        next.push(i);
                        left[i] = left[i].map(|n| n.saturating_sub(1));
                    }
                    None if !lane.is_empty() => empty.push(i),
                    None => {}
                }
            }
        }
        live = next;
    }
    let gone = without_jobs(tx, q, lanes, &empty).await?;
    looked.retain(|i| !gone.contains(i));
    let gone: Vec<&[u8]> = gone.iter().map(|&i| lanes[i].as_slice()).collect();
    leave(tx, q, &gone).await?;
    if !looked.is_empty() {
        let (stmt, padded) = sql::group_turns(looked.len());
        let names = sql::pad(
            looked
                .iter()
                .map(|&i| Value::from(lanes[i].as_slice()))
                .collect(),
            padded,
        );
        let positions = sql::pad((0..looked.len() as u64).map(Value::from).collect(), padded);
        let mut params: Vec<Value> = names
            .iter()
            .cloned()
            .zip(positions)
            .flat_map(|(name, k)| [name, k])
            .collect();
        params.push(Value::from(q));
        params.extend(names);
        tx.exec_drop(stmt, params).await?;
    }
    Ok(())
}

/// Deletes `groups` (`b""`: the ungrouped lane) from `q`'s rotation, in one
/// statement; nothing to do for none.
async fn leave(
    tx: &mut Transaction<'_>,
    q: &str,
    groups: &[&[u8]],
) -> Result<(), mysql_async::Error> {
    if groups.is_empty() {
        return Ok(());
    }
    let (stmt, padded) = sql::group_leave_lanes(groups.len());
    let mut params = vec![Value::from(q)];
    params.extend(sql::pad(
        groups.iter().map(|g| Value::from(*g)).collect(),
        padded,
    ));
    tx.exec_drop(stmt, params).await
}

/// Locks the next claimable job of each of `asked` (indexes into `lanes`), in
/// one statement: the first in (available_at, id) order after the last row
/// this claim took from the lane (`after`; from the head of the lane when it
/// took none). A lane with no such job has no row in the answer.
///
/// A cursor, not an offset counting the rows this claim already locked: those
/// rows stay visible to it, but another claimer's row of the lane that was
/// skipped while locked comes back when that claimer rolls back, ahead of
/// them, and an offset would then land on one of this claim's own rows and hand
/// that job out twice in one claim. Past the cursor such a row is left for a
/// later claim.
async fn claim_lanes(
    tx: &mut Transaction<'_>,
    q: &str,
    lanes: &[Vec<u8>],
    asked: &[usize],
    after: &[Option<(Value, u64)>],
) -> Result<Vec<Locked>, mysql_async::Error> {
    let Some(&first) = asked.first() else {
        return Ok(Vec::new());
    };
    let (stmt, padded) = sql::group_claim(asked.len());
    let lane_param = |i: usize| match lanes[i].is_empty() {
        true => Value::NULL,
        false => Value::from(lanes[i].as_slice()),
    };
    let mut params: Vec<Value> = Vec::with_capacity(padded * 6);
    for k in 0..padded {
        // A padding part repeats the first lane and takes no row.
        let (i, take) = asked.get(k).map_or((first, 0u64), |&i| (i, 1));
        // No row taken yet: before every DATETIME, so the whole lane.
        let (at, id) = after[i]
            .clone()
            .unwrap_or((Value::Date(1000, 1, 1, 0, 0, 0, 0), 0));
        params.extend([
            Value::from(q),
            lane_param(i),
            at.clone(),
            at,
            Value::from(id),
            Value::from(take),
        ]);
    }
    tx.exec(stmt, params).await
}

/// Which of `empty` (grouped lanes, indexes into `lanes`) have no job at all
/// left (ready, delayed or reserved), in one statement.
async fn without_jobs(
    tx: &mut Transaction<'_>,
    q: &str,
    lanes: &[Vec<u8>],
    empty: &[usize],
) -> Result<Vec<usize>, mysql_async::Error> {
    if empty.is_empty() {
        return Ok(Vec::new());
    }
    let (stmt, padded) = sql::group_has_jobs(empty.len());
    let pairs: Vec<[Value; 2]> = empty
        .iter()
        .map(|&i| [Value::from(q), Value::from(lanes[i].as_slice())])
        .collect();
    let params: Vec<Value> = sql::pad(pairs, padded).into_iter().flatten().collect();
    let with_jobs: Vec<Vec<u8>> = tx.exec(stmt, params).await?;
    Ok(empty
        .iter()
        .copied()
        .filter(|&i| !with_jobs.contains(&lanes[i]))
        .collect())
}

impl MysqlDriver {
    /// Stores `jobs` (some grouped) in one transaction: multi-row INSERTs in
    /// chunks (each under half the payload limit and the row cap), then the
    /// rotation rows of their groups. Wakes local waiters.
    pub(crate) async fn push_grouped(&self, jobs: Vec<PendingJob>) -> Result<(), DriverError> {
        let byte_budget = (self.inner.max_payload / 2).max(1);
        let row_cap = self.inner.config.bulk_chunk_rows.max(1);
        let chunks = crate::push::insert_chunks(jobs, row_cap, byte_budget, 160);
        self.retrying(|| {
            let chunks = chunks.clone();
            async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                for chunk in &chunks {
                    join(&mut tx, chunk).await?;
                }
                for chunk in chunks {
                    insert(&mut tx, chunk).await?;
                }
                tx.commit().await?;
                Ok::<(), OpError>(())
            }
        })
        .await?;
        self.forget_grouped();
        self.wake_local();
        Ok(())
    }

    /// The queues with a rotation, read on `conn` at most every
    /// [`GROUPED_FRESH_FOR`]: claims of other queues pay nothing for groups.
    pub(crate) async fn grouped_queues(
        &self,
        conn: &mut Conn,
    ) -> Result<Arc<Vec<String>>, mysql_async::Error> {
        let cache = &self.inner.grouped;
        if let Some((at, names)) = &*cache.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < GROUPED_FRESH_FOR {
                return Ok(names.clone());
            }
        }
        let names: Arc<Vec<String>> = Arc::new(conn.query(sql::GROUPED_QUEUES).await?);
        *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), names.clone()));
        Ok(names)
    }

    /// Forgets the cached grouped queues (after a grouped push through this
    /// driver), so the next claim reads them again.
    pub(crate) fn forget_grouped(&self) {
        *self.inner.grouped.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use mysql_async::prelude::Queryable;
    use mysql_async::TxOpts;
    use routemq_core::{Codec, Envelope, GroupKey, JobLifecycle, PendingJob, QueueName};

    use super::claim_lanes;
    use crate::driver::migrated_for_test;

    /// The head row of a lane, held by another transaction, is skipped by a
    /// claim's first pass; that transaction then rolls back, which puts the row
    /// back ahead of the one the claim took. The claim's next pass takes the
    /// row after its own, not its own again (an offset of one did: one job
    /// handed out twice in one claim, seen as a duplicate by the conformance
    /// rule of concurrent claimers over many groups).
    #[tokio::test(flavor = "multi_thread")]
    async fn a_row_given_back_mid_claim_does_not_hand_out_the_claims_own_row_again() {
        let (_schema, driver) = migrated_for_test().await;
        let queue = QueueName::new("given-back").unwrap();
        let jobs = (0..3)
            .map(|n| {
                let body = format!("{n}").into_bytes();
                let envelope = Envelope::new("lane", queue.clone(), Codec::Json, body);
                PendingJob::new(&envelope, None)
                    .unwrap()
                    .in_group(Some(GroupKey::new("g").unwrap()))
            })
            .collect();
        driver.push_bulk(jobs).await.unwrap();
        let mut ours = driver.conn().await.unwrap();
        let ids: Vec<u64> = ours
            .query("SELECT id FROM queue_jobs ORDER BY available_at, id")
            .await
            .unwrap();
        assert_eq!(ids.len(), 3);

        let mut other = driver.conn().await.unwrap();
        let mut held = other.start_transaction(TxOpts::default()).await.unwrap();
        let _: Vec<u64> = held
            .exec(
                "SELECT id FROM queue_jobs WHERE id = ? FOR UPDATE",
                (ids[0],),
            )
            .await
            .unwrap();

        let mut tx = ours.start_transaction(TxOpts::default()).await.unwrap();
        let lanes = vec![b"g".to_vec()];
        let mut after = vec![None];
        let first = claim_lanes(&mut tx, queue.as_str(), &lanes, &[0], &after)
            .await
            .unwrap();
        let first_ids: Vec<u64> = first.iter().map(|row| row.0).collect();
        assert_eq!(first_ids, vec![ids[1]], "the held head row is skipped");

        held.rollback().await.unwrap();
        after[0] = Some((first[0].8.clone(), first[0].0));
        let second = claim_lanes(&mut tx, queue.as_str(), &lanes, &[0], &after)
            .await
            .unwrap();
        let second_ids: Vec<u64> = second.iter().map(|row| row.0).collect();
        assert_eq!(
            second_ids,
            vec![ids[2]],
            "the next pass takes the row after the claim's own ({ids:?})"
        );
        tx.rollback().await.unwrap();
    }
}
