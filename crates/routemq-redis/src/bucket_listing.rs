//! Keeping a queue's set of job buckets (`…:jobs:buckets`, read by `clear`)
//! complete with fewer writes: when a single push may leave its `SADD` out,
//! and the sweep that unlists buckets gone long ago (`sweep_buckets.lua`).
//!
//! The rule (`lib.lua`, at `job_hash`): a bucket, once listed, stays listed
//! while its key exists and until its 256 ms ended [`SWEEP_AFTER_MS`] before
//! a sweep finds it gone. A delete that empties a bucket leaves it listed. So a
//! driver that listed the bucket of a job of the last minute knows it is still
//! listed, and its next single pushes there are a transaction of one command
//! less (ARCHITECTURE.md, "A single push lists its bucket once").
//!
//! Clocks: the driver that leaves the `SADD` out reads the bucket's age on its
//! own clock ([`LISTED_FRESH_MS`]), the sweeping driver on its own; a bucket
//! could go unlisted while it holds fields only if those clocks disagreed by
//! more than the difference, 59 minutes. An unlisted bucket loses no job
//! either way: its fields go with their jobs as always, and only a `clear`
//! would miss it.

use std::collections::HashMap;
use std::sync::Mutex;

use routemq_core::{DriverError, QueueName};

use crate::lifecycle::now_ms;
use crate::RedisDriver;

/// A single push leaves the `SADD` of its bucket out only when the bucket
/// began at most this long (ms) before the pushing driver's now, besides
/// being the bucket the driver listed last for the queue.
pub(crate) const LISTED_FRESH_MS: i64 = 60_000;

/// A sweep unlists a bucket that is gone only once its 256 ms ended this long
/// (ms) before the sweeping driver's now: an hour, so the two drivers' clocks
/// may disagree by up to 59 minutes (see the module docs). Emptied buckets
/// stay listed that long, about 14,000 names an hour for a queue pushed to
/// without pause.
pub(crate) const SWEEP_AFTER_MS: i64 = 3_600_000;

/// Names one sweep step asks `SSCAN` for (its `COUNT`, a hint).
const SWEEP_STEP: usize = 512;

/// Whether the bucket of job id `id` began at most [`LISTED_FRESH_MS`] before
/// `now` (ms since the epoch), so that a single push may leave its `SADD` out
/// when the driver listed it. False for ids outside UUIDv7 buckets.
pub(crate) fn is_fresh(id: &str, now: i64) -> bool {
    crate::keys::bucket_start_ms(id).is_some_and(|start| start >= now - LISTED_FRESH_MS)
}

/// Per queue, where this driver's sweep of the set of buckets goes on (an
/// `SSCAN` cursor; 0 starts a new pass).
#[derive(Debug, Default)]
pub(crate) struct SweepCursors(Mutex<HashMap<QueueName, u64>>);

impl SweepCursors {
    fn get(&self, queue: &QueueName) -> u64 {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(queue).copied().unwrap_or(0)
    }

    fn set(&self, queue: &QueueName, cursor: u64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(queue.clone(), cursor);
    }
}

impl RedisDriver {
    /// One step of the sweep of `queue`'s set of buckets: the next names an
    /// `SSCAN` gives, of which `sweep_buckets.lua` unlists those gone and
    /// older than [`SWEEP_AFTER_MS`]. Run with each reclaim of the queue, so a
    /// worker's reclaims pass over the whole set in turn. Returns how many
    /// names left the set.
    pub(crate) async fn sweep_buckets(&self, queue: &QueueName) -> Result<u64, DriverError> {
        let k = self.inner.keys.queue(queue);
        let cursor = self.inner.sweep_cursors.get(queue);
        let (next, names): (u64, Vec<Vec<u8>>) = self
            .inner
            .pool
            .cmd(
                redis::cmd("SSCAN")
                    .arg(&k.job_buckets)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(SWEEP_STEP),
            )
            .await?;
        self.inner.sweep_cursors.set(queue, next);
        if names.is_empty() {
            return Ok(0);
        }
        let cutoff = now_ms() - SWEEP_AFTER_MS;
        let cmd = self
            .inner
            .pool
            .scripts()
            .sweep_buckets
            .cmd(&[&k.job_buckets], (cutoff, names));
        self.inner.pool.cmd(&cmd).await
    }
}
