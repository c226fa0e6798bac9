//! [`RedisDriver::push_once`]: the idempotent push a relay (a transactional
//! outbox) uses, so pushing the same job again after a crash stores it once.

use std::time::Duration;

use routemq_core::{unix_ms, DriverError, PendingJob, QueueName};

use crate::error::bad_reply;
use crate::lifecycle::now_ms;
use crate::queue_groups::by_queue;
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
    /// Each queue's jobs of a chunk of 500 are checked and stored in one
    /// script (`push_once.lua`), in order, so a call cut short stores some
    /// chunks' jobs and a retry of the whole call stores the rest exactly
    /// once. One pipeline per 500 jobs.
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
            // One script per queue, its jobs in order; the replies are put
            // back in the order of `chunk`.
            let indexed: Vec<(usize, &PendingJob)> = chunk.iter().enumerate().collect();
            let groups = by_queue(&indexed, |(_, job)| &job.queue);
            let mut pipe = SlotPipeline::new();
            for (queue, list) in &groups {
                let marked = list.iter().map(|(_, job)| (*job, job.id.as_str()));
                self.push_once_cmd(&mut pipe, queue, marked, now, remember);
            }
            let got: Vec<Vec<u8>> = self.inner.pool.pipe(&pipe).await?;
            let mut in_order = vec![false; chunk.len()];
            for ((_, list), flags) in groups.iter().zip(got) {
                if flags.len() != list.len() {
                    return Err(bad_reply(
                        "push_once",
                        format!("{} replies for {} jobs", flags.len(), list.len()),
                    ));
                }
                for ((at, _), flag) in list.iter().zip(flags) {
                    in_order[*at] = flag == 1;
                }
            }
            stored.extend(in_order);
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
        self.push_once_cmd(&mut pipe, &job.queue, [(job, marker)], now_ms(), remember);
        let (got,): (Vec<u8>,) = self.inner.pool.pipe(&pipe).await?;
        Ok(got.first() == Some(&1))
    }

    /// Adds the queue registration and one `push_once.lua` call for `jobs`
    /// (all of `queue`, each with the marker it is remembered under) to `pipe`.
    fn push_once_cmd<'a>(
        &self,
        pipe: &mut SlotPipeline,
        queue: &QueueName,
        jobs: impl IntoIterator<Item = (&'a PendingJob, &'a str)>,
        now: i64,
        remember: Duration,
    ) {
        let k = self.inner.keys.queue(queue);
        pipe.cmd("SADD")
            .arg(self.inner.keys.queues())
            .arg(queue.as_str())
            .ignore();
        let keep = remember.as_millis().min(i64::MAX as u128) as i64;
        let mut cmd = self.inner.pool.scripts().push_once.cmd(
            &[&k.ready, &k.delayed, &k.jobs, &k.notify, &k.pushed_once],
            (now, keep),
        );
        for (job, marker) in jobs {
            cmd.arg(job.id.as_str())
                .arg(job.payload.as_slice())
                .arg(job.max_tries.max(1))
                .arg(job.available_at.map_or(now, unix_ms))
                .arg(job.group.as_ref().map_or("", |g| g.as_str()))
                .arg(marker);
        }
        pipe.add_command(cmd);
    }

    /// Forgets that `jobs` were stored by [`push_once`](Self::push_once), so
    /// Redis keeps only the ids still in flight: a relay calls it once the
    /// rows of those jobs are gone (nothing can push them again). Ids not
    /// forgotten expire after `push_once`'s `remember`.
    pub async fn forget_pushed(&self, jobs: &[PendingJob]) -> Result<(), DriverError> {
        // One `ZREM` per queue per 500 ids.
        let mut pipe = SlotPipeline::new();
        for (queue, list) in by_queue(jobs, |j| &j.queue) {
            let k = self.inner.keys.queue(queue);
            for chunk in list.chunks(PIPELINE) {
                let ids: Vec<&str> = chunk.iter().map(|j| j.id.as_str()).collect();
                pipe.cmd("ZREM").arg(&k.pushed_once).arg(ids).ignore();
            }
        }
        self.inner.pool.pipe::<()>(&pipe).await
    }
}
