//! [`RateLimits`] for [`RedisDriver`]: each queue's `rate` hash (limit, hold,
//! `per_group`, `group_concurrency`), its `rate_log` window and the group keys
//! beside them (`rate:holds`, `rate:windows`, `rate_log:{g}`; see
//! `lua/groups.lua`), written by `set_limit.lua`, `set_group_cap.lua`,
//! `clear_limit.lua`, `hold.lua` and `hold_group.lua`; `claim.lua` enforces them
//! and `rate_gate.lua` tells the idle wait when a full window opens.

use std::time::Duration;

use async_trait::async_trait;
use routemq_core::{
    checked_group_concurrency, DriverError, GroupKey, QueueName, RateLimit, RateLimits,
};

use crate::error::bad_reply;
use crate::lifecycle::ms;
use crate::slot_pipeline::SlotPipeline;
use crate::RedisDriver;

#[async_trait]
impl RateLimits for RedisDriver {
    /// `set_limit.lua` on the queue's keys and the name into
    /// `routemq:queues:limited` (the listing), in one pipeline.
    async fn set_rate_limit(&self, queue: &QueueName, limit: RateLimit) -> Result<(), DriverError> {
        let limit = limit.validated()?;
        let k = self.inner.keys.queue(queue);
        let set = self.inner.pool.scripts().set_limit.cmd(
            &[&k.rate, &k.notify, &k.ready],
            (limit.jobs, limit.per_ms(), u8::from(limit.per_group)),
        );
        self.set_and_list(queue, set).await
    }

    /// The listing's names whose hash holds a limit, sorted.
    async fn rate_limits(&self) -> Result<Vec<(QueueName, RateLimit)>, DriverError> {
        let (queues, found): (_, Vec<StoredLimit>) = self
            .read_limited(|rate| {
                let mut c = redis::cmd("HMGET");
                c.arg(rate).arg("jobs").arg("per_ms").arg("per_group");
                c
            })
            .await?;
        let mut out = Vec::with_capacity(queues.len());
        for (q, found) in queues.into_iter().zip(found) {
            if let Some(limit) = stored_limit(found)? {
                out.push((q, limit));
            }
        }
        Ok(out)
    }

    /// `set_group_cap.lua` on the queue's keys and the name into
    /// `routemq:queues:limited` (the listing), in one pipeline.
    async fn set_group_concurrency(&self, queue: &QueueName, cap: u32) -> Result<(), DriverError> {
        let cap = checked_group_concurrency(cap)?;
        let k = self.inner.keys.queue(queue);
        let set = self
            .inner
            .pool
            .scripts()
            .set_group_cap
            .cmd(&[&k.rate, &k.notify, &k.ready], cap);
        self.set_and_list(queue, set).await
    }

    /// The listing's names whose hash holds a cap, sorted.
    async fn group_concurrency_limits(&self) -> Result<Vec<(QueueName, u32)>, DriverError> {
        let (queues, found): (_, Vec<Option<u32>>) = self
            .read_limited(|rate| {
                let mut c = redis::cmd("HGET");
                c.arg(rate).arg("group_concurrency");
                c
            })
            .await?;
        let mut out = Vec::new();
        for (q, cap) in queues.into_iter().zip(found) {
            if let Some(cap) = cap {
                let cap = checked_group_concurrency(cap).map_err(|e| bad_reply("group cap", e))?;
                out.push((q, cap));
            }
        }
        Ok(out)
    }

    /// `clear_limit.lua`, then the name out of the listing.
    async fn clear_rate_limit(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let k = self.inner.keys.queue(queue);
        let mut pipe = SlotPipeline::new();
        pipe.add_command(
            self.inner
                .pool
                .scripts()
                .clear_limit
                .cmd(&[&k.rate, &k.rate_log, &k.notify, &k.ready], &[] as &[&str]),
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

    /// `hold_group.lua`: the group's hold in `rate:holds`, its lane parked.
    async fn hold_group(
        &self,
        queue: &QueueName,
        group: &GroupKey,
        duration: Duration,
    ) -> Result<(), DriverError> {
        let k = self.inner.keys.queue(queue);
        let cmd = self
            .inner
            .pool
            .scripts()
            .hold_group
            .cmd(&[&k.rate, &k.ready], (group.as_str(), ms(duration)));
        let _until: i64 = self.inner.pool.cmd(&cmd).await?;
        Ok(())
    }
}

impl RedisDriver {
    /// Runs `set` (a script on the queue's `rate` hash) and adds the queue to
    /// `routemq:queues:limited` (the listing), in one pipeline.
    async fn set_and_list(&self, queue: &QueueName, set: redis::Cmd) -> Result<(), DriverError> {
        let mut pipe = SlotPipeline::new();
        pipe.add_command(set).ignore();
        pipe.cmd("SADD")
            .arg(self.inner.keys.limited_queues())
            .arg(queue.as_str())
            .ignore();
        self.inner.pool.pipe::<()>(&pipe).await
    }

    /// The listed (limited) queues, sorted, and what `read` (a command on a
    /// queue's `rate` hash) found for each, in one pipeline.
    async fn read_limited<T: redis::FromRedisValue>(
        &self,
        read: impl Fn(&str) -> redis::Cmd,
    ) -> Result<(Vec<QueueName>, Vec<T>), DriverError> {
        let queues = self.queue_set(&self.inner.keys.limited_queues()).await?;
        if queues.is_empty() {
            return Ok((queues, Vec::new()));
        }
        let mut pipe = SlotPipeline::new();
        for q in &queues {
            pipe.add_command(read(&self.inner.keys.queue(q).rate));
        }
        let found: Vec<T> = self.inner.pool.pipe(&pipe).await?;
        Ok((queues, found))
    }
}

/// `HMGET rate jobs per_ms per_group`.
pub(crate) type StoredLimit = (Option<u32>, Option<u64>, Option<String>);

/// A limit as `HMGET rate jobs per_ms per_group` found it: `None` without one
/// (a hold or a cap alone), an error for a half-written or invalid one.
pub(crate) fn stored_limit(
    (jobs, per_ms, per_group): StoredLimit,
) -> Result<Option<RateLimit>, DriverError> {
    match (jobs, per_ms) {
        (None, _) => Ok(None),
        (Some(jobs), Some(per_ms)) => RateLimit::new(jobs, Duration::from_millis(per_ms))
            .map(|l| {
                Some(if per_group.as_deref() == Some("1") {
                    l.per_group()
                } else {
                    l
                })
            })
            .map_err(|e| bad_reply("rate limit", e)),
        (Some(_), None) => Err(bad_reply("rate limit", "jobs without per_ms")),
    }
}
