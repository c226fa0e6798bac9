//! The contract every storage backend implements.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{CodecError, DriverError, Envelope, JobId, QueueName};

/// A job ready to be stored: its encoded envelope and when it becomes claimable.
#[derive(Debug, Clone)]
pub struct PendingJob {
    /// The job's id (the same as inside `payload`).
    pub id: JobId,
    /// Target queue (the same as inside `payload`).
    pub queue: QueueName,
    /// Attempts allowed (the same as inside `payload`); drivers keep it beside the
    /// payload so that reclaiming an expired lease needs no decoding.
    pub max_tries: u32,
    /// The encoded [`Envelope`], stored byte for byte.
    pub payload: Vec<u8>,
    /// When the job becomes claimable; `None` means now.
    pub available_at: Option<SystemTime>,
}

impl PendingJob {
    /// Encodes `envelope` for storage, claimable at `available_at` (`None` = now).
    pub fn new(envelope: &Envelope, available_at: Option<SystemTime>) -> Result<Self, CodecError> {
        Ok(PendingJob {
            id: envelope.id.clone(),
            queue: envelope.queue.clone(),
            max_tries: envelope.max_tries.max(1),
            payload: envelope.encode()?,
            available_at,
        })
    }
}

/// The owner token of one reservation. Opaque to callers; a driver may encode
/// routing data in it (the MySQL driver puts the row id there).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaseToken(pub String);

impl LeaseToken {
    /// A fresh random token (128 bits, hex).
    pub fn random() -> Self {
        LeaseToken(format!("{:032x}", rand::random::<u128>()))
    }
}

impl fmt::Debug for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseToken({})", self.0)
    }
}

/// Proof of ownership of one claimed job, valid until `expires_at` unless extended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The claimed job.
    pub job_id: JobId,
    /// The queue it was claimed from.
    pub queue: QueueName,
    /// The owner token that fences every state change.
    pub token: LeaseToken,
    /// When the backend may hand the job to someone else.
    pub expires_at: SystemTime,
}

/// One claimed job.
#[derive(Debug, Clone)]
pub struct Reservation {
    /// Ownership of the job.
    pub lease: Lease,
    /// This attempt's number, 1-based: attempts are counted at claim.
    pub attempt: u32,
    /// Attempts allowed, as the backend knows it.
    pub max_tries: u32,
    /// The stored payload, byte for byte (normally an encoded [`Envelope`]; a
    /// foreign or corrupt payload comes back as it is, so the worker can send it to
    /// the failed store with the reason).
    pub payload: Vec<u8>,
}

impl Reservation {
    /// Decodes the payload as an [`Envelope`].
    pub fn envelope(&self) -> Result<Envelope, CodecError> {
        Envelope::decode(&self.payload)
    }
}

/// What a batch acknowledgement did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckOutcome {
    /// Jobs acknowledged (removed).
    pub acked: usize,
    /// Jobs whose lease was lost: they were left untouched.
    pub lost: Vec<JobId>,
}

/// What one [`Driver::reclaim_expired`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReclaimReport {
    /// Expired reservations made claimable again.
    pub released: u64,
    /// Expired reservations that had used every attempt, moved to the failed store.
    pub failed: u64,
}

/// Counts for one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// The queue.
    pub queue: String,
    /// Claimable now.
    pub ready: u64,
    /// Waiting for their time (dispatched later or backing off).
    pub delayed: u64,
    /// Claimed and not yet finished (including expired leases not yet reclaimed).
    pub reserved: u64,
    /// In the failed store.
    pub failed: u64,
    /// Age of the oldest claimable job, measured from when it became available.
    #[serde(with = "opt_duration_ms")]
    pub oldest_ready_age: Option<Duration>,
}

mod opt_duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// A job in the failed store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedJob {
    /// The job's id (unique in the failed store).
    pub id: JobId,
    /// The driver's connection name (`redis`, `database`, `memory`).
    pub connection: String,
    /// The queue it failed on.
    pub queue: String,
    /// The stored payload, byte for byte.
    pub payload: Vec<u8>,
    /// Why it failed: the last error, panic message, timeout or decode problem.
    pub exception: String,
    /// When it failed.
    pub failed_at: SystemTime,
}

/// Which failed jobs to list: newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedQuery {
    /// Only this queue; `None` = all queues.
    pub queue: Option<QueueName>,
    /// Skip this many (newest first).
    pub offset: usize,
    /// Return at most this many.
    pub limit: usize,
}

impl Default for FailedQuery {
    fn default() -> Self {
        FailedQuery {
            queue: None,
            offset: 0,
            limit: 100,
        }
    }
}

/// A live worker's heartbeat, as `routemq workers` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Unique per worker run (a UUIDv7).
    pub id: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Queues it drains, in priority order.
    pub queues: Vec<String>,
    /// Concurrency limit.
    pub concurrency: u32,
    /// Jobs running now.
    pub running: u32,
    /// Jobs finished successfully since start.
    pub processed: u64,
    /// Jobs that failed for good since start.
    pub failed: u64,
    /// Start time, milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// Time of this heartbeat, milliseconds since the Unix epoch.
    pub last_seen_ms: i64,
}

