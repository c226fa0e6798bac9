//! Queue administration: stats, the queue registry, clearing, worker heartbeats.

use std::time::Duration;

use routemq_core::{DriverError, QueueName, QueueStats, WorkerInfo};

use crate::error::bad_reply;
use crate::lifecycle::now_ms;
use crate::RedisDriver;

/// Due delayed jobs a stats call moves to the ready list at most.
const STATS_PROMOTE_LIMIT: usize = 1_000;

impl RedisDriver {
    pub(crate) async fn queue_stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        let k = self.inner.keys.queue(queue);
        let now = now_ms();
        let cmd = self.inner.pool.scripts().stats.cmd(
            &[&k.ready, &k.delayed, &k.reserved, &k.jobs, &k.failed],
            (now, STATS_PROMOTE_LIMIT),
        );
        let (ready, delayed, reserved, failed, oldest): (u64, u64, u64, u64, i64) =
            self.inner.pool.cmd(&cmd).await?;
        Ok(QueueStats {
            queue: queue.to_string(),
            ready,
            delayed,
            reserved,
            failed,
            oldest_ready_age: (ready > 0 && oldest >= 0)
                .then(|| Duration::from_millis((now - oldest).max(0) as u64)),
        })
    }

    pub(crate) async fn known_queues(&self) -> Result<Vec<QueueName>, DriverError> {
        let names: Vec<String> = self
            .inner
            .pool
            .cmd(redis::cmd("SMEMBERS").arg(self.inner.keys.queues()))
            .await?;
        let mut queues: Vec<QueueName> = names
            .into_iter()
            .filter_map(|n| QueueName::new(n).ok())
            .collect();
        queues.sort();
        Ok(queues)
    }

    pub(crate) async fn clear_queue(&self, queue: &QueueName) -> Result<u64, DriverError> {
        let k = self.inner.keys.queue(queue);
        let cmd = self.inner.pool.scripts().clear.cmd(
            &[&k.ready, &k.delayed, &k.reserved, &k.jobs],
            &[] as &[&str],
        );
        self.inner.pool.cmd(&cmd).await
    }

    pub(crate) async fn record_heartbeat(
        &self,
        info: &WorkerInfo,
        ttl: Duration,
    ) -> Result<(), DriverError> {
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

    pub(crate) async fn drop_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        let keys = [self.inner.keys.workers(), self.inner.keys.workers_info()];
        let cmd = self
            .inner
            .pool
            .scripts()
            .remove_worker
            .cmd(&keys, worker_id);
        self.inner.pool.cmd::<i64>(&cmd).await.map(drop)
    }

    pub(crate) async fn live_workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
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
