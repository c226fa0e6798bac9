//! [`RedisDriver`] and its [`Driver`] implementation (the work is done in the
//! `lifecycle`, `admin`, `failed` and `wait` modules).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use routemq_core::{
    AckOutcome, Driver, DriverError, FailedJob, FailedQuery, JobId, Lease, PendingJob, QueueName,
    QueueStats, ReclaimReport, Reservation, WorkerInfo,
};

use crate::keys::Keys;
use crate::pool::Pool;
use crate::wait::Waiter;
use crate::{ConfigError, KeyMode, RedisConfig, NAME};

/// The Redis driver. Cheap to clone: clones share the pool.
#[derive(Debug, Clone)]
pub struct RedisDriver {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub pool: Pool,
    pub keys: Keys,
    pub mode: KeyMode,
    pub max_payload: usize,
    pub waiter: Waiter,
    /// Queues this driver added to the registry lately (re-added after
    /// [`REGISTER_EVERY`], so a flushed registry heals), to keep `SADD` off the
    /// single-push path.
    pub registered: Mutex<HashMap<QueueName, Instant>>,
}

/// How long a queue counts as registered before a push adds it again.
const REGISTER_EVERY: Duration = Duration::from_secs(30);

impl Inner {
    /// True when a push to `queue` should add it to the registry too.
    pub fn needs_register(&self, queue: &QueueName) -> bool {
        let map = self.registered.lock().unwrap_or_else(|p| p.into_inner());
        map.get(queue)
            .is_none_or(|at| at.elapsed() > REGISTER_EVERY)
    }

    /// Records that `queue` was just added to the registry.
    pub fn mark_registered(&self, queue: &QueueName) {
        let mut map = self.registered.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(queue.clone(), Instant::now());
    }
}

impl RedisDriver {
    /// Builds the driver. Connections are opened on first use, so this does not
    /// fail when the server is down; call [`RedisDriver::ping`] to check.
    pub fn new(config: RedisConfig) -> Result<Self, ConfigError> {
        #[cfg(feature = "tls")]
        {
            // `rediss://` needs a process-wide rustls crypto provider; keep one an
            // application installed already.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let pool = Pool::new(&config)?;
        let waiter = Waiter::new(&config)?;
        Ok(RedisDriver {
            inner: Arc::new(Inner {
                pool,
                keys: Keys::new(&config.prefix, config.key_mode),
                mode: config.key_mode,
                max_payload: config.max_payload,
                waiter,
                registered: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Builds the driver from the environment ([`RedisConfig::from_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(RedisConfig::from_env()?)
    }

    /// Round trip to the server: `Unavailable` when it cannot be reached.
    pub async fn ping(&self) -> Result<(), DriverError> {
        let _: String = self.inner.pool.cmd(&redis::cmd("PING")).await?;
        Ok(())
    }

    pub(crate) fn check_size(&self, job: &PendingJob) -> Result<(), DriverError> {
        if job.payload.len() > self.inner.max_payload {
            return Err(DriverError::PayloadTooLarge {
                size: job.payload.len(),
                limit: self.inner.max_payload,
                driver: NAME,
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Driver for RedisDriver {
    fn connection_name(&self) -> &'static str {
        NAME
    }

    fn max_payload_bytes(&self) -> usize {
        self.inner.max_payload
    }

    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError> {
        self.push_one(job).await
    }

    async fn push_bulk(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        self.push_many(jobs).await
    }

    async fn claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Reservation>, DriverError> {
        self.claim_jobs(queues, max, lease).await
    }

    async fn wait_for_jobs(
        &self,
        queues: &[QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError> {
        self.wait(queues, timeout).await
    }

    async fn ack(&self, lease: &Lease) -> Result<(), DriverError> {
        let outcome = self.ack_leases(std::slice::from_ref(lease)).await?;
        match outcome.lost.into_iter().next() {
            Some(job_id) => Err(DriverError::LeaseLost { job_id }),
            None => Ok(()),
        }
    }

    async fn ack_batch(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError> {
        self.ack_leases(leases).await
    }

    async fn release(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        self.release_job(lease, delay).await
    }

    async fn fail(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        self.fail_job(lease, error).await
    }

    async fn extend_lease(
        &self,
        lease: &Lease,
        lease_for: Duration,
    ) -> Result<SystemTime, DriverError> {
        self.extend(lease, lease_for).await
    }

    async fn reclaim_expired(&self, queues: &[QueueName]) -> Result<ReclaimReport, DriverError> {
        self.reclaim(queues).await
    }

    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        self.queue_stats(queue).await
    }

    async fn queues(&self) -> Result<Vec<QueueName>, DriverError> {
        self.known_queues().await
    }

    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError> {
        self.clear_queue(queue).await
    }

    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError> {
        self.list_failed(query).await
    }

    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError> {
        Ok(self.find_failed(id).await?.map(|found| found.job))
    }

    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError> {
        self.retry_failed(id).await
    }

    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError> {
        self.forget_failed(id).await
    }

    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError> {
        self.flush_failed(queue).await
    }

    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError> {
        self.prune_failed(cutoff).await
    }

    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError> {
        self.record_heartbeat(info, ttl).await
    }

    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        self.drop_worker(worker_id).await
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
        self.live_workers().await
    }
}
