//! [`JobLifecycle`] for [`MysqlDriver`]: push, claim, wait, ack, release, fail,
//! extend and reclaim. Row building for pushes is in `push.rs`, batch acks and lease errors in `lease.rs`, one reclaim
//! transaction in `reclaim.rs`; the statements in `sql/`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{
    AckOutcome, Dispatched, DriverError, GroupKey, JobId, JobLifecycle, Lease, PendingJob,
    QueueName, ReclaimReport, Reservation, Uniqueness,
};
use tokio::time::Instant;

use crate::driver::{MysqlDriver, OpError};
use crate::error::{map, NAME};
use crate::lease::{lost, MAX_BATCH};
use crate::push::{check_due, due_now, row_params};
use crate::rate_limits::{self as rate, Room};
use crate::reclaim::BATCH;
use crate::sql::ClaimScan;
use crate::time::micros;
use crate::unique::{release_locks, SCOPE_UNTIL_GONE, SCOPE_UNTIL_STARTED};
use crate::workflows::{flow_settled, lock_owned, Outcome};
use crate::{sql, token};

use crate::groups::{self, Locked};

/// Microseconds from the server's now to the earliest due time among waiting
/// jobs of `queues` (paused ones left out): ≤ 0 when one is claimable, `None`
/// when none waits (or `queues` is empty).
async fn next_due(
    conn: &mut mysql_async::Conn,
    queues: &[&QueueName],
) -> Result<Option<i64>, DriverError> {
    if queues.is_empty() {
        return Ok(None);
    }
    let params: Vec<Value> = queues
        .iter()
        .flat_map(|q| [Value::from(q.as_str()), Value::from(q.as_str())])
        .collect();
    let due: Option<Option<i64>> = conn
        .exec_first(sql::next_due(queues.len()), params)
        .await
        .map_err(map)?;
    Ok(due.flatten())
}

