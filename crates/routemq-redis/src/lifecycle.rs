//! [`JobLifecycle`] for [`RedisDriver`]: push, claim, wait, ack, release, fail,
//! extend, reclaim. The claim script's call is in `claim.rs`, the push script's
//! arguments in `push.rs`, the blocking wait's steps in `wait.rs`; the scripts
//! themselves in `lua/`.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use routemq_core::{
    from_unix_ms, unix_ms, wait_then_claim, AckOutcome, Dispatched, DriverError, JobId,
    JobLifecycle, Lease, PendingJob, QueueName, ReclaimReport, Reservation, Uniqueness,
    CANCELLED_KEPT_FOR,
};
use tokio_util::sync::CancellationToken;

use crate::driver::PushWrites;
use crate::queue_groups::by_queue;
use crate::slot_pipeline::SlotPipeline;
use crate::{KeyMode, RedisDriver, NAME};

/// Jobs per push script call (each call is atomic; a bulk push pipelines them).
const PUSH_CHUNK: usize = 1_000;
/// Leases per ack script call.
const ACK_CHUNK: usize = 2_000;
/// Expired reservations one reclaim call handles.
const RECLAIM_LIMIT: usize = 1_000;
/// Jobs one claim call takes at most (a larger `max` claims this many: "up to").
pub(crate) const CLAIM_LIMIT: usize = 100_000;

pub(crate) fn now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl RedisDriver {
    /// A bulk push of ungrouped jobs to one queue: the queue registered first
    /// when due, then one transaction (`push_tx`) per `PUSH_CHUNK` jobs, each
    /// atomic; an error stops at its chunk, the earlier ones stored. Each
    /// chunk's transaction is built while the one before is on its way, and
    /// sent only once that one succeeded.
    async fn push_one_queue_tx(
        &self,
        queue: &QueueName,
        jobs: &[&PendingJob],
        now: i64,
    ) -> Result<(), DriverError> {
        if self.inner.needs_register(queue) {
            let mut sadd = redis::cmd("SADD");
            sadd.arg(self.inner.keys.queues()).arg(queue.as_str());
            self.inner.pool.cmd::<i64>(&sadd).await?;
            self.inner.mark_registered(queue);
        }
        let mut chunks = jobs.chunks(PUSH_CHUNK);
        let Some(first) = chunks.next() else {
            return Ok(());
        };
        let mut tx = self.push_tx(queue, first, now, PushWrites::ALL);
        for next in chunks {
            // The next chunk's transaction is built while this one is on its
            // way; it is sent only once this one has succeeded.
            let (sent, built) = tokio::join!(self.inner.pool.transaction(&tx), async {
                self.push_tx(queue, next, now, PushWrites::ALL)
            });
            sent?;
            tx = built;
        }
        self.inner.pool.transaction(&tx).await
    }

    /// `release.lua`: `release`, and with `uncount` the claim's attempt given back.
    async fn give_back(
        &self,
        lease: &Lease,
        delay: Duration,
        uncount: bool,
    ) -> Result<(), DriverError> {
        let k = self.inner.keys.queue(&lease.queue);
        let now = now_ms();
        let at = if delay.is_zero() {
            now
        } else {
            now.saturating_add(ms(delay).max(1))
        };
        let cmd = self.inner.pool.scripts().release.cmd(
            &[
                k.ready.as_str(),
                &k.delayed,
                &k.reserved,
                &k.jobs,
                &k.notify,
                &k.rate,
                &k.unique,
                &k.done_record(lease.job_id.as_str()),
            ],
            (
                lease.job_id.as_str(),
                lease.token.0.as_str(),
                now,
                at,
                u8::from(uncount),
                ms(CANCELLED_KEPT_FOR),
            ),
        );
        self.fenced(lease, self.inner.pool.cmd(&cmd).await?)
    }

    pub(crate) fn fenced(&self, lease: &Lease, done: i64) -> Result<(), DriverError> {
        if done == 1 {
            Ok(())
        } else {
            Err(DriverError::LeaseLost {
                job_id: lease.job_id.clone(),
            })
        }
    }
}

