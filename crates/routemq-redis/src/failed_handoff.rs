//! Handing failed jobs over to another store (the database failed store of
//! `routemq-failed-mysql`): [`RedisDriver::failed_oldest`] reads a queue's
//! oldest failed records, [`RedisDriver::failed_remove`] deletes them once they
//! are stored there. `fail.lua` and `reclaim.lua` keep writing the Redis
//! failed list, so failing a job stays one fenced script.

use routemq_core::{DriverError, FailedJob, JobId, QueueName};

use crate::failed::parse;
use crate::slot_pipeline::SlotPipeline;
use crate::RedisDriver;

/// Ids per `failed_forget.lua` call of [`RedisDriver::failed_remove`].
const FORGET_CHUNK: usize = 100;

impl RedisDriver {
    /// Up to `n` of `queue`'s failed jobs, oldest first, each with its
    /// attempts allowed. Unreadable records are skipped (and logged).
    pub async fn failed_oldest(
        &self,
        queue: &QueueName,
        n: usize,
    ) -> Result<Vec<(FailedJob, u32)>, DriverError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let k = self.inner.keys.queue(queue);
        let mut cmd = redis::cmd("LRANGE");
        cmd.arg(&k.failed).arg(-(n as i64)).arg(-1);
        let raws: Vec<String> = self.inner.pool.cmd(&cmd).await?;
        // The list is newest first: its tail is the oldest.
        Ok(raws
            .iter()
            .rev()
            .filter_map(|raw| parse(raw, queue))
            .collect())
    }

    /// Deletes failed jobs of `queue` by id (each from the list and the index,
    /// atomically); returns how many there were.
    pub async fn failed_remove(
        &self,
        queue: &QueueName,
        ids: &[JobId],
    ) -> Result<u64, DriverError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let k = self.inner.keys.queue(queue);
        // A chunk of ids per script: one request per chunk on a cluster (each
        // write goes alone there, see `SlotPipeline`), and no one script that
        // holds the server for a whole batch's `LREM`s.
        let mut pipe = SlotPipeline::new();
        for chunk in ids.chunks(FORGET_CHUNK) {
            let chunk: Vec<&str> = chunk.iter().map(JobId::as_str).collect();
            pipe.add_command(
                self.inner
                    .pool
                    .scripts()
                    .failed_forget
                    .cmd(&[&k.failed, &k.failed_index], chunk),
            );
        }
        let removed: Vec<u64> = self.inner.pool.pipe(&pipe).await?;
        Ok(removed.into_iter().sum())
    }
}
