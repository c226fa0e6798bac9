//! A fault injector over the real `MemoryDriver`: fails the next K calls of chosen
//! operations with a transient error and counts every call.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use routemq_core::{
    async_trait, AckOutcome, DriverError, FailedJob, FailedQuery, FailedStore, JobId, JobLifecycle,
    Lease, MemoryDriver, PendingJob, QueueAdmin, QueueName, QueueStats, RateLimit, RateLimits,
    ReclaimReport, Reservation, WorkerInfo, WorkerRegistry,
};
use routemq_core::{Dispatched, Uniqueness};
use routemq_core::{FireOutcome, Schedule, ScheduleState, ScheduleStore, Tick, UpsertOutcome};

/// How many upcoming calls of each operation fail.
#[derive(Debug, Default)]
pub struct Faults {
    pub claim: AtomicU32,
    pub ack: AtomicU32,
    pub release: AtomicU32,
    pub fail: AtomicU32,
    pub extend: AtomicU32,
    pub wait: AtomicU32,
    pub record_history: AtomicU32,
    /// Milliseconds every claim's reply is held back after the claim took effect
    /// (a slow network: the jobs are reserved while the reply is on its way).
    pub claim_reply_delay_ms: AtomicU64,
}

/// Calls seen, failed ones included.
#[derive(Debug, Default)]
pub struct Calls {
    pub claim: AtomicU64,
    pub ack: AtomicU64,
    pub release: AtomicU64,
    pub fail: AtomicU64,
    pub extend: AtomicU64,
    pub wait: AtomicU64,
    pub reclaim: AtomicU64,
    pub heartbeat: AtomicU64,
    pub record_history: AtomicU64,
    pub schedules: AtomicU64,
    /// (asked, got) for every successful claim.
    pub claim_sizes: Mutex<Vec<(usize, usize)>>,
    /// Batch sizes of successful `ack_batch` calls.
    pub ack_sizes: Mutex<Vec<usize>>,
}

impl Calls {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Default)]
pub struct FaultyDriver {
    pub inner: MemoryDriver,
    pub faults: Faults,
    pub calls: Calls,
}

fn hit(calls: &AtomicU64, faults: &AtomicU32) -> Result<(), DriverError> {
    calls.fetch_add(1, Ordering::SeqCst);
    let tripped = faults
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if tripped {
        Err(DriverError::unavailable(
            "memory",
            "injected fault: connection refused",
        ))
    } else {
        Ok(())
    }
}

static NEVER: AtomicU32 = AtomicU32::new(0);

