//! [`QueueAdmin`] for [`RedisDriver`]: stats, the queue registry, clearing.

use std::time::Duration;

use async_trait::async_trait;
use routemq_core::{DriverError, QueueAdmin, QueueName, QueueStats};

use crate::lifecycle::now_ms;
use crate::RedisDriver;

/// Due delayed jobs a stats call moves to the ready list at most.
const STATS_PROMOTE_LIMIT: usize = 1_000;

#[async_trait]
impl QueueAdmin for RedisDriver {
    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
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

    async fn queues(&self) -> Result<Vec<QueueName>, DriverError> {
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

    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError> {
        let k = self.inner.keys.queue(queue);
        let cmd = self.inner.pool.scripts().clear.cmd(
            &[&k.ready, &k.delayed, &k.reserved, &k.jobs],
            &[] as &[&str],
        );
        self.inner.pool.cmd(&cmd).await
    }
}
