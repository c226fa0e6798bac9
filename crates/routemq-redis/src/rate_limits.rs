//! [`RateLimits`] for [`RedisDriver`]: each queue's `rate` hash (limit and hold)
//! and `rate_log` window, written by `set_limit.lua`, `clear_limit.lua` and
//! `hold.lua`; `claim.lua` enforces them and `rate_gate.lua` tells the idle wait
//! when a full window opens.

use std::time::Duration;

use async_trait::async_trait;
use routemq_core::{DriverError, QueueName, RateLimit, RateLimits};

use crate::error::bad_reply;
use crate::lifecycle::ms;
use crate::RedisDriver;

#[async_trait]
impl RateLimits for RedisDriver {
    /// `set_limit.lua` on the queue's keys and the name into
    /// `routemq:queues:limited` (the listing), in one pipeline.
    async fn set_rate_limit(&self, queue: &QueueName, limit: RateLimit) -> Result<(), DriverError> {
        let limit = limit.validated()?;
        let k = self.inner.keys.queue(queue);
        let mut pipe = redis::pipe();
        pipe.add_command(
            self.inner
                .pool
                .scripts()
                .set_limit
                .cmd(&[&k.rate, &k.notify], (limit.jobs, limit.per_ms())),
        )
        .ignore();
        pipe.cmd("SADD")
            .arg(self.inner.keys.limited_queues())
            .arg(queue.as_str())
            .ignore();
        self.inner.pool.pipe::<()>(&pipe).await
    }

    /// The listing's names whose hash holds a limit, sorted.
    async fn rate_limits(&self) -> Result<Vec<(QueueName, RateLimit)>, DriverError> {
        let names: Vec<String> = self
            .inner
            .pool
            .cmd(redis::cmd("SMEMBERS").arg(self.inner.keys.limited_queues()))
            .await?;
        let mut queues: Vec<QueueName> = names
            .into_iter()
            .filter_map(|n| QueueName::new(n).ok())
            .collect();
        queues.sort();
        if queues.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for q in &queues {
            pipe.cmd("HMGET")
                .arg(self.inner.keys.queue(q).rate)
                .arg("jobs")
                .arg("per_ms");
        }
        let found: Vec<(Option<u32>, Option<u64>)> = self.inner.pool.pipe(&pipe).await?;
        let mut out = Vec::with_capacity(queues.len());
        for (q, found) in queues.into_iter().zip(found) {
            if let Some(limit) = stored_limit(found)? {
                out.push((q, limit));
            }
        }
        Ok(out)
    }

    /// `clear_limit.lua`, then the name out of the listing.
    async fn clear_rate_limit(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let k = self.inner.keys.queue(queue);
        let mut pipe = redis::pipe();
        pipe.add_command(
            self.inner
                .pool
                .scripts()
                .clear_limit
                .cmd(&[&k.rate, &k.rate_log, &k.notify], &[] as &[&str]),
        );
        pipe.cmd("SREM")
            .arg(self.inner.keys.limited_queues())
            .arg(queue.as_str())
            .ignore();
        let (had,): (u8,) = self.inner.pool.pipe(&pipe).await?;
        Ok(had == 1)
    }

    async fn hold_queue(&self, queue: &QueueName, duration: Duration) -> Result<(), DriverError> {
        let k = self.inner.keys.queue(queue);
        let cmd = self
            .inner
            .pool
            .scripts()
            .hold
            .cmd(&[&k.rate, &k.notify], ms(duration));
        let _until: i64 = self.inner.pool.cmd(&cmd).await?;
        Ok(())
    }
}

/// A limit as `HMGET rate jobs per_ms` found it: `None` without one (a hold
/// alone), an error for a half-written or invalid one.
pub(crate) fn stored_limit(
    (jobs, per_ms): (Option<u32>, Option<u64>),
) -> Result<Option<RateLimit>, DriverError> {
    match (jobs, per_ms) {
        (None, _) => Ok(None),
        (Some(jobs), Some(per_ms)) => RateLimit::new(jobs, Duration::from_millis(per_ms))
            .map(Some)
            .map_err(|e| bad_reply("rate limit", e)),
        (Some(_), None) => Err(bad_reply("rate limit", "jobs without per_ms")),
    }
}