#[async_trait]
impl JobLifecycle for RedisDriver {
    fn connection_name(&self) -> &'static str {
        NAME
    }

    fn max_payload_bytes(&self) -> usize {
        self.inner.max_payload
    }

    async fn push(&self, job: PendingJob) -> Result<JobId, DriverError> {
        job.check_size(self.inner.max_payload, NAME)?;
        let now = now_ms();
        if job.group.is_none() {
            let k = self.inner.keys.queue(&job.queue);
            let bucket = crate::keys::job_hash(&k.jobs, job.id.as_str());
            let fresh = crate::bucket_listing::is_fresh(job.id.as_str(), now);
            if let Some(plan) = self
                .inner
                .single_push(&job.queue, fresh.then_some(bucket.as_slice()))
            {
                let tx = self.push_tx(&job.queue, &[&job], now, plan);
                self.inner.pool.transaction(&tx).await?;
                if plan.list_buckets && fresh {
                    self.inner.mark_listed(&job.queue, bucket);
                }
                return Ok(job.id);
            }
        }
        let cmd = self.push_cmd(&job.queue, &[&job], now);
        if self.inner.needs_register(&job.queue) {
            let mut pipe = SlotPipeline::new();
            pipe.cmd("SADD")
                .arg(self.inner.keys.queues())
                .arg(job.queue.as_str())
                .ignore();
            pipe.add_command(cmd).ignore();
            self.inner.pool.pipe::<()>(&pipe).await?;
            self.inner.mark_registered(&job.queue);
        } else {
            self.inner.pool.cmd::<i64>(&cmd).await?;
        }
        Ok(job.id)
    }

    async fn push_unique(
        &self,
        job: PendingJob,
        unique: &Uniqueness,
    ) -> Result<Dispatched, DriverError> {
        job.check_size(self.inner.max_payload, NAME)?;
        let queue = job.queue.clone();
        let cmd = self.push_unique_cmd(&job, unique, now_ms());
        let (id, outcome): (String, i64) = if self.inner.needs_register(&queue) {
            let mut pipe = SlotPipeline::new();
            pipe.cmd("SADD")
                .arg(self.inner.keys.queues())
                .arg(queue.as_str())
                .ignore();
            pipe.add_command(cmd);
            let (reply,) = self.inner.pool.pipe(&pipe).await?;
            self.inner.mark_registered(&queue);
            reply
        } else {
            self.inner.pool.cmd(&cmd).await?
        };
        let id = JobId::from_string(id);
        Ok(match outcome {
            0 => Dispatched::stored(id),
            n => Dispatched::duplicate_of(id, n == 2),
        })
    }

    async fn push_bulk(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        for job in &jobs {
            job.check_size(self.inner.max_payload, NAME)?;
        }
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        // Group by queue, keeping input order within each queue.
        let groups = by_queue(&jobs, |j| &j.queue);
        let now = now_ms();
        if let [(queue, list)] = groups.as_slice() {
            if list.iter().all(|j| j.group.is_none()) {
                self.push_one_queue_tx(queue, list, now).await?;
                return Ok(jobs.into_iter().map(|j| j.id).collect());
            }
        }
        let mut pipe = SlotPipeline::new();
        for (queue, list) in &groups {
            pipe.cmd("SADD")
                .arg(self.inner.keys.queues())
                .arg(queue.as_str())
                .ignore();
            for chunk in list.chunks(PUSH_CHUNK) {
                pipe.add_command(self.push_cmd(queue, chunk, now)).ignore();
            }
        }
        self.inner.pool.pipe::<()>(&pipe).await?;
        Ok(jobs.into_iter().map(|j| j.id).collect())
    }

    async fn claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Reservation>, DriverError> {
        let max = max.min(CLAIM_LIMIT);
        let mut out = Vec::new();
        match self.inner.mode {
            KeyMode::Plain => self.claim_from(queues, max, lease, &mut out).await?,
            KeyMode::Cluster => {
                for queue in queues {
                    if out.len() >= max {
                        break;
                    }
                    let want = max - out.len();
                    self.claim_from(std::slice::from_ref(queue), want, lease, &mut out)
                        .await?;
                }
            }
        }
        Ok(out)
    }

    async fn wait_for_jobs(
        &self,
        queues: &[QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError> {
        if queues.is_empty() || timeout.is_zero() {
            tokio::time::sleep(timeout).await;
            return Ok(());
        }
        self.wait_on(queues, timeout).await
    }

    /// On one server the `BLPOP` and the claim script go in one pipeline (see
    /// `wait_claim.rs`); on a cluster, where one `BLPOP` cannot span slots, the
    /// wait then the claim.
    async fn wait_and_claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
        timeout: Duration,
        stop: &CancellationToken,
    ) -> Result<Vec<Reservation>, DriverError> {
        // On a cluster one pipeline carries the wait and the claim for a single
        // queue only (see `wait_claim.rs`).
        let apart = (self.inner.waiter.is_cluster() && queues.len() > 1)
            || max == 0
            || queues.is_empty()
            || timeout.is_zero()
            || stop.is_cancelled();
        if apart {
            return wait_then_claim(self, queues, max, lease, timeout, stop).await;
        }
        self.blpop_then_claim(queues, max.min(CLAIM_LIMIT), lease, timeout, stop)
            .await
    }

    async fn ack(&self, lease: &Lease) -> Result<(), DriverError> {
        let outcome = self.ack_batch(std::slice::from_ref(lease)).await?;
        match outcome.lost.into_iter().next() {
            Some(job_id) => Err(DriverError::LeaseLost { job_id }),
            None => Ok(()),
        }
    }

    async fn ack_batch(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError> {
        if leases.is_empty() {
            return Ok(AckOutcome::default());
        }
        let groups = by_queue(leases, |l| &l.queue);
        let mut pipe = SlotPipeline::new();
        for (queue, list) in &groups {
            let k = self.inner.keys.queue(queue);
            for chunk in list.chunks(ACK_CHUNK) {
                let args: Vec<&str> = chunk
                    .iter()
                    .flat_map(|l| [l.job_id.as_str(), l.token.0.as_str()])
                    .collect();
                pipe.add_command(self.inner.pool.scripts().ack.cmd(
                    &[
                        &k.reserved,
                        &k.jobs,
                        &k.unique,
                        &k.ready,
                        &k.rate,
                        &k.notify,
                    ],
                    args,
                ));
            }
        }
        let lost: Vec<Vec<String>> = self.inner.pool.pipe(&pipe).await?;
        let lost: Vec<JobId> = lost.into_iter().flatten().map(JobId::from_string).collect();
        Ok(AckOutcome {
            acked: leases.len() - lost.len(),
            lost,
        })
    }

    async fn release(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        self.give_back(lease, delay, false).await
    }

    async fn release_uncounted(&self, lease: &Lease, delay: Duration) -> Result<(), DriverError> {
        self.give_back(lease, delay, true).await
    }

    async fn fail(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        let k = self.inner.keys.queue(&lease.queue);
        // The failed index lists queues from the registry; a queue only ever fed by
        // a foreign producer is registered here.
        let mut pipe = SlotPipeline::new();
        pipe.cmd("SADD")
            .arg(self.inner.keys.queues())
            .arg(lease.queue.as_str())
            .ignore();
        let cmd = self.inner.pool.scripts().fail.cmd(
            &[
                &k.reserved,
                &k.jobs,
                &k.failed,
                &k.failed_index,
                &k.unique,
                &k.ready,
                &k.rate,
                &k.notify,
            ],
            (
                lease.job_id.as_str(),
                lease.token.0.as_str(),
                now_ms(),
                error,
                NAME,
                lease.queue.as_str(),
            ),
        );
        pipe.add_command(cmd);
        let (done,): (i64,) = self.inner.pool.pipe(&pipe).await?;
        self.fenced(lease, done)
    }

    async fn extend_lease(
        &self,
        lease: &Lease,
        lease_for: Duration,
    ) -> Result<SystemTime, DriverError> {
        let k = self.inner.keys.queue(&lease.queue);
        let now = now_ms();
        let deadline = now.saturating_add(ms(lease_for));
        let cmd = self.inner.pool.scripts().extend.cmd(
            &[&k.reserved],
            (lease.job_id.as_str(), lease.token.0.as_str(), now, deadline),
        );
        self.fenced(lease, self.inner.pool.cmd(&cmd).await?)?;
        Ok(from_unix_ms(deadline))
    }

    async fn reclaim_expired(&self, queues: &[QueueName]) -> Result<ReclaimReport, DriverError> {
        let mut report = ReclaimReport::default();
        for queue in queues {
            let k = self.inner.keys.queue(queue);
            loop {
                let cmd = self.inner.pool.scripts().reclaim.cmd(
                    &[
                        &k.ready,
                        &k.reserved,
                        &k.jobs,
                        &k.failed,
                        &k.failed_index,
                        &k.notify,
                        &k.unique,
                        &k.rate,
                        &k.done,
                    ],
                    (
                        now_ms(),
                        RECLAIM_LIMIT,
                        NAME,
                        queue.as_str(),
                        ms(CANCELLED_KEPT_FOR),
                    ),
                );
                // Jobs with a cancel request (the third count) are recorded as
                // cancelled: neither released nor failed.
                let (released, failed, _cancelled, handled): (u64, u64, u64, u64) =
                    self.inner.pool.cmd(&cmd).await?;
                report.released += released;
                report.failed += failed;
                if failed > 0 {
                    let _: i64 = self
                        .inner
                        .pool
                        .cmd(
                            redis::cmd("SADD")
                                .arg(self.inner.keys.queues())
                                .arg(queue.as_str()),
                        )
                        .await?;
                }
                if handled < RECLAIM_LIMIT as u64 {
                    break;
                }
            }
            self.sweep_buckets(queue).await?;
        }
        Ok(report)
    }
}
