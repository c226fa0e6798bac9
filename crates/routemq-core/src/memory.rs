//! The in-memory driver: the demo's embedded default and a fast test bed. It keeps
//! the whole [`Driver`] contract, but nothing survives the process.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::{
    from_unix_ms, unix_ms, AckOutcome, Driver, DriverError, FailedJob, FailedQuery, JobId, Lease,
    LeaseToken, PendingJob, QueueName, QueueStats, ReclaimReport, Reservation, WorkerInfo,
};

const NAME: &str = "memory";

/// Stores jobs in process memory. Clones share the same store.
#[derive(Debug, Clone)]
pub struct MemoryDriver {
    inner: Arc<Inner>,
    max_payload: usize,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Debug)]
struct StoredJob {
    queue: QueueName,
    max_tries: u32,
    payload: Vec<u8>,
    attempts: u32,
}

#[derive(Debug, Default)]
struct QueueState {
    /// (job, available-at ms), FIFO.
    ready: VecDeque<(JobId, i64)>,
    /// (available-at ms, sequence) → job.
    delayed: BTreeMap<(i64, u64), JobId>,
    /// job → (owner token, lease deadline ms).
    reserved: HashMap<JobId, (LeaseToken, i64)>,
}

#[derive(Debug)]
struct FailedRecord {
    job: FailedJob,
    max_tries: u32,
    seq: u64,
}

#[derive(Debug, Default)]
struct State {
    seq: u64,
    jobs: HashMap<JobId, StoredJob>,
    queues: BTreeMap<QueueName, QueueState>,
    failed: HashMap<JobId, FailedRecord>,
    /// worker id → (info, expiry ms).
    workers: BTreeMap<String, (WorkerInfo, i64)>,
}

impl Default for MemoryDriver {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDriver {
    /// The default payload limit: 64 MiB.
    pub const DEFAULT_MAX_PAYLOAD: usize = 64 << 20;

    /// An empty store.
    pub fn new() -> Self {
        MemoryDriver {
            inner: Arc::new(Inner::default()),
            max_payload: Self::DEFAULT_MAX_PAYLOAD,
        }
    }

    /// Sets the payload limit in bytes.
    pub fn with_max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_size(&self, job: &PendingJob) -> Result<(), DriverError> {
        if job.payload.len() > self.max_payload {
            return Err(DriverError::PayloadTooLarge {
                size: job.payload.len(),
                limit: self.max_payload,
                driver: NAME,
            });
        }
        Ok(())
    }
}

impl State {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn insert(&mut self, job: PendingJob, now: i64) {
        let at = job.available_at.map(unix_ms).unwrap_or(now);
        let seq = self.next_seq();
        let q = self.queues.entry(job.queue.clone()).or_default();
        if at > now {
            q.delayed.insert((at, seq), job.id.clone());
        } else {
            q.ready.push_back((job.id.clone(), at));
        }
        self.jobs.insert(
            job.id,
            StoredJob {
                queue: job.queue,
                max_tries: job.max_tries.max(1),
                payload: job.payload,
                attempts: 0,
            },
        );
    }

    fn promote_due(&mut self, queue: &QueueName, now: i64) {
        if let Some(q) = self.queues.get_mut(queue) {
            while let Some(entry) = q.delayed.first_entry() {
                let (at, _) = *entry.key();
                if at > now {
                    break;
                }
                let id = entry.remove();
                q.ready.push_back((id, at));
            }
        }
    }

    /// Checks the owner token; returns the stored reservation's deadline.
    fn owned(&self, lease: &Lease) -> Result<i64, DriverError> {
        self.queues
            .get(&lease.queue)
            .and_then(|q| q.reserved.get(&lease.job_id))
            .filter(|(token, _)| *token == lease.token)
            .map(|(_, deadline)| *deadline)
            .ok_or_else(|| DriverError::LeaseLost {
                job_id: lease.job_id.clone(),
            })
    }

