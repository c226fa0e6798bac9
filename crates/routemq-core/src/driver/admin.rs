//! Inspection and admin: per-queue counts, the list of known queues, clearing a
//! queue, pausing and resuming a queue.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{DriverError, QueueName};

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
    /// Paused by [`QueueAdmin::pause`]: `claim` takes nothing from it until
    /// [`QueueAdmin::resume`].
    #[serde(default)]
    pub paused: bool,
    /// The queue's rate limit ([`RateLimits::set_rate_limit`](crate::RateLimits::set_rate_limit)),
    /// if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<crate::RateLimit>,
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
/// Inspection and admin of queues: what `routemq stats`, `routemq clear`,
/// `routemq pause` and `routemq resume` use.
///
/// # Pausing (checked by the conformance suite's admin rules)
/// While a queue is paused:
/// - [`claim`](crate::JobLifecycle::claim) takes nothing from it; other queues of
///   the same call still deliver, in the priority order given.
/// - `push` / `dispatch` still store jobs, and delayed jobs still become due (they
///   wait as ready jobs until the queue is resumed).
/// - Running jobs finish: their holders can still ack, release, fail and extend.
/// - [`reclaim_expired`](crate::JobLifecycle::reclaim_expired) still returns expired
///   leases to the queue (or fails them when out of tries); they are not claimed
///   until the queue is resumed.
/// - [`wait_for_jobs`](crate::JobLifecycle::wait_for_jobs) ignores the queue's
///   ready and delayed jobs, so an idle worker waits normally instead of waking at
///   once for jobs it may not claim.
///
/// A pause or resume takes effect at once for claims through the same driver
/// value; a driver in another process may go on claiming a just-paused queue for
/// a short while (the MySQL driver reads the paused queues at most every 250 ms,
/// not once per claim; Redis and memory check at every claim).
///
/// [`resume`](QueueAdmin::resume) wakes waiters the way a push does (a worker
/// in another process may take up to its driver's polling interval to notice;
/// well under a second with the default settings). Pause state is kept in the
/// backend, so it holds for every worker and survives their restarts. Pausing a
/// queue that holds no jobs yet is allowed.
#[async_trait]
pub trait QueueAdmin: Send + Sync + fmt::Debug + 'static {
    /// Counts for one queue; cheap (no scan of the queue's jobs).
    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError>;

    /// Queues that hold or held jobs (including failed ones), sorted by name.
    async fn queues(&self) -> Result<Vec<QueueName>, DriverError>;

    /// Deletes every ready, delayed and reserved job of `queue` (holders of
    /// reservations get `LeaseLost` afterwards); returns how many. The failed store
    /// is left alone.
    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError>;

    /// Pauses `queue` (see the trait's *Pausing* section); `true` when it was not
    /// paused before, `false` when it already was (pausing twice changes nothing).
    async fn pause(&self, queue: &QueueName) -> Result<bool, DriverError>;

    /// Resumes a paused `queue` and wakes idle workers; `true` when it was paused,
    /// `false` when it was not (nothing changes then).
    async fn resume(&self, queue: &QueueName) -> Result<bool, DriverError>;

    /// The paused queues, sorted by name.
    async fn paused(&self) -> Result<Vec<QueueName>, DriverError>;
}
