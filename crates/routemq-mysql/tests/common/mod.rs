//! Shared by the integration tests: a migrated driver over a fresh schema, and
//! a [`Driver`] wrapper that keeps the schema alive as long as the driver.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use routemq_core::{
    async_trait, AckOutcome, Driver, DriverError, FailedJob, FailedQuery, JobId, Lease, PendingJob,
    QueueName, QueueStats, ReclaimReport, Reservation, WorkerInfo,
};
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_testkit::mysql::MysqlSchema;

/// A migrated driver over a fresh schema; `tune` adjusts the settings.
pub async fn fresh_with(tune: impl FnOnce(&mut MysqlConfig)) -> Held {
    let schema = MysqlSchema::create()
        .await
        .expect("a MySQL/MariaDB for tests");
    let mut config = MysqlConfig::from_url(schema.url()).unwrap();
    tune(&mut config);
    let driver = MysqlDriver::connect_and_migrate(config)
        .await
        .expect("connect and migrate");
    Held {
        driver,
        _schema: Arc::new(schema),
    }
}

/// A migrated driver over a fresh schema with default settings.
pub async fn fresh() -> Held {
    fresh_with(|_| {}).await
}

/// The driver and the schema it lives in (dropped together).
#[derive(Debug, Clone)]
pub struct Held {
    pub driver: MysqlDriver,
    _schema: Arc<MysqlSchema>,
}

pub fn q(name: &str) -> QueueName {
    QueueName::new(name).unwrap()
}

#[async_trait]
impl Driver for Held {
    fn connection_name(&self) -> &'static str {
        self.driver.connection_name()
    }
    fn max_payload_bytes(&self) -> usize {
        self.driver.max_payload_bytes()
    }
    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError> {
        self.driver.push(job).await
    }
    async fn push_bulk(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        self.driver.push_bulk(jobs).await
    }
    async fn claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Reservation>, DriverError> {
        self.driver.claim(queues, max, lease).await
    }
    async fn wait_for_jobs(
        &self,
        queues: &[QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError> {
        self.driver.wait_for_jobs(queues, timeout).await
    }
    async fn ack(&self, lease: &Lease) -> Result<(), DriverError> {
        self.driver.ack(lease).await
    }
    async fn ack_batch(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError> {
        self.driver.ack_batch(leases).await
    }
    async fn release(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        self.driver.release(lease, delay).await
    }
    async fn fail(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        self.driver.fail(lease, error).await
    }
    async fn extend_lease(
        &self,
        lease: &Lease,
        lease_for: Duration,
    ) -> Result<SystemTime, DriverError> {
        self.driver.extend_lease(lease, lease_for).await
    }
    async fn reclaim_expired(&self, queues: &[QueueName]) -> Result<ReclaimReport, DriverError> {
        self.driver.reclaim_expired(queues).await
    }
    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        self.driver.stats(queue).await
    }
    async fn queues(&self) -> Result<Vec<QueueName>, DriverError> {
        self.driver.queues().await
    }
    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError> {
        self.driver.clear(queue).await
    }
    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError> {
        self.driver.failed_list(query).await
    }
    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError> {
        self.driver.failed_show(id).await
    }
    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError> {
        self.driver.failed_retry(id).await
    }
    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError> {
        self.driver.failed_forget(id).await
    }
    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError> {
        self.driver.failed_flush(queue).await
    }
    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError> {
        self.driver.failed_prune(cutoff).await
    }
    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError> {
        self.driver.heartbeat(info, ttl).await
    }
    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        self.driver.remove_worker(worker_id).await
    }
    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
        self.driver.workers().await
    }
}

/// A pending job `n` on `queue` (JSON envelope), claimable at `at`.
pub fn job(queue: &QueueName, n: u64, at: Option<SystemTime>) -> PendingJob {
    let envelope = routemq_core::Envelope {
        id: JobId::generate(),
        name: "mysql.test".into(),
        queue: queue.clone(),
        codec: routemq_core::Codec::Json,
        data: format!("{{\"n\":{n}}}").into_bytes(),
        max_tries: 3,
        timeout: Duration::from_secs(30),
        backoff: routemq_core::Backoff::fixed(Duration::from_secs(1)),
        created_at_ms: routemq_core::unix_ms(SystemTime::now()),
        trace: Default::default(),
    };
    PendingJob::new(&envelope, at).unwrap()
}

/// A connection to the driver's schema for raw SQL.
pub async fn raw(held: &Held) -> routemq_mysql::mysql_async::Conn {
    held.driver.pool().get_conn().await.unwrap()
}