#[async_trait]
impl JobLifecycle for FaultyDriver {
    fn connection_name(&self) -> &'static str {
        self.inner.connection_name()
    }
    fn max_payload_bytes(&self) -> usize {
        self.inner.max_payload_bytes()
    }
    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError> {
        self.inner.push(job).await
    }
    async fn push_unique(
        &self,
        job: PendingJob,
        unique: &Uniqueness,
    ) -> Result<Dispatched, DriverError> {
        self.inner.push_unique(job, unique).await
    }
    async fn push_bulk(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        self.inner.push_bulk(jobs).await
    }
    async fn claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Reservation>, DriverError> {
        hit(&self.calls.claim, &self.faults.claim)?;
        let got = self.inner.claim(queues, max, lease).await?;
        self.calls
            .claim_sizes
            .lock()
            .unwrap()
            .push((max, got.len()));
        let delay = self.faults.claim_reply_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        Ok(got)
    }
    async fn wait_for_jobs(
        &self,
        queues: &[QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError> {
        hit(&self.calls.wait, &self.faults.wait)?;
        self.inner.wait_for_jobs(queues, timeout).await
    }
    async fn ack(&self, lease: &Lease) -> Result<(), DriverError> {
        hit(&self.calls.ack, &self.faults.ack)?;
        self.inner.ack(lease).await
    }
    async fn ack_batch(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError> {
        hit(&self.calls.ack, &self.faults.ack)?;
        let out = self.inner.ack_batch(leases).await?;
        self.calls.ack_sizes.lock().unwrap().push(leases.len());
        Ok(out)
    }
    async fn release(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        hit(&self.calls.release, &self.faults.release)?;
        self.inner.release(lease, delay).await
    }
    async fn release_uncounted(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        hit(&self.calls.release, &self.faults.release)?;
        self.inner.release_uncounted(lease, delay).await
    }
    async fn fail(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        hit(&self.calls.fail, &self.faults.fail)?;
        self.inner.fail(lease, error).await
    }
    async fn extend_lease(
        &self,
        lease: &Lease,
        lease_for: Duration,
    ) -> Result<SystemTime, DriverError> {
        hit(&self.calls.extend, &self.faults.extend)?;
        self.inner.extend_lease(lease, lease_for).await
    }
    async fn reclaim_expired(&self, queues: &[QueueName]) -> Result<ReclaimReport, DriverError> {
        hit(&self.calls.reclaim, &NEVER)?;
        self.inner.reclaim_expired(queues).await
    }
}

#[async_trait]
impl QueueAdmin for FaultyDriver {
    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        self.inner.stats(queue).await
    }
    async fn queues(&self) -> Result<Vec<QueueName>, DriverError> {
        self.inner.queues().await
    }
    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError> {
        self.inner.clear(queue).await
    }
    async fn pause(&self, queue: &QueueName) -> Result<bool, DriverError> {
        self.inner.pause(queue).await
    }
    async fn resume(&self, queue: &QueueName) -> Result<bool, DriverError> {
        self.inner.resume(queue).await
    }
    async fn paused(&self) -> Result<Vec<QueueName>, DriverError> {
        self.inner.paused().await
    }
}

#[async_trait]
impl RateLimits for FaultyDriver {
    async fn set_rate_limit(&self, queue: &QueueName, limit: RateLimit) -> Result<(), DriverError> {
        self.inner.set_rate_limit(queue, limit).await
    }
    async fn rate_limits(&self) -> Result<Vec<(QueueName, RateLimit)>, DriverError> {
        self.inner.rate_limits().await
    }
    async fn clear_rate_limit(&self, queue: &QueueName) -> Result<bool, DriverError> {
        self.inner.clear_rate_limit(queue).await
    }
    async fn hold_queue(&self, queue: &QueueName, duration: Duration) -> Result<(), DriverError> {
        self.inner.hold_queue(queue, duration).await
    }
    async fn set_group_concurrency(&self, queue: &QueueName, cap: u32) -> Result<(), DriverError> {
        self.inner.set_group_concurrency(queue, cap).await
    }
    async fn group_concurrency_limits(&self) -> Result<Vec<(QueueName, u32)>, DriverError> {
        self.inner.group_concurrency_limits().await
    }
    async fn hold_group(
        &self,
        queue: &QueueName,
        group: &routemq_core::GroupKey,
        duration: Duration,
    ) -> Result<(), DriverError> {
        self.inner.hold_group(queue, group, duration).await
    }
}

#[async_trait]
impl FailedStore for FaultyDriver {
    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError> {
        self.inner.failed_list(query).await
    }
    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError> {
        self.inner.failed_show(id).await
    }
    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError> {
        self.inner.failed_retry(id).await
    }
    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError> {
        self.inner.failed_forget(id).await
    }
    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError> {
        self.inner.failed_flush(queue).await
    }
    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError> {
        self.inner.failed_prune(cutoff).await
    }
}

#[async_trait]
impl WorkerRegistry for FaultyDriver {
    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError> {
        hit(&self.calls.heartbeat, &NEVER)?;
        self.inner.heartbeat(info, ttl).await
    }
    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        self.inner.remove_worker(worker_id).await
    }
    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
        self.inner.workers().await
    }
}

