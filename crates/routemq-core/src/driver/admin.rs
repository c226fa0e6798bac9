//! Inspection and admin: per-queue counts, the list of known queues, clearing a
//! queue.

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
/// Inspection and admin of queues: what `routemq stats` and `routemq clear` use.
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
}