/// A storage backend for jobs.
///
/// # Contract (checked for every driver by [`conformance`](crate#conformance))
/// - **At-least-once.** [`claim`](Driver::claim) hands out [`Reservation`]s with a
///   lease; a job is removed only by [`ack`](Driver::ack) or moved by
///   [`release`](Driver::release) / [`fail`](Driver::fail). Every mutating call on a
///   reservation succeeds only for the current owner token; a stale owner gets
///   [`DriverError::LeaseLost`] and the call changes nothing.
/// - **Order.** FIFO within a queue among jobs that became available at the same
///   time; `claim` over several queues drains them in the order given.
/// - **Delays** have millisecond precision and due jobs become claimable with no
///   extra process: `claim` itself moves them.
/// - **Attempts** are counted at claim ([`Reservation::attempt`]).
/// - **Expired leases** are made claimable again by
///   [`reclaim_expired`](Driver::reclaim_expired) (a driver may also do it inside
///   `claim`); a job whose attempts are used up goes to the failed store instead.
/// - **Errors** from the backend are returned, never reported as "no job".
///
/// # Cancellation
/// Dropping a future of [`wait_for_jobs`](Driver::wait_for_jobs) is always safe.
/// Dropping any other call's future may leave its change applied or not, but never
/// loses a job: a claim whose answer was dropped leaves reservations that are
/// reclaimed once their lease expires.
#[async_trait]
pub trait Driver: Send + Sync + fmt::Debug + 'static {
    /// The connection name recorded in failed jobs: `redis`, `database` or `memory`.
    fn connection_name(&self) -> &'static str;

    /// The largest encoded payload the backend accepts, in bytes.
    fn max_payload_bytes(&self) -> usize;

    /// Stores one job. Fails with [`DriverError::PayloadTooLarge`] over the limit.
    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError>;

    /// Stores many jobs in as few round trips as the backend allows (one for Redis,
    /// chunked multi-row INSERTs for MySQL), returning ids in input order. Checks
    /// every payload's size before storing any.
    async fn push_bulk(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError>;

    /// Claims up to `max` claimable jobs, taking from `queues` in the order given
    /// (all of the first before any of the second), each leased for `lease`.
    /// Moves due delayed jobs first. Returns at once, possibly with nothing.
    async fn claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Reservation>, DriverError>;

    /// Waits until a job may be claimable on one of `queues` or `timeout` passes,
    /// whichever is first. May return early without work (callers claim and see);
    /// must not return late by more than a few milliseconds after a push or a
    /// delayed job's due time, unless the driver documents a polling interval.
    async fn wait_for_jobs(
        &self,
        queues: &[QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError>;

    /// Removes a finished job.
    async fn ack(&self, lease: &Lease) -> Result<(), DriverError>;

    /// Removes many finished jobs in one round trip where the backend allows it.
    /// Leases that were lost are reported, not errors.
    async fn ack_batch(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError>;

    /// Gives a job back: claimable again after `delay` (zero = at once), keeping its
    /// attempt count.
    async fn release(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError>;

    /// Moves a job to the failed store with `error` as the reason.
    async fn fail(&self, lease: &Lease, error: &str) -> Result<(), DriverError>;

    /// Extends the lease to `now + lease_for`; returns the new deadline.
    async fn extend_lease(
        &self,
        lease: &Lease,
        lease_for: Duration,
    ) -> Result<SystemTime, DriverError>;

    /// Makes expired reservations on `queues` claimable again, or moves them to the
    /// failed store when their attempts are used up.
    async fn reclaim_expired(&self, queues: &[QueueName]) -> Result<ReclaimReport, DriverError>;

    /// Counts for one queue; cheap (no scan of the queue's jobs).
    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError>;

    /// Queues that hold or held jobs (including failed ones), sorted by name.
    async fn queues(&self) -> Result<Vec<QueueName>, DriverError>;

    /// Deletes every ready, delayed and reserved job of `queue` (holders of
    /// reservations get `LeaseLost` afterwards); returns how many. The failed store
    /// is left alone.
    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError>;

    /// Failed jobs, newest first.
    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError>;

    /// One failed job.
    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError>;

    /// Moves a failed job back to its queue, claimable at once with attempts reset,
    /// atomically (a crash cannot leave it in both places or neither). `false` when
    /// no such failed job exists.
    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError>;

    /// Deletes a failed job; `false` when no such failed job exists.
    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError>;

    /// Deletes every failed job, or those of one queue; returns how many.
    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError>;

    /// Deletes failed jobs that failed before `cutoff`; returns how many.
    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError>;

    /// Records a worker's heartbeat, visible to [`workers`](Driver::workers) for
    /// `ttl` unless renewed.
    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError>;

    /// Removes a worker's heartbeat (on clean shutdown).
    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError>;

    /// Workers whose heartbeat has not expired, sorted by id.
    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError>;
}