    fn move_to_failed(&mut self, id: &JobId, exception: String, now: i64) {
        if let Some(job) = self.jobs.remove(id) {
            let seq = self.next_seq();
            self.failed.insert(
                id.clone(),
                FailedRecord {
                    job: FailedJob {
                        id: id.clone(),
                        connection: NAME.to_owned(),
                        queue: job.queue.to_string(),
                        payload: job.payload,
                        exception,
                        failed_at: from_unix_ms(now),
                    },
                    max_tries: job.max_tries,
                    seq,
                },
            );
        }
    }
}

#[async_trait]
impl Driver for MemoryDriver {
    fn connection_name(&self) -> &'static str {
        NAME
    }

    fn max_payload_bytes(&self) -> usize {
        self.max_payload
    }

    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError> {
        self.check_size(&job)?;
        let id = job.id.clone();
        self.state().insert(job, unix_ms(SystemTime::now()));
        self.inner.notify.notify_waiters();
        Ok(id)
    }

    async fn push_bulk(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        for job in &jobs {
            self.check_size(job)?;
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
        let now = unix_ms(SystemTime::now());
        let deadline = now.saturating_add(lease.as_millis() as i64);
        let mut state = self.state();
        let mut out = Vec::new();
        for queue in queues {
            if out.len() >= max {
                break;
            }
            state.promote_due(queue, now);
            while out.len() < max {
                let State { jobs, queues, .. } = &mut *state;
                let Some(q) = queues.get_mut(queue) else {
                    break;
                };
                let Some((id, _)) = q.ready.pop_front() else {
                    break;
                };
                let Some(job) = jobs.get_mut(&id) else {
                    continue;
                };
                job.attempts += 1;
                let token = LeaseToken::random();
                q.reserved.insert(id.clone(), (token.clone(), deadline));
                out.push(Reservation {
                    lease: Lease {
                        job_id: id,
                        queue: queue.clone(),
                        token,
                        expires_at: from_unix_ms(deadline),
                    },
                    attempt: job.attempts,
                    max_tries: job.max_tries,
                    payload: job.payload.clone(),
                });
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
            let state = self.state();
            for queue in queues {
                let Some(q) = state.queues.get(queue) else {
                    continue;
                };
                if !q.ready.is_empty() {
                    return Ok(());
                }
                if let Some(((at, _), _)) = q.delayed.first_key_value() {
                    let due_in = Duration::from_millis((*at - now).max(0) as u64);
                    wait = wait.min(due_in);
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
        let mut state = self.state();
        state.owned(lease)?;
        if let Some(q) = state.queues.get_mut(&lease.queue) {
            q.reserved.remove(&lease.job_id);
        }
        state.jobs.remove(&lease.job_id);
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
        let now = unix_ms(SystemTime::now());
        {
            let mut state = self.state();
            state.owned(lease)?;
            let seq = state.next_seq();
            let q = state.queues.entry(lease.queue.clone()).or_default();
            q.reserved.remove(&lease.job_id);
            if delay.is_zero() {
                q.ready.push_back((lease.job_id.clone(), now));
            } else {
                let at = now.saturating_add(delay.as_millis() as i64);
                q.delayed.insert((at, seq), lease.job_id.clone());
            }
        }
        self.inner.notify.notify_waiters();
        Ok(())
    }

    async fn fail(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        let mut state = self.state();
        state.owned(lease)?;
        if let Some(q) = state.queues.get_mut(&lease.queue) {
            q.reserved.remove(&lease.job_id);
        }
        state.move_to_failed(&lease.job_id, error.to_owned(), unix_ms(SystemTime::now()));
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
                    if attempts >= max_tries {
                        state.move_to_failed(
                            &id,
                            format!(
                                "lease expired on attempt {attempts} of {max_tries}: the worker stopped or hung before finishing the job"
                            ),
                            now,
                        );
                        report.failed += 1;
                    } else {
                        state
                            .queues
                            .entry(queue.clone())
                            .or_default()
                            .ready
                            .push_back((id, now));
                        report.released += 1;
                    }
                }
            }
        }
        if report.released > 0 {
            self.inner.notify.notify_waiters();
        }
        Ok(report)
    }

    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        state.promote_due(queue, now);
        let failed = state
            .failed
            .values()
            .filter(|f| f.job.queue == queue.as_str())
            .count() as u64;
        let q = state.queues.get(queue);
        Ok(QueueStats {
            queue: queue.to_string(),
            ready: q.map_or(0, |q| q.ready.len() as u64),
            delayed: q.map_or(0, |q| q.delayed.len() as u64),
            reserved: q.map_or(0, |q| q.reserved.len() as u64),
            failed,
            oldest_ready_age: q
                .and_then(|q| q.ready.iter().map(|(_, at)| *at).min())
                .map(|at| Duration::from_millis((now - at).max(0) as u64)),
        })
    }

    async fn queues(&self) -> Result<Vec<QueueName>, DriverError> {
        let state = self.state();
        let mut names: BTreeSet<QueueName> = state.queues.keys().cloned().collect();
        for f in state.failed.values() {
            if let Ok(q) = QueueName::new(f.job.queue.clone()) {
                names.insert(q);
            }
        }
        Ok(names.into_iter().collect())
    }

    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError> {
        let mut state = self.state();
        let Some(q) = state.queues.get_mut(queue) else {
            return Ok(0);
        };
        let ids: Vec<JobId> = q
            .ready
            .drain(..)
            .map(|(id, _)| id)
            .chain(std::mem::take(&mut q.delayed).into_values())
            .chain(q.reserved.drain().map(|(id, _)| id))
            .collect();
        for id in &ids {
            state.jobs.remove(id);
        }
        Ok(ids.len() as u64)
    }

    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError> {
        let state = self.state();
        let mut records: Vec<&FailedRecord> = state
            .failed
            .values()
            .filter(|f| {
                query
                    .queue
                    .as_ref()
                    .is_none_or(|q| f.job.queue == q.as_str())
            })
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.seq));
        Ok(records
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|r| r.job.clone())
            .collect())
    }

    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError> {
        Ok(self.state().failed.get(id).map(|r| r.job.clone()))
    }

    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError> {
        {
            let mut state = self.state();
            let Some(record) = state.failed.remove(id) else {
                return Ok(false);
            };
            let queue = match QueueName::new(record.job.queue.clone()) {
                Ok(q) => q,
                Err(e) => {
                    state.failed.insert(id.clone(), record);
                    return Err(e);
                }
            };
            state.insert(
                PendingJob {
                    id: id.clone(),
                    queue,
                    max_tries: record.max_tries,
                    payload: record.job.payload,
                    available_at: None,
                },
                unix_ms(SystemTime::now()),
            );
        }
        self.inner.notify.notify_waiters();
        Ok(true)
    }

    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError> {
        Ok(self.state().failed.remove(id).is_some())
    }

    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError> {
        let mut state = self.state();
        let before = state.failed.len();
        state
            .failed
            .retain(|_, f| queue.is_some_and(|q| f.job.queue != q.as_str()));
        Ok((before - state.failed.len()) as u64)
    }

    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError> {
        let mut state = self.state();
        let before = state.failed.len();
        state.failed.retain(|_, f| f.job.failed_at >= cutoff);
        Ok((before - state.failed.len()) as u64)
    }

    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError> {
        let expires = unix_ms(SystemTime::now()).saturating_add(ttl.as_millis() as i64);
        self.state()
            .workers
            .insert(info.id.clone(), (info.clone(), expires));
        Ok(())
    }

    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        self.state().workers.remove(worker_id);
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        state.workers.retain(|_, (_, expires)| *expires > now);
        Ok(state.workers.values().map(|(w, _)| w.clone()).collect())
    }
}