#[async_trait]
impl ScheduleStore for FaultyDriver {
    async fn upsert_schedule(
        &self,
        schedule: &Schedule,
        next_run: SystemTime,
    ) -> Result<UpsertOutcome, DriverError> {
        self.inner.upsert_schedule(schedule, next_run).await
    }
    async fn schedules(&self) -> Result<Vec<ScheduleState>, DriverError> {
        self.calls.schedules.fetch_add(1, Ordering::SeqCst);
        self.inner.schedules().await
    }
    async fn remove_schedule(&self, name: &str) -> Result<bool, DriverError> {
        self.inner.remove_schedule(name).await
    }
    async fn fire_tick(&self, tick: Tick) -> Result<FireOutcome, DriverError> {
        self.inner.fire_tick(tick).await
    }
    async fn run_schedule_now(
        &self,
        name: &str,
        job: PendingJob,
        at: SystemTime,
    ) -> Result<Option<JobId>, DriverError> {
        self.inner.run_schedule_now(name, job, at).await
    }
}

#[async_trait]
impl routemq_core::JobTracking for FaultyDriver {
    async fn job_status(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<routemq_core::JobStatus>, DriverError> {
        self.inner.job_status(queue, id).await
    }
    async fn job_result(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError> {
        self.inner.job_result(queue, id).await
    }
    async fn record_runs(&self, reports: &[routemq_core::RunReport]) -> Result<(), DriverError> {
        self.inner.record_runs(reports).await
    }
    async fn ack_and_keep(
        &self,
        lease: &Lease,
        result: Option<&[u8]>,
        keep_for: Duration,
    ) -> Result<(), DriverError> {
        self.inner.ack_and_keep(lease, result, keep_for).await
    }
    async fn cancel(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<routemq_core::CancelOutcome, DriverError> {
        self.inner.cancel(queue, id).await
    }
    async fn cancel_requests(&self, leases: &[Lease]) -> Result<Vec<JobId>, DriverError> {
        self.inner.cancel_requests(leases).await
    }
    async fn ack_cancelled(&self, lease: &Lease) -> Result<(), DriverError> {
        self.inner.ack_cancelled(lease).await
    }
}

#[async_trait]
impl routemq_core::Workflows for FaultyDriver {
    async fn push_chain(&self, chain: routemq_core::ChainPlan) -> Result<Vec<JobId>, DriverError> {
        self.inner.push_chain(chain).await
    }
    async fn push_batch(
        &self,
        batch: routemq_core::BatchPlan,
    ) -> Result<routemq_core::BatchInfo, DriverError> {
        self.inner.push_batch(batch).await
    }
    async fn add_to_batch(
        &self,
        id: &routemq_core::BatchId,
        jobs: Vec<PendingJob>,
    ) -> Result<routemq_core::BatchInfo, DriverError> {
        self.inner.add_to_batch(id, jobs).await
    }
    async fn batch(
        &self,
        id: &routemq_core::BatchId,
    ) -> Result<Option<routemq_core::BatchInfo>, DriverError> {
        self.inner.batch(id).await
    }
    async fn batches(&self) -> Result<Vec<routemq_core::BatchInfo>, DriverError> {
        self.inner.batches().await
    }
    async fn cancel_batch(
        &self,
        id: &routemq_core::BatchId,
    ) -> Result<Option<routemq_core::BatchInfo>, DriverError> {
        self.inner.cancel_batch(id).await
    }
}

#[async_trait]
impl routemq_core::History for FaultyDriver {
    async fn record_history(
        &self,
        deltas: &[routemq_core::HistoryDelta],
    ) -> Result<(), DriverError> {
        hit(&self.calls.record_history, &self.faults.record_history)?;
        self.inner.record_history(deltas).await
    }
    async fn history(
        &self,
        queue: &QueueName,
        from: routemq_core::UnixMinute,
        to: routemq_core::UnixMinute,
    ) -> Result<Vec<routemq_core::MinuteCounts>, DriverError> {
        self.inner.history(queue, from, to).await
    }
}

#[async_trait]
impl routemq_core::JobListing for FaultyDriver {
    async fn list_jobs(
        &self,
        queue: &QueueName,
        page: routemq_core::ListPage,
    ) -> Result<Vec<routemq_core::JobSummary>, DriverError> {
        self.inner.list_jobs(queue, page).await
    }
    async fn job_envelope(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError> {
        self.inner.job_envelope(queue, id).await
    }
}
