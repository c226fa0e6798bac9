//! Job lifecycle: storing jobs, claiming them under a lease, and settling each
//! reservation (ack, release, fail, extend), plus reclaiming expired leases.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::envelope::DataCheck;
use crate::{
    CodecError, Dispatched, DriverError, Envelope, GroupKey, JobId, QueueName, Uniqueness,
};

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
    /// The job's group (see [`GroupKey`]); `None` keeps the queue's plain FIFO.
    pub group: Option<GroupKey>,
}

impl PendingJob {
    /// Encodes `envelope` for storage, claimable at `available_at` (`None` = now).
    pub fn new(envelope: &Envelope, available_at: Option<SystemTime>) -> Result<Self, CodecError> {
        let payload = envelope.encode()?;
        Ok(Self::stored(
            envelope.id.clone(),
            envelope.queue.clone(),
            envelope.max_tries,
            payload,
            available_at,
        ))
    }

    /// Encodes `envelope` for storage like [`PendingJob::new`], taking its id
    /// and queue instead of copying them (a dispatch's envelope is built for
    /// this and dropped after), with `check` for its data (see [`DataCheck`]).
    pub(crate) fn encoded(
        envelope: Envelope,
        available_at: Option<SystemTime>,
        check: DataCheck,
    ) -> Result<Self, CodecError> {
        let payload = envelope.encode_checked(check)?;
        Ok(Self::stored(
            envelope.id,
            envelope.queue,
            envelope.max_tries,
            payload,
            available_at,
        ))
    }

    /// An ungrouped job of encoded `payload`, allowed at least one attempt.
    fn stored(
        id: JobId,
        queue: QueueName,
        max_tries: u32,
        payload: Vec<u8>,
        available_at: Option<SystemTime>,
    ) -> Self {
        PendingJob {
            id,
            queue,
            max_tries: max_tries.max(1),
            payload,
            available_at,
            group: None,
        }
    }

    /// `self` in `group` (`None`: ungrouped).
    pub fn in_group(mut self, group: Option<GroupKey>) -> Self {
        self.group = group;
        self
    }

    /// [`DriverError::PayloadTooLarge`] naming `driver` when the payload is over
    /// `limit` bytes: every driver's check before it stores anything.
    pub fn check_size(&self, limit: usize, driver: &'static str) -> Result<(), DriverError> {
        if self.payload.len() > limit {
            return Err(DriverError::PayloadTooLarge {
                size: self.payload.len(),
                limit,
                driver,
            });
        }
        Ok(())
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
    /// The job's group, as it was pushed (`None`: ungrouped): what a push-back
    /// ([`RateLimits::hold_group`](crate::RateLimits::hold_group)) holds.
    pub group: Option<GroupKey>,
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

/// What one [`JobLifecycle::reclaim_expired`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReclaimReport {
    /// Expired reservations made claimable again.
    pub released: u64,
    /// Expired reservations that had used every attempt, moved to the failed store.
    pub failed: u64,
}

/// How jobs are stored, claimed and settled: the part of the contract the worker
/// runs on.
///
/// # Contract (checked for every driver by the conformance suite's lifecycle rules)
/// - **At-least-once.** [`claim`](JobLifecycle::claim) hands out [`Reservation`]s
///   with a lease; a job is removed only by [`ack`](JobLifecycle::ack) or moved by
///   [`release`](JobLifecycle::release) / [`fail`](JobLifecycle::fail). Every
///   mutating call on a reservation succeeds only for the current owner token; a
///   stale owner gets [`DriverError::LeaseLost`] and the call changes nothing.
/// - **Order.** FIFO within a queue among jobs that became available at the same
///   time; `claim` over several queues drains them in the order given. A job
///   that becomes visible late (its push's transaction committed after newer
///   jobs were claimed) may be claimed after those newer jobs: the MySQL driver
///   claims it at once when nothing newer waits, else within 500 ms.
/// - **Delays** have millisecond precision and due jobs become claimable with no
///   extra process: `claim` itself moves them.
/// - **Attempts** are counted at claim ([`Reservation::attempt`]).
/// - **Expired leases** are made claimable again by
///   [`reclaim_expired`](JobLifecycle::reclaim_expired) (a driver may also do it
///   inside `claim`); a job whose attempts are used up goes to the failed store
///   instead.
/// - **Errors** from the backend are returned, never reported as "no job".
///
/// # Cancellation
/// Dropping a future of [`wait_for_jobs`](JobLifecycle::wait_for_jobs) is always
/// safe. Dropping any other call's future may leave its change applied or not, but
/// never loses a job: a claim whose answer was dropped leaves reservations that are
/// reclaimed once their lease expires.
#[async_trait]
pub trait JobLifecycle: Send + Sync + fmt::Debug + 'static {
    /// The connection name recorded in failed jobs: `redis`, `database` or `memory`.
    fn connection_name(&self) -> &'static str;

    /// The largest encoded payload the backend accepts, in bytes.
    fn max_payload_bytes(&self) -> usize;

    /// Stores one job. Fails with [`DriverError::PayloadTooLarge`] over the limit.
    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError>;

