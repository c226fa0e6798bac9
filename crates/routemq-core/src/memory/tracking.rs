//! [`JobTracking`] for [`MemoryDriver`]: run records live on the stored job (so
//! they go with it), finished records in `State::finished` with an expiry that
//! every read and write of them checks.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{MemoryDriver, State};
use crate::{
    unix_ms, CancelOutcome, DriverError, JobId, JobState, JobStatus, JobTracking, Lease,
    LeaseToken, Progress, QueueName, RunReport, CANCELLED_KEPT_FOR, MAX_RUN_ERROR,
};

/// What a job's worker last wrote about the attempt holding `token`.
#[derive(Debug)]
pub(super) struct RunRecord {
    token: LeaseToken,
    worker: String,
    progress: Option<Progress>,
    error: Option<String>,
}

/// A finished job's kept record.
#[derive(Debug)]
pub(super) struct Finished {
    queue: QueueName,
    state: JobState,
    attempts: u32,
    max_tries: u32,
    finished_at_ms: i64,
    result: Option<Vec<u8>>,
    expires_at_ms: i64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl State {
    /// Removes job `id` (its lock too) and keeps a record of it in `state` for
    /// `keep_for`.
    pub(super) fn finish(
        &mut self,
        id: &JobId,
        state: JobState,
        result: Option<Vec<u8>>,
        keep_for: Duration,
        now: i64,
    ) {
        let outcome = match state {
            JobState::Succeeded => super::workflows::Outcome::Succeeded,
            JobState::Failed => super::workflows::Outcome::Failed,
            _ => super::workflows::Outcome::Cancelled,
        };
        self.settled(id, outcome, now);
        let Some(job) = self.remove_job(id) else {
            return;
        };
        self.finished.insert(
            id.clone(),
            Finished {
                queue: job.queue,
                state,
                attempts: job.attempts,
                max_tries: job.max_tries,
                finished_at_ms: now,
                result,
                expires_at_ms: now.saturating_add(ms(keep_for)),
            },
        );
    }

    /// True when job `id` has a cancel request (a release or reclaim then ends
    /// it as cancelled instead of making it claimable).
    pub(super) fn cancel_requested(&self, id: &JobId) -> bool {
        self.jobs.get(id).is_some_and(|j| j.cancel)
    }

    /// Drops expired finished records, at most once a second (reads skip
    /// expired ones anyway).
    fn prune_finished(&mut self, now: i64) {
        if now.saturating_sub(self.finished_pruned_at) >= 1000 {
            self.finished_pruned_at = now;
            self.finished.retain(|_, f| f.expires_at_ms > now);
        }
    }

    /// The unexpired record of job `id` of `queue`.
    fn record(&self, queue: &QueueName, id: &JobId, now: i64) -> Option<&Finished> {
        self.finished
            .get(id)
            .filter(|f| f.queue == *queue && f.expires_at_ms > now)
    }

    /// Ends a reserved job (fenced) as `state`, keeping `result`.
    fn finish_reserved(
        &mut self,
        lease: &Lease,
        state: JobState,
        result: Option<Vec<u8>>,
        keep_for: Duration,
    ) -> Result<bool, DriverError> {
        self.owned(lease)?;
        let frees = self.frees_group_slot(lease);
        if let Some(q) = self.queues.get_mut(&lease.queue) {
            q.reserved.remove(&lease.job_id);
        }
        let now = unix_ms(SystemTime::now());
        self.prune_finished(now);
        self.finish(&lease.job_id, state, result, keep_for, now);
        Ok(frees)
    }
}

impl MemoryDriver {
    fn finish_reserved(
        &self,
        lease: &Lease,
        state: JobState,
        result: Option<Vec<u8>>,
        keep_for: Duration,
    ) -> Result<(), DriverError> {
        let frees = self
            .state()
            .finish_reserved(lease, state, result, keep_for)?;
        if frees {
            self.inner.notify.notify_waiters();
        }
        Ok(())
    }
}

#[async_trait]
impl JobTracking for MemoryDriver {
    async fn job_status(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<JobStatus>, DriverError> {
        let now = unix_ms(SystemTime::now());
        let state = self.state();
        if let Some(job) = state.jobs.get(id).filter(|j| j.queue == *queue) {
            let q = state.queues.get(queue);
            let reserved = q.and_then(|q| q.reserved.get(id));
            let due = q.and_then(|q| {
                q.delayed
                    .iter()
                    .find(|(_, j)| *j == id)
                    .map(|((at, _), _)| *at)
            });
            let job_state = match (reserved, due) {
                (Some(_), _) => JobState::Running,
                (None, Some(_)) => JobState::Delayed,
                (None, None) if job.waiting => JobState::Waiting,
                (None, None) => JobState::Ready,
            };
            let mut status = JobStatus::new(id.clone(), queue.clone(), job_state, job.attempts);
            status.max_tries = job.max_tries;
            status.due_at_ms = due;
            if let Some((token, deadline)) = reserved {
                status.lease_until_ms = Some(*deadline);
                status.cancel_requested = job.cancel;
                if let Some(run) = job.run.as_ref().filter(|r| r.token == *token) {
                    status.worker = Some(run.worker.clone());
                    status.progress = run.progress.clone();
                }
            }
            status.last_error = job.run.as_ref().and_then(|r| r.error.clone());
            return Ok(Some(status));
        }
        Ok(state.record(queue, id, now).map(|f| {
            let mut status = JobStatus::new(id.clone(), queue.clone(), f.state, f.attempts);
            status.max_tries = f.max_tries;
            status.finished_at_ms = Some(f.finished_at_ms);
            status.has_result = f.result.is_some();
            status
        }))
    }

    async fn job_result(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError> {
        let now = unix_ms(SystemTime::now());
        Ok(self
            .state()
            .record(queue, id, now)
            .and_then(|f| f.result.clone()))
    }

    async fn record_runs(&self, reports: &[RunReport]) -> Result<(), DriverError> {
        let mut state = self.state();
        for report in reports {
            if state.owned(&report.lease).is_err() {
                continue;
            }
            if let Some(job) = state.jobs.get_mut(&report.lease.job_id) {
                let error = report
                    .error
                    .as_deref()
                    .map(|e| crate::driver::cut(e, MAX_RUN_ERROR).to_owned());
                job.run = Some(RunRecord {
                    token: report.lease.token.clone(),
                    worker: report.worker.clone(),
                    progress: report.progress.clone(),
                    error,
                });
            }
        }
        Ok(())
    }

    async fn ack_and_keep(
        &self,
        lease: &Lease,
        result: Option<&[u8]>,
        keep_for: Duration,
    ) -> Result<(), DriverError> {
        self.finish_reserved(
            lease,
            JobState::Succeeded,
            result.map(<[u8]>::to_vec),
            keep_for,
        )
    }

    async fn cancel(&self, queue: &QueueName, id: &JobId) -> Result<CancelOutcome, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        state.prune_finished(now);
        let Some(job) = state.jobs.get(id).filter(|j| j.queue == *queue) else {
            return Ok(match state.record(queue, id, now) {
                Some(f) => CancelOutcome::AlreadyFinished(f.state),
                None => CancelOutcome::NotFound,
            });
        };
        let group = job.group.clone();
        let Some(q) = state.queues.get_mut(queue) else {
            return Ok(CancelOutcome::NotFound);
        };
        if q.reserved.contains_key(id) {
            if let Some(job) = state.jobs.get_mut(id) {
                job.cancel = true;
            }
            return Ok(CancelOutcome::Requested);
        }
        let delayed = q
            .delayed
            .iter()
            .find(|(_, j)| *j == id)
            .map(|(key, _)| *key);
        match delayed {
            Some(key) => {
                q.delayed.remove(&key);
            }
            None => {
                if !q.waiting.remove(id) {
                    q.remove_ready(id, group.as_ref());
                }
            }
        }
        state.finish(id, JobState::Cancelled, None, CANCELLED_KEPT_FOR, now);
        Ok(CancelOutcome::Removed)
    }

    async fn cancel_requests(&self, leases: &[Lease]) -> Result<Vec<JobId>, DriverError> {
        let state = self.state();
        Ok(leases
            .iter()
            .filter(|l| state.owned(l).is_ok() && state.cancel_requested(&l.job_id))
            .map(|l| l.job_id.clone())
            .collect())
    }

    async fn ack_cancelled(&self, lease: &Lease) -> Result<(), DriverError> {
        self.finish_reserved(lease, JobState::Cancelled, None, CANCELLED_KEPT_FOR)
    }
}
