//! [`RedisDriver::push_once`]: the idempotent push a relay (a transactional
//! outbox) uses, so pushing the same job again after a crash stores it once.

use std::time::Duration;

use routemq_core::{unix_ms, DriverError, PendingJob};

use crate::lifecycle::now_ms;
use crate::slot_pipeline::SlotPipeline;
use crate::{RedisDriver, NAME};

/// Jobs per pipeline round trip.
const PIPELINE: usize = 500;

impl RedisDriver {
    /// Stores each of `jobs` (any queues) unless a job of the same id is
    /// stored now, or was stored by `push_once` less than `remember` ago (so a
    /// repeat after the job ran and was acknowledged is a no-op too). Returns,
    /// per job in order, whether this call stored it.
    ///
    /// Each job is checked and stored in one script (`push_once.lua`), so a
    /// call cut short stores a prefix and a retry of the whole call stores the
    /// rest exactly once. Jobs are stored in order, one pipeline per 500.
    ///
    /// # Errors
    /// [`DriverError::PayloadTooLarge`] before anything is stored when a job is
    /// over the payload limit; backend errors as for `push`.
    pub async fn push_once(
        &self,
        jobs: &[PendingJob],
        remember: Duration,
    ) -> Result<Vec<bool>, DriverError> {
        for job in jobs {
            job.check_size(self.inner.max_payload, NAME)?;
        }
        let mut stored = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(PIPELINE) {
            let now = now_ms();
            let mut pipe = SlotPipeline::new();
            for job in chunk {
                self.push_once_cmd(&mut pipe, job, job.id.as_str(), now, remember);
            }
            let got: Vec<u8> = self.inner.pool.pipe(&pipe).await?;
            stored.extend(got.into_iter().map(|n| n == 1));
        }
        Ok(stored)
    }

    /// [`push_once`](Self::push_once) of one job, remembered under `marker`
    /// instead of its id: a repeat is a push with the same marker (or of a job
    /// still stored). A failed-store retry uses the job id and its retry token,
    /// so the same job can be retried again later. Returns whether it stored.
    pub async fn push_once_marked(
        &self,
        job: &PendingJob,
        marker: &str,
        remember: Duration,
    ) -> Result<bool, DriverError> {
        job.check_size(self.inner.max_payload, NAME)?;
        let mut pipe = SlotPipeline::new();
        self.push_once_cmd(&mut pipe, job, marker, now_ms(), remember);
        let got: Vec<u8> = self.inner.pool.pipe(&pipe).await?;
        Ok(got.first() == Some(&1))
    }

    /// Adds the queue registration and one `push_once.lua` call to `pipe`.
    fn push_once_cmd(
        &self,
        pipe: &mut SlotPipeline,
        job: &PendingJob,
        marker: &str,
        now: i64,
        remember: Duration,
    ) {
        let k = self.inner.keys.queue(&job.queue);
        pipe.cmd("SADD")
            .arg(self.inner.keys.queues())
            .arg(job.queue.as_str())
            .ignore();
        pipe.add_command(self.inner.pool.scripts().push_once.cmd(
            &[&k.ready, &k.delayed, &k.jobs, &k.notify, &k.pushed_once],
            (
                job.id.as_str(),
                job.payload.as_slice(),
                job.max_tries.max(1),
                job.available_at.map_or(now, unix_ms),
                job.group.as_ref().map_or("", |g| g.as_str()),
                now,
                remember.as_millis().min(i64::MAX as u128) as i64,
                marker,
            ),
        ));
    }

    /// Forgets that `jobs` were stored by [`push_once`](Self::push_once), so
    /// Redis keeps only the ids still in flight: a relay calls it once the
    /// rows of those jobs are gone (nothing can push them again). Ids not
    /// forgotten expire after `push_once`'s `remember`.
    pub async fn forget_pushed(&self, jobs: &[PendingJob]) -> Result<(), DriverError> {
        let mut pipe = SlotPipeline::new();
        for chunk in jobs.chunks(PIPELINE) {
            for job in chunk {
                let k = self.inner.keys.queue(&job.queue);
                pipe.cmd("ZREM")
                    .arg(&k.pushed_once)
                    .arg(job.id.as_str())
                    .ignore();
            }
        }
        self.inner.pool.pipe::<()>(&pipe).await
    }
}
