//! The worker registry: heartbeats of running workers, as `routemq workers` lists
//! them.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::DriverError;

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
    /// Jobs it may hold claimed beyond its concurrency, waiting for a slot
    /// (`WorkerBuilder::prefetch`); 0 when read from the heartbeat of a
    /// worker that predates the setting.
    #[serde(default)]
    pub prefetch: u32,
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
/// Heartbeats of running workers, so `routemq workers` works on every backend.
#[async_trait]
pub trait WorkerRegistry: Send + Sync + fmt::Debug + 'static {
    /// Records a worker's heartbeat, visible to [`workers`](WorkerRegistry::workers)
    /// for `ttl` unless renewed.
    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError>;

    /// Removes a worker's heartbeat (on clean shutdown).
    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError>;

    /// Workers whose heartbeat has not expired, sorted by id.
    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError>;
}

#[cfg(test)]
mod tests {
    use super::WorkerInfo;

    #[test]
    fn a_heartbeat_from_before_prefetch_reads_as_prefetch_zero() {
        let old = r#"{"id":"w","host":"h","pid":1,"queues":["default"],"concurrency":4,
            "running":1,"processed":2,"failed":0,"started_at_ms":1,"last_seen_ms":2}"#;
        let info: WorkerInfo = serde_json::from_str(old).unwrap();
        assert_eq!((info.concurrency, info.prefetch), (4, 0));
    }
}
