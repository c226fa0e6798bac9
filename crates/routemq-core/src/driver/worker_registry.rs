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
