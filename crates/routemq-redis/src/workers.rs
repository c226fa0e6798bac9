//! [`WorkerRegistry`] for [`RedisDriver`]: heartbeats in the `routemq:workers`
//! sorted set (id by expiry) and the `routemq:workers:info` hash (id → JSON).

use std::time::Duration;

use async_trait::async_trait;
use routemq_core::{DriverError, WorkerInfo, WorkerRegistry};

use crate::error::bad_reply;
use crate::lifecycle::now_ms;
use crate::RedisDriver;

#[async_trait]
impl WorkerRegistry for RedisDriver {
    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError> {
        let json = serde_json::to_string(info).map_err(|e| bad_reply("heartbeat", e))?;
        let expires = now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let keys = [self.inner.keys.workers(), self.inner.keys.workers_info()];
        let cmd = self
            .inner
            .pool
            .scripts()
            .heartbeat
            .cmd(&keys, (info.id.as_str(), expires, json));
        self.inner.pool.cmd::<i64>(&cmd).await.map(drop)
    }

    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        let keys = [self.inner.keys.workers(), self.inner.keys.workers_info()];
        let cmd = self
            .inner
            .pool
            .scripts()
            .remove_worker
            .cmd(&keys, worker_id);
        self.inner.pool.cmd::<i64>(&cmd).await.map(drop)
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
        let keys = [self.inner.keys.workers(), self.inner.keys.workers_info()];
        let cmd = self.inner.pool.scripts().workers.cmd(&keys, now_ms());
        let infos: Vec<String> = self.inner.pool.cmd(&cmd).await?;
        let mut workers = Vec::with_capacity(infos.len());
        for info in infos {
            match serde_json::from_str::<WorkerInfo>(&info) {
                Ok(w) => workers.push(w),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable worker heartbeat"),
            }
        }
        workers.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(workers)
    }
}
