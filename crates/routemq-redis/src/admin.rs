//! [`QueueAdmin`] for [`RedisDriver`]: stats, the queue registry, clearing,
//! pausing and resuming.

use std::time::Duration;

use async_trait::async_trait;
use routemq_core::{DriverError, QueueAdmin, QueueName, QueueStats};

use crate::lifecycle::now_ms;
use crate::slot_pipeline::SlotPipeline;
use crate::RedisDriver;

/// Due delayed jobs a stats call moves to the ready list at most.
const STATS_PROMOTE_LIMIT: usize = 1_000;

#[async_trait]
impl QueueAdmin for RedisDriver {
    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        let k = self.inner.keys.queue(queue);
        let now = now_ms();
        let cmd = self.inner.pool.scripts().stats.cmd(
            &[
                &k.ready,
                &k.delayed,
                &k.reserved,
                &k.jobs,
                &k.failed,
                &k.paused,
                &k.rate,
            ],
            (now, STATS_PROMOTE_LIMIT),
        );
        type Reply = (
            u64,
            u64,
            u64,
            u64,
            i64,
            u8,
            Option<u32>,
            Option<u64>,
            Option<String>,
        );
        let (ready, delayed, reserved, failed, oldest, paused, jobs, per_ms, per_group): Reply =
            self.inner.pool.cmd(&cmd).await?;
        Ok(QueueStats {
            queue: queue.to_string(),
            ready,
            delayed,
            reserved,
            failed,
            oldest_ready_age: (ready > 0 && oldest >= 0)
                .then(|| Duration::from_millis((now - oldest).max(0) as u64)),
            paused: paused == 1,
            rate_limit: crate::rate_limits::stored_limit((jobs, per_ms, per_group))?,
        })
    }

    async fn queues(&self) -> Result<Vec<QueueName>, DriverError> {
        self.queue_set(&self.inner.keys.queues()).await
    }

    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError> {
        let k = self.inner.keys.queue(queue);
        let cmd = self.inner.pool.scripts().clear.cmd(
            &[
                &k.ready,
                &k.delayed,
                &k.reserved,
                &k.jobs,
                &k.unique,
                &k.waiting,
                &k.batches,
            ],
            &[] as &[&str],
        );
        self.inner.pool.cmd(&cmd).await
    }

    /// `SET routemq:queue:{q}:paused <now ms> NX` (what `claim.lua` checks) and the
    /// name into `routemq:queues:paused` (the listing), in one pipeline.
    async fn pause(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let k = self.inner.keys.queue(queue);
        let mut pipe = SlotPipeline::new();
        pipe.cmd("SET").arg(&k.paused).arg(now_ms()).arg("NX");
        pipe.cmd("SADD")
            .arg(self.inner.keys.paused_queues())
            .arg(queue.as_str())
            .ignore();
        let (set,): (Option<String>,) = self.inner.pool.pipe(&pipe).await?;
        Ok(set.is_some())
    }

    /// `resume.lua` (deletes the flag and wakes waiters), then the name out of the
    /// listing.
    async fn resume(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let k = self.inner.keys.queue(queue);
        let mut pipe = SlotPipeline::new();
        pipe.add_command(
            self.inner
                .pool
                .scripts()
                .resume
                .cmd(&[&k.paused, &k.notify], &[] as &[&str]),
        );
        pipe.cmd("SREM")
            .arg(self.inner.keys.paused_queues())
            .arg(queue.as_str())
            .ignore();
        let (was,): (u8,) = self.inner.pool.pipe(&pipe).await?;
        Ok(was == 1)
    }

    /// The listing's names whose flag is set (a name whose flag is gone, say
    /// deleted by hand, is not reported).
    async fn paused(&self) -> Result<Vec<QueueName>, DriverError> {
        let mut queues = self.queue_set(&self.inner.keys.paused_queues()).await?;
        if queues.is_empty() {
            return Ok(queues);
        }
        let mut pipe = SlotPipeline::new();
        for q in &queues {
            pipe.cmd("EXISTS").arg(&self.inner.keys.queue(q).paused);
        }
        let flags: Vec<u8> = self.inner.pool.pipe(&pipe).await?;
        let mut flags = flags.into_iter();
        queues.retain(|_| flags.next() == Some(1));
        queues.sort();
        Ok(queues)
    }
}