    /// Stores one job under a uniqueness key, atomically with its lock (one
    /// script, one transaction, one mutex section), so concurrent dispatches of
    /// one key store exactly one job.
    ///
    /// # Unique jobs (checked by the conformance suite's `unique_*` rules)
    /// - Keys are per queue (`job.queue`). A key is *held* while its lock exists,
    ///   has not expired and its job still exists (a lock whose job is gone counts
    ///   as free and is taken over).
    /// - Held: nothing is stored; returns the holder's id with `duplicate`. With
    ///   `unique.debounce` and a holder that has never been claimed, the holder
    ///   keeps its id but takes `job`'s payload, `max_tries` and due time
    ///   (`available_at`), and `debounced` is set too.
    /// - Free: stores `job` like [`push`](JobLifecycle::push) and locks the key
    ///   for it, with an expiry of [`Uniqueness::lock_ttl`].
    /// - Release, only ever of a lock that still names the job: at claim for
    ///   [`UntilStarted`](crate::UniqueScope::UntilStarted); otherwise on ack,
    ///   on fail, when [`reclaim_expired`](JobLifecycle::reclaim_expired) fails a
    ///   job out of tries, and on [`clear`](crate::QueueAdmin::clear).
    ///   A reclaimed job that goes back to its queue keeps its lock (it still
    ///   exists and will run); `release` (a retry) keeps it too.
    ///   [`For`](crate::UniqueScope::For) locks also expire by themselves.
    async fn push_unique(
        &self,
        job: PendingJob,
        unique: &Uniqueness,
    ) -> Result<Dispatched, DriverError>;

    /// Stores many jobs in as few round trips as the backend allows, returning ids
    /// in input order. Checks every payload's size before storing any. Redis: one
    /// `MULTI`/`EXEC` per 1,000 ungrouped jobs of one queue, sent one after
    /// another (an error stops at its chunk, the chunks before it stored; within
    /// the failing chunk, a command Redis refuses while queueing aborts it whole,
    /// while a runtime error such as `WRONGTYPE` fails that command alone, as
    /// Redis does not roll a transaction back), or one pipeline of
    /// `push.lua` calls when the jobs are grouped or span queues; MySQL: chunked
    /// multi-row INSERTs in one transaction, all or nothing; memory: all at once.
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

    /// An idle worker's wait and the claim after it: waits like
    /// [`wait_for_jobs`](JobLifecycle::wait_for_jobs) (at most `timeout`), then
    /// claims like [`claim`](JobLifecycle::claim) and returns what that got,
    /// possibly nothing (woken early, the timeout passed, or another worker was
    /// faster). A driver may send the claim together with the wait so that it
    /// runs the moment the wait ends, saving the round trip between them (Redis
    /// does, see its crate docs); the default waits, then claims.
    ///
    /// `stop` ends the wait early: the call then returns `Ok` with nothing
    /// claimed (a claim already under way when `stop` fires gives its jobs back
    /// unstarted, their attempt not counted). Callers cancel through `stop`
    /// rather than by dropping the future: a future dropped after the claim
    /// reached the backend leaves its jobs leased until their lease expires.
    async fn wait_and_claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
        timeout: Duration,
        stop: &CancellationToken,
    ) -> Result<Vec<Reservation>, DriverError> {
        wait_then_claim(self, queues, max, lease, timeout, stop).await
    }

    /// Removes a finished job.
    async fn ack(&self, lease: &Lease) -> Result<(), DriverError>;

    /// Removes many finished jobs in one round trip where the backend allows it.
    /// Leases that were lost are reported, not errors.
    async fn ack_batch(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError>;

    /// Gives a job back: claimable again after `delay` (zero = at once), keeping its
    /// attempt count.
    async fn release(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError>;

    /// Gives a job back like [`release`](JobLifecycle::release), and gives back
    /// the attempt its claim counted: the next claim of the job has the same
    /// attempt number as this one. For an attempt that did not count, such as a
    /// handler pushed back by a rate limit
    /// ([`JobError::rate_limited`](crate::JobError::rate_limited)). Fenced by the
    /// owner token like every call on a reservation.
    async fn release_uncounted(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError>;

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
}

/// [`JobLifecycle::wait_and_claim`] in two steps, as its default does:
/// [`wait_for_jobs`](JobLifecycle::wait_for_jobs) (ended early by `stop`),
/// then, unless `stop` fired, [`claim`](JobLifecycle::claim). For drivers that
/// send the claim with the wait only in some setups.
pub async fn wait_then_claim<D: JobLifecycle + ?Sized>(
    driver: &D,
    queues: &[QueueName],
    max: usize,
    lease: Duration,
    timeout: Duration,
    stop: &CancellationToken,
) -> Result<Vec<Reservation>, DriverError> {
    tokio::select! {
        biased;
        _ = stop.cancelled() => return Ok(Vec::new()),
        waited = driver.wait_for_jobs(queues, timeout) => waited?,
    }
    if stop.is_cancelled() {
        return Ok(Vec::new());
    }
    driver.claim(queues, max, lease).await
}