#[async_trait]
impl JobLifecycle for MysqlDriver {
    fn connection_name(&self) -> &'static str {
        NAME
    }

    fn max_payload_bytes(&self) -> usize {
        self.inner.max_payload
    }

    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError> {
        job.check_size(self.inner.max_payload, NAME)?;
        check_due(&job)?;
        let id = job.id.clone();
        if job.group.is_some() {
            self.push_grouped(vec![job]).await?;
            return Ok(id);
        }
        let now = due_now(&job);
        let mut params = Vec::with_capacity(6);
        row_params(job, now, &mut params);
        let stmt = if now { sql::PUSH_NOW } else { sql::PUSH };
        let mut conn = self.conn().await?;
        conn.exec_drop(stmt, params).await.map_err(map)?;
        drop(conn);
        self.wake_local();
        Ok(id)
    }

    /// One transaction (see `unique.rs`): the lock row and its holder locked,
    /// then a duplicate, a debounce, or the job and its lock stored together.
    async fn push_unique(
        &self,
        job: PendingJob,
        unique: &Uniqueness,
    ) -> Result<Dispatched, DriverError> {
        job.check_size(self.inner.max_payload, NAME)?;
        check_due(&job)?;
        let done = self.push_unique_tx(&job, unique).await?;
        if !done.duplicate || done.debounced {
            self.wake_local();
        }
        Ok(done)
    }

    async fn push_bulk(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        for job in &jobs {
            job.check_size(self.inner.max_payload, NAME)?;
            check_due(job)?;
        }
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
        if jobs.iter().any(|j| j.group.is_some()) {
            self.push_grouped(jobs).await?;
            return Ok(ids);
        }
        // Each statement stays under half the payload limit (itself below the
        // server's max_allowed_packet) and under the row cap.
        let byte_budget = (self.inner.max_payload / 2).max(1);
        let row_cap = self.inner.config.bulk_chunk_rows.max(1);
        let chunks = crate::push::insert_chunks(jobs, row_cap, byte_budget, 128);
        self.retrying(|| {
            let chunks = chunks.clone();
            async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                for chunk in chunks {
                    let now = chunk.iter().all(due_now);
                    let stmt = sql::push_bulk(chunk.len(), now);
                    let mut params = Vec::with_capacity(chunk.len() * 6);
                    for job in chunk {
                        row_params(job, now, &mut params);
                    }
                    tx.exec_drop(stmt, params).await?;
                }
                tx.commit().await?;
                Ok::<(), OpError>(())
            }
        })
        .await?;
        self.wake_local();
        Ok(ids)
    }

    /// Batch claims: paused queues are skipped (their list is read at most every
    /// 250 ms, not per claim: see `MysqlDriver::paused_queues`), then per queue in priority order `SELECT … FOR UPDATE SKIP LOCKED`,
    /// then one `UPDATE` reserving every locked row, all in one transaction.
    async fn claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Reservation>, DriverError> {
        if max == 0 || queues.is_empty() {
            return Ok(Vec::new());
        }
        // Fewer than asked is allowed; one transaction stays bounded.
        let max = max.min(MAX_BATCH);
        let lease_us = micros(lease);
        self.retrying(|| async move {
            // Measured before the server reserves, so the deadline we report is
            // never later than the one the server enforces.
            let started = SystemTime::now();
            let mut conn = self.conn().await?;
            let paused = self.paused_queues(&mut conn).await?;
            let gated = self.gated_queues(&mut conn).await?;
            let grouped = self.grouped_queues(&mut conn).await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let (gates, spent) = rate::lock_gates(&mut tx, queues, &paused, &gated.names).await?;
            if spent {
                self.forget_gated();
            }
            let mut locked: Vec<(QueueName, Locked)> = Vec::new();
            let cursors = &self.inner.claim_cursors;
            let mut moves = Vec::new();
            for queue in queues {
                let mut room = max - locked.len();
                if room == 0 {
                    break;
                }
                if paused.iter().any(|p| p == queue.as_str()) {
                    continue;
                }
                let mut window = None;
                let mut lanes = None;
                if let Some(gate) = gates.get(queue.as_str()) {
                    match rate::room(&mut tx, queue, gate).await? {
                        Room::Held => continue,
                        Room::Open {
                            left,
                            window: w,
                            lanes: l,
                        } => {
                            if let Some(left) = left {
                                if left == 0 {
                                    continue;
                                }
                                room = room.min(left);
                            }
                            window = w;
                            lanes = l;
                        }
                    }
                }
                // Per-group controls: always through the rotation (a stale
                // list of grouped queues must not let a group escape them).
                let turns = if lanes.is_some() || grouped.iter().any(|g| g == queue.as_str()) {
                    groups::claim(&mut tx, queue, room, lanes.as_ref()).await?
                } else {
                    None
                };
                let rows: Vec<Locked> = match (turns, &lanes) {
                    (Some(rows), _) => rows,
                    (None, Some(rules)) => {
                        let n = room.min(rules.ungrouped_left.unwrap_or(room));
                        let (rows, seen) = cursors
                            .lock_claimable(&mut tx, queue, n, ClaimScan::Ungrouped)
                            .await?;
                        moves.push(seen);
                        rows
                    }
                    (None, None) => {
                        let (rows, seen) = cursors
                            .lock_claimable(&mut tx, queue, room, ClaimScan::Queue)
                            .await?;
                        moves.push(seen);
                        rows
                    }
                };
                if let (Some((now, per_ms)), false) = (&window, rows.is_empty()) {
                    let lanes: Vec<Option<&[u8]>> = rows.iter().map(|r| r.6.as_deref()).collect();
                    rate::record(&mut tx, queue, now, &lanes, *per_ms).await?;
                }
                locked.extend(rows.into_iter().map(|r| (queue.clone(), r)));
            }
            if locked.is_empty() {
                tx.commit().await?;
                for seen in moves {
                    cursors.advance(seen);
                }
                return Ok(Vec::new());
            }
            let suffix = token::suffix();
            let (stmt, padded) = sql::claim_update(locked.len());
            let ids: Vec<Value> = locked.iter().map(|(_, r)| Value::from(r.0)).collect();
            let mut params = vec![Value::from(lease_us), Value::from(suffix.as_str())];
            params.extend(sql::pad(ids, padded));
            tx.exec_drop(stmt, params).await?;
            let started_locks: Vec<u64> = locked
                .iter()
                .filter(|(_, r)| r.5 == Some(SCOPE_UNTIL_STARTED))
                .map(|(_, r)| r.0)
                .collect();
            release_locks(&mut tx, &started_locks).await?;
            tx.commit().await?;
            for seen in moves {
                cursors.advance(seen);
            }
            let expires_at = started + lease;
            Ok::<_, OpError>(
                locked
                    .into_iter()
                    .map(
                        |(
                            queue,
                            (id, uuid, attempts, max_tries, payload, scope, group, flow, _),
                        )| {
                            Reservation {
                                lease: Lease {
                                    job_id: token::job_id(id, uuid),
                                    queue,
                                    token: token::claimed(
                                        id,
                                        &suffix,
                                        scope == Some(SCOPE_UNTIL_GONE),
                                        flow != 0,
                                    ),
                                    expires_at,
                                },
                                attempt: attempts.saturating_add(1),
                                max_tries: max_tries.max(1),
                                payload,
                                group: group.and_then(|g| {
                                    String::from_utf8(g)
                                        .ok()
                                        .and_then(|g| GroupKey::new(g).ok())
                                }),
                            }
                        },
                    )
                    .collect(),
            )
        })
        .await
    }

    /// Idle waiting: one indexed look at the next due time per round (paused
    /// queues left out), sleeping in between with a pause that starts at
    /// `poll_min` and doubles up to `poll_max`; a dispatch, release, retry or
    /// resume from this process ends the wait at once.
    async fn wait_for_jobs(
        &self,
        queues: &[QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError> {
        let deadline = Instant::now() + timeout;
        let config = &self.inner.config;
        let mut pause = config.poll_min.max(Duration::from_millis(1));
        loop {
            // Registered before looking, so a push between the look and the sleep
            // is not missed.
            let notified = self.inner.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let due_us = if queues.is_empty() {
                None
            } else {
                let mut conn = self.conn().await?;
                let gated = self.gated_queues(&mut conn).await.map_err(map)?;
                let (gated, plain): (Vec<&QueueName>, Vec<&QueueName>) = queues
                    .iter()
                    .partition(|q| gated.names.iter().any(|g| g == q.as_str()));
                let mut due = next_due(&mut conn, &plain).await?;
                // A full window or a hold: the queue's jobs are due when it
                // opens; with per-group controls, when one of its lanes does.
                for q in gated {
                    if let Some(us) = next_due(&mut conn, &[q]).await? {
                        if let Some(at) = rate::opens_in(&mut conn, q, us).await? {
                            due = Some(due.map_or(at, |d| d.min(at)));
                        }
                    }
                }
                due
            };
            if due_us.is_some_and(|us| us <= 0) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            let mut sleep = pause.min(deadline - now);
            if let Some(us) = due_us {
                sleep = sleep.min(Duration::from_micros(us as u64));
            }
            tokio::select! {
                _ = &mut notified, if config.local_wakeup => return Ok(()),
                _ = tokio::time::sleep(sleep) => {}
            }
            pause = (pause * 2).min(config.poll_max.max(config.poll_min));
        }
    }

    /// One autocommit DELETE keyed on id and owner (a job holding a uniqueness
    /// lock: the DELETE and the lock's release in one transaction; a chain link
    /// or batch job, `w` token: the DELETE and its workflow effects in one
    /// transaction, `workflows.rs`).
    async fn ack(&self, lease: &Lease) -> Result<(), DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        if token::in_flow(&lease.token.0) {
            // A chain link or batch job: its effects in the ack's transaction.
            return self.ack_flow(id, lease).await;
        }
        if token::holds_lock(&lease.token.0) {
            self.ack_unique(id, lease).await?;
        } else {
            let changed = self
                .single(
                    sql::ACK,
                    vec![Value::from(id), Value::from(lease.token.0.as_str())],
                )
                .await?;
            if changed == 0 {
                return Err(lost(lease));
            }
        }
        self.wake_if_capped(&lease.queue);
        Ok(())
    }

    /// Deletes the rows still owned and reports the rest, in chunks of
    /// `MAX_BATCH` (`lease.rs`'s `ack_chunk`: one statement or transaction each).
    /// Chain links and batch jobs (`w` tokens) are acked one by one first, each
    /// in its own short transaction with its workflow effects, so a batch's
    /// row lock is never held across other jobs' acks.
    async fn ack_batch(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError> {
        let mut outcome = AckOutcome::default();
        let mut valid: Vec<(u64, &Lease)> = Vec::with_capacity(leases.len());
        for lease in leases {
            match token::row_id(&lease.token) {
                Some(id) if token::in_flow(&lease.token.0) => {
                    match self.ack_flow(id, lease).await {
                        Ok(()) => outcome.acked += 1,
                        Err(DriverError::LeaseLost { job_id }) => outcome.lost.push(job_id),
                        Err(e) => return Err(e),
                    }
                }
                Some(id) => valid.push((id, lease)),
                None => outcome.lost.push(lease.job_id.clone()),
            }
        }
        if valid.is_empty() {
            return Ok(outcome);
        }
        if valid.len() == 1 {
            let (_, lease) = valid[0];
            match self.ack(lease).await {
                Ok(()) => outcome.acked += 1,
                Err(DriverError::LeaseLost { job_id }) => outcome.lost.push(job_id),
                Err(e) => return Err(e),
            }
            return Ok(outcome);
        }
        for chunk in valid.chunks(MAX_BATCH) {
            let owned = self.ack_chunk(chunk).await?;
            for (_, lease) in chunk {
                if owned.contains(lease.token.0.as_str()) {
                    outcome.acked += 1;
                    self.wake_if_capped(&lease.queue);
                } else {
                    outcome.lost.push(lease.job_id.clone());
                }
            }
        }
        Ok(outcome)
    }

    /// One fenced UPDATE; a job with a cancel request is not given back but
    /// recorded cancelled and deleted (`tracking.rs`), and that is `Ok`.
    async fn release(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let params = vec![
            Value::from(micros(delay)),
            Value::from(id),
            Value::from(lease.token.0.as_str()),
        ];
        if self.single(sql::RELEASE, params).await? == 0 {
            // Lost, or the job has a cancel request: then it ends cancelled.
            return match self.release_cancelled(id, lease).await? {
                true => Ok(()),
                false => Err(lost(lease)),
            };
        }
        self.wake_local();
        Ok(())
    }

    /// As `release`, giving the claim's attempt back.
    async fn release_uncounted(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let params = vec![
            Value::from(micros(delay)),
            Value::from(id),
            Value::from(lease.token.0.as_str()),
        ];
        if self.single(sql::RELEASE_UNCOUNTED, params).await? == 0 {
            return match self.release_cancelled(id, lease).await? {
                true => Ok(()),
                false => Err(lost(lease)),
            };
        }
        self.wake_local();
        Ok(())
    }

    /// One transaction: copy to the failed store, delete; rolled back when the
    /// lease was lost.
    async fn fail(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let token = lease.token.0.as_str();
        let copied = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                // A chain link or batch job: its row locked first, then its
                // effects after the move (workflows.rs).
                let flow = if token::in_flow(token) {
                    match lock_owned(&mut tx, id, token).await? {
                        Some(row) => Some(row),
                        None => {
                            tx.rollback().await?;
                            return Ok::<_, OpError>(None);
                        }
                    }
                } else {
                    None
                };
                tx.exec_drop(sql::FAIL_COPY, (NAME, error, id, token))
                    .await?;
                if tx.affected_rows() == 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                tx.exec_drop(sql::ACK, (id, token)).await?;
                if tx.affected_rows() == 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                if token::holds_lock(&lease.token.0) {
                    release_locks(&mut tx, &[id]).await?;
                }
                let released = match &flow {
                    Some(row) => flow_settled(&mut tx, row, Outcome::Failed).await?,
                    None => false,
                };
                tx.commit().await?;
                Ok(Some(released))
            })
            .await?;
        match copied {
            Some(released) => {
                if released {
                    self.wake_local();
                } else {
                    self.wake_if_capped(&lease.queue);
                }
                Ok(())
            }
            None => Err(lost(lease)),
        }
    }

    async fn extend_lease(
        &self,
        lease: &Lease,
        lease_for: Duration,
    ) -> Result<SystemTime, DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let started = SystemTime::now();
        let params = vec![
            Value::from(micros(lease_for)),
            Value::from(id),
            Value::from(lease.token.0.as_str()),
        ];
        if self.single(sql::EXTEND, params).await? == 0 {
            return Err(lost(lease));
        }
        Ok(started + lease_for)
    }

    async fn reclaim_expired(&self, queues: &[QueueName]) -> Result<ReclaimReport, DriverError> {
        let mut report = ReclaimReport::default();
        let mut cancelled = 0;
        let mut flowed = false;
        for queue in queues {
            loop {
                let batch = self.reclaim_batch(queue).await?;
                report.released += batch.released;
                report.failed += batch.failed;
                cancelled += batch.cancelled;
                flowed |= batch.released_waiting;
                if batch.seen < BATCH {
                    break;
                }
            }
        }
        // Finished jobs' records past their expiry: a bounded, indexed delete.
        self.prune_records().await?;
        // Expired batch records, bounded the same way.
        self.prune_batches().await?;
        if report.released > 0 || flowed {
            self.wake_local();
        } else if report.failed > 0 || cancelled > 0 {
            queues.iter().for_each(|q| self.wake_if_capped(q));
        }
        Ok(report)
    }
}
