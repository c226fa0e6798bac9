//! [`JobLifecycle`] for [`MemoryDriver`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{running_by_group, MemoryDriver, State, NAME};
use crate::{
    from_unix_ms, unix_ms, AckOutcome, Dispatched, DriverError, JobId, JobLifecycle, JobState,
    Lease, LeaseToken, PendingJob, QueueName, ReclaimReport, Reservation, Uniqueness,
    CANCELLED_KEPT_FOR,
};

impl MemoryDriver {
    /// `release`, and with `uncount` the claim's attempt given back: one step
    /// under the lock, fenced by the owner token.
    fn give_back(&self, lease: &Lease, delay: Duration, uncount: bool) -> Result<(), DriverError> {
        let now = unix_ms(SystemTime::now());
        {
            let mut state = self.state();
            state.owned(lease)?;
            if state.cancel_requested(&lease.job_id) {
                // Cancelled while it ran: it ends here, never to run again.
                if let Some(q) = state.queues.get_mut(&lease.queue) {
                    q.reserved.remove(&lease.job_id);
                }
                state.finish(
                    &lease.job_id,
                    JobState::Cancelled,
                    None,
                    CANCELLED_KEPT_FOR,
                    now,
                );
                drop(state);
                self.inner.notify.notify_waiters();
                return Ok(());
            }
            if uncount {
                if let Some(job) = state.jobs.get_mut(&lease.job_id) {
                    job.attempts = job.attempts.saturating_sub(1);
                }
            }
            let seq = state.next_seq();
            let q = state.queues.entry(lease.queue.clone()).or_default();
            q.reserved.remove(&lease.job_id);
            if delay.is_zero() {
                state.make_ready(&lease.queue, lease.job_id.clone(), now);
            } else {
                let q = state.queues.entry(lease.queue.clone()).or_default();
                let at = now.saturating_add(delay.as_millis() as i64);
                q.delayed.insert((at, seq), lease.job_id.clone());
            }
        }
        self.inner.notify.notify_waiters();
        Ok(())
    }
}

#[async_trait]
impl JobLifecycle for MemoryDriver {
    fn connection_name(&self) -> &'static str {
        NAME
    }

    fn max_payload_bytes(&self) -> usize {
        self.max_payload
    }

    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError> {
        job.check_size(self.max_payload, NAME)?;
        let id = job.id.clone();
        self.state().insert(job, unix_ms(SystemTime::now()));
        self.inner.notify.notify_waiters();
        Ok(id)
    }

    async fn push_unique(
        &self,
        job: PendingJob,
        unique: &Uniqueness,
    ) -> Result<Dispatched, DriverError> {
        job.check_size(self.max_payload, NAME)?;
        let done = self
            .state()
            .push_unique(job, unique, unix_ms(SystemTime::now()));
        self.inner.notify.notify_waiters();
        Ok(done)
    }

    async fn push_bulk(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        for job in &jobs {
            job.check_size(self.max_payload, NAME)?;
        }
        let now = unix_ms(SystemTime::now());
        let ids = jobs.iter().map(|j| j.id.clone()).collect();
        {
            let mut state = self.state();
            for job in jobs {
                state.insert(job, now);
            }
        }
        self.inner.notify.notify_waiters();
        Ok(ids)
    }

    async fn claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Reservation>, DriverError> {
        // The clock is read under the lock: a claim that waited for it must not
        // log its starts at an earlier time than other claims already did.
        let mut state = self.state();
        let now = unix_ms(SystemTime::now());
        let deadline = now.saturating_add(lease.as_millis() as i64);
        let mut out = Vec::new();
        for queue in queues {
            if out.len() >= max {
                break;
            }
            state.promote_due(queue, now);
            if state.paused.contains(queue) {
                continue;
            }
            let room = state
                .limiters
                .get_mut(queue)
                .map_or(usize::MAX, |l| l.room(now));
            let stop = out.len().saturating_add(room).min(max);
            let mut running = state.running_by_group(queue);
            while out.len() < stop {
                let State {
                    jobs,
                    queues,
                    limiters,
                    ..
                } = &mut *state;
                let Some(q) = queues.get_mut(queue) else {
                    break;
                };
                let mut limiter = limiters.get_mut(queue);
                let Some((id, group)) = q.next_ready(|lane| {
                    limiter.as_mut().is_none_or(|l| {
                        let n = lane.and_then(|g| running.get(g)).copied().unwrap_or(0);
                        l.lane_opens_at(lane, n, now).is_none()
                    })
                }) else {
                    break;
                };
                let Some(job) = jobs.get_mut(&id) else {
                    continue;
                };
                job.attempts += 1;
                let (attempt, max_tries, payload) =
                    (job.attempts, job.max_tries, job.payload.clone());
                let token = LeaseToken::random();
                q.reserved.insert(id.clone(), (token.clone(), deadline));
                if let Some(l) = limiter {
                    l.record(group.as_ref(), now);
                }
                if let Some(g) = &group {
                    *running.entry(g.clone()).or_default() += 1;
                }
                out.push(Reservation {
                    lease: Lease {
                        job_id: id.clone(),
                        queue: queue.clone(),
                        token,
                        expires_at: from_unix_ms(deadline),
                    },
                    attempt,
                    max_tries,
                    payload,
                    group,
                });
                state.started(&id);
            }
        }
        Ok(out)
    }

    async fn wait_for_jobs(
        &self,
        queues: &[QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError> {
        let notified = self.inner.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = unix_ms(SystemTime::now());
        let mut wait = timeout;
        {
            let mut state = self.state();
            let State {
                queues: all,
                paused,
                limiters,
                jobs,
                ..
            } = &mut *state;
            for queue in queues {
                if paused.contains(queue) {
                    // Its jobs are not claimable: wait for a push, a resume or the
                    // timeout like on an empty queue.
                    continue;
                }
                let Some(q) = all.get(queue) else {
                    continue;
                };
                // A full window or a hold: the queue's jobs are due when it opens;
                // a lane's own window, hold or cap: when the first lane opens.
                let mut limiter = limiters.get_mut(queue);
                let running = match &limiter {
                    Some(l) if l.group_cap().is_some() => running_by_group(jobs, q),
                    _ => HashMap::new(),
                };
                let opens = limiter.as_mut().and_then(|l| l.opens_at(now));
                let lanes_open = q
                    .ready_lanes()
                    .iter()
                    .map(|lane| match limiter.as_mut() {
                        None => now,
                        Some(l) => {
                            let n = lane.as_ref().and_then(|g| running.get(g)).copied();
                            l.lane_opens_at(lane.as_ref(), n.unwrap_or(0), now)
                                .unwrap_or(now)
                        }
                    })
                    .min();
                let first_due = q.delayed.first_key_value().map(|((at, _), _)| *at);
                let due = match (lanes_open, first_due) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if let Some(due) = due {
                    let at = opens.map_or(due, |o| o.max(due));
                    if at <= now {
                        return Ok(());
                    }
                    if at < i64::MAX {
                        wait = wait.min(Duration::from_millis((at - now) as u64));
                    }
                }
            }
        }
        if wait.is_zero() {
            return Ok(());
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(wait) => {}
        }
        Ok(())
    }

    async fn ack(&self, lease: &Lease) -> Result<(), DriverError> {
        let frees = {
            let mut state = self.state();
            state.owned(lease)?;
            let frees = state.frees_group_slot(lease);
            if let Some(q) = state.queues.get_mut(&lease.queue) {
                q.reserved.remove(&lease.job_id);
            }
            let now = unix_ms(SystemTime::now());
            state.settled(&lease.job_id, super::workflows::Outcome::Succeeded, now);
            state.remove_job(&lease.job_id);
            frees
        };
        if frees {
            self.inner.notify.notify_waiters();
        }
        Ok(())
    }

    async fn ack_batch(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError> {
        let mut outcome = AckOutcome::default();
        for lease in leases {
            match self.ack(lease).await {
                Ok(()) => outcome.acked += 1,
                Err(DriverError::LeaseLost { job_id }) => outcome.lost.push(job_id),
                Err(e) => return Err(e),
            }
        }
        Ok(outcome)
    }

    async fn release(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        self.give_back(lease, delay, false)
    }

    async fn release_uncounted(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        self.give_back(lease, delay, true)
    }

    async fn fail(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        let frees = {
            let mut state = self.state();
            state.owned(lease)?;
            let frees = state.frees_group_slot(lease);
            if let Some(q) = state.queues.get_mut(&lease.queue) {
                q.reserved.remove(&lease.job_id);
            }
            state.move_to_failed(&lease.job_id, error.to_owned(), unix_ms(SystemTime::now()));
            frees
        };
        if frees {
            self.inner.notify.notify_waiters();
        }
        Ok(())
    }

    async fn extend_lease(
        &self,
        lease: &Lease,
        lease_for: Duration,
    ) -> Result<SystemTime, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        let deadline = state.owned(lease)?;
        if deadline < now {
            // Expired but not yet reclaimed: ownership is over all the same.
            return Err(DriverError::LeaseLost {
                job_id: lease.job_id.clone(),
            });
        }
        let new_deadline = now.saturating_add(lease_for.as_millis() as i64);
        if let Some((_, d)) = state
            .queues
            .get_mut(&lease.queue)
            .and_then(|q| q.reserved.get_mut(&lease.job_id))
        {
            *d = new_deadline;
        }
        Ok(from_unix_ms(new_deadline))
    }

    async fn reclaim_expired(&self, queues: &[QueueName]) -> Result<ReclaimReport, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut report = ReclaimReport::default();
        {
            let mut state = self.state();
            for queue in queues {
                let expired: Vec<JobId> = match state.queues.get(queue) {
                    Some(q) => q
                        .reserved
                        .iter()
                        .filter(|(_, (_, d))| *d <= now)
                        .map(|(id, _)| id.clone())
                        .collect(),
                    None => continue,
                };
                for id in expired {
                    if let Some(q) = state.queues.get_mut(queue) {
                        q.reserved.remove(&id);
                    }
                    let (attempts, max_tries) = match state.jobs.get(&id) {
                        Some(j) => (j.attempts, j.max_tries),
                        None => continue,
                    };
                    if state.cancel_requested(&id) {
                        // Cancelled while it ran: never run again, never failed.
                        state.finish(&id, JobState::Cancelled, None, CANCELLED_KEPT_FOR, now);
                    } else if attempts >= max_tries {
                        state.move_to_failed(
                            &id,
                            format!(
                                "lease expired on attempt {attempts} of {max_tries}: the worker stopped or hung before finishing the job"
                            ),
                            now,
                        );
                        report.failed += 1;
                    } else {
                        state.make_ready(queue, id, now);
                        report.released += 1;
                    }
                }
            }
        }
        if report.released > 0 || report.failed > 0 {
            // Released jobs are ready; failed ones may free a capped group's slot.
            self.inner.notify.notify_waiters();
        }
        Ok(report)
    }
}
