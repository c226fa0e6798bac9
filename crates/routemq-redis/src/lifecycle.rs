//! A job's life: push, claim, ack, release, fail, extend, reclaim.

use std::time::{Duration, SystemTime};

use redis::Value;
use routemq_core::{
    from_unix_ms, unix_ms, AckOutcome, DriverError, JobId, Lease, LeaseToken, PendingJob,
    QueueName, ReclaimReport, Reservation,
};

use crate::error::bad_reply;
use crate::{KeyMode, RedisDriver, NAME};

/// Jobs per push script call (each call is atomic; a bulk push pipelines them).
const PUSH_CHUNK: usize = 1_000;
/// Leases per ack script call.
const ACK_CHUNK: usize = 2_000;
/// Due delayed jobs one claim moves at most per queue (beyond what it claims).
const PROMOTE_LIMIT: usize = 1_000;
/// Expired reservations one reclaim call handles.
const RECLAIM_LIMIT: usize = 1_000;
/// Jobs one claim call takes at most (a larger `max` claims this many: "up to").
const CLAIM_LIMIT: usize = 100_000;
/// Fresh ids passed to a claim for foreign payloads it may adopt.
const FRESH_IDS: usize = 4;

pub(crate) fn now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl RedisDriver {
    /// The push script's arguments: counts, then the jobs hash's field/value pairs
    /// (body and `"{id}:meta"` per job), ready ids and (score, id) pairs for
    /// delayed jobs (see `push.lua`).
    fn push_cmd(&self, queue: &QueueName, jobs: &[&PendingJob], now: i64) -> redis::Cmd {
        let k = self.inner.keys.queue(queue);
        let due: Vec<i64> = jobs
            .iter()
            .map(|j| j.available_at.map_or(now, unix_ms))
            .collect();
        let delayed = due.iter().filter(|at| **at > now).count();
        let ready = jobs.len() - delayed;
        let mut cmd = self.inner.pool.scripts().push.cmd(
            &[&k.ready, &k.delayed, &k.jobs, &k.notify],
            (jobs.len(), ready, delayed),
        );
        for (job, at) in jobs.iter().zip(&due) {
            // Body, then attempts | max_tries | when it became (or becomes) claimable.
            cmd.arg(job.id.as_str())
                .arg(job.payload.as_slice())
                .arg(format!("{}:meta", job.id))
                .arg(format!("0|{}|{at}", job.max_tries.max(1)));
        }
        for (job, at) in jobs.iter().zip(&due) {
            if *at <= now {
                cmd.arg(job.id.as_str());
            }
        }
        for (job, at) in jobs.iter().zip(&due) {
            if *at > now {
                cmd.arg(*at).arg(job.id.as_str());
            }
        }
        cmd
    }

    pub(crate) async fn push_one(&self, job: PendingJob) -> Result<JobId, DriverError> {
        self.check_size(&job)?;
        let cmd = self.push_cmd(&job.queue, &[&job], now_ms());
        if self.inner.needs_register(&job.queue) {
            let mut pipe = redis::pipe();
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

    pub(crate) async fn push_many(&self, jobs: Vec<PendingJob>) -> Result<Vec<JobId>, DriverError> {
        for job in &jobs {
            self.check_size(job)?;
        }
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        // Group by queue, keeping input order within each queue.
        let mut groups: Vec<(&QueueName, Vec<&PendingJob>)> = Vec::new();
        for job in &jobs {
            match groups.iter_mut().find(|(q, _)| *q == &job.queue) {
                Some((_, list)) => list.push(job),
                None => groups.push((&job.queue, vec![job])),
            }
        }
        let now = now_ms();
        let mut pipe = redis::pipe();
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

    pub(crate) async fn claim_jobs(
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

    /// One claim script call over `queues` (all in one slot in cluster mode).
    async fn claim_from(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
        out: &mut Vec<Reservation>,
    ) -> Result<(), DriverError> {
        if max == 0 || queues.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let deadline = now.saturating_add(ms(lease));
        let mut keys = Vec::with_capacity(queues.len() * 4);
        for queue in queues {
            let k = self.inner.keys.queue(queue);
            keys.extend([k.ready, k.delayed, k.reserved, k.jobs]);
        }
        let nonce = format!("{:024x}-", rand::random::<u128>() >> 32);
        let mut args: Vec<String> = vec![
            now.to_string(),
            deadline.to_string(),
            max.to_string(),
            nonce,
            PROMOTE_LIMIT.max(max).to_string(),
        ];
        args.extend((0..FRESH_IDS.min(max)).map(|_| JobId::generate().to_string()));
        let cmd = self.inner.pool.scripts().claim.cmd(&keys, args);
        let reply: Vec<Value> = self.inner.pool.cmd(&cmd).await?;
        if reply.len() % 6 != 0 {
            return Err(bad_reply("claim", format!("{} values", reply.len())));
        }
        let expires_at = from_unix_ms(deadline);
        let mut values = reply.into_iter();
        while let Some(q) = values.next() {
            let mut next = || values.next().unwrap_or(Value::Nil);
            let (id, token, attempt, max_tries, payload) = (next(), next(), next(), next(), next());
            let q: usize = redis::from_redis_value(q).map_err(|e| bad_reply("claim", e))?;
            let queue = queues
                .get(q.wrapping_sub(1))
                .ok_or_else(|| bad_reply("claim", format!("queue index {q}")))?;
            let parse = |e: redis::ParsingError| bad_reply("claim", e);
            out.push(Reservation {
                lease: Lease {
                    job_id: JobId::from_string(
                        redis::from_redis_value::<String>(id).map_err(parse)?,
                    ),
                    queue: queue.clone(),
                    token: LeaseToken(redis::from_redis_value(token).map_err(parse)?),
                    expires_at,
                },
                attempt: redis::from_redis_value(attempt).map_err(parse)?,
                max_tries: redis::from_redis_value(max_tries).map_err(parse)?,
                payload: redis::from_redis_value(payload).map_err(parse)?,
            });
        }
        Ok(())
    }

    pub(crate) async fn ack_leases(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError> {
        if leases.is_empty() {
            return Ok(AckOutcome::default());
        }
        let mut groups: Vec<(&QueueName, Vec<&Lease>)> = Vec::new();
        for lease in leases {
            match groups.iter_mut().find(|(q, _)| *q == &lease.queue) {
                Some((_, list)) => list.push(lease),
                None => groups.push((&lease.queue, vec![lease])),
            }
        }
        let mut pipe = redis::pipe();
        for (queue, list) in &groups {
            let k = self.inner.keys.queue(queue);
            for chunk in list.chunks(ACK_CHUNK) {
                let args: Vec<&str> = chunk
                    .iter()
                    .flat_map(|l| [l.job_id.as_str(), l.token.0.as_str()])
                    .collect();
                pipe.add_command(
                    self.inner
                        .pool
                        .scripts()
                        .ack
                        .cmd(&[&k.reserved, &k.jobs], args),
                );
            }
        }
        let lost: Vec<Vec<String>> = self.inner.pool.pipe(&pipe).await?;
        let lost: Vec<JobId> = lost.into_iter().flatten().map(JobId::from_string).collect();
        Ok(AckOutcome {
            acked: leases.len() - lost.len(),
            lost,
        })
    }

    pub(crate) async fn release_job(
        &self,
        lease: &Lease,
        delay: Duration,
    ) -> Result<(), DriverError> {
        let k = self.inner.keys.queue(&lease.queue);
        let now = now_ms();
        let at = if delay.is_zero() {
            now
        } else {
            now.saturating_add(ms(delay).max(1))
        };
        let cmd = self.inner.pool.scripts().release.cmd(
            &[&k.ready, &k.delayed, &k.reserved, &k.jobs, &k.notify],
            (lease.job_id.as_str(), lease.token.0.as_str(), now, at),
        );
        self.fenced(lease, self.inner.pool.cmd(&cmd).await?)
    }

    pub(crate) async fn fail_job(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        let k = self.inner.keys.queue(&lease.queue);
        // The failed index lists queues from the registry; a queue only ever fed by
        // a foreign producer is registered here.
        let mut pipe = redis::pipe();
        pipe.cmd("SADD")
            .arg(self.inner.keys.queues())
            .arg(lease.queue.as_str())
            .ignore();
        let cmd = self.inner.pool.scripts().fail.cmd(
            &[&k.reserved, &k.jobs, &k.failed, &k.failed_index],
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

    pub(crate) async fn extend(
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

    fn fenced(&self, lease: &Lease, done: i64) -> Result<(), DriverError> {
        if done == 1 {
            Ok(())
        } else {
            Err(DriverError::LeaseLost {
                job_id: lease.job_id.clone(),
            })
        }
    }

    pub(crate) async fn reclaim(&self, queues: &[QueueName]) -> Result<ReclaimReport, DriverError> {
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
                    ],
                    (now_ms(), RECLAIM_LIMIT, NAME, queue.as_str()),
                );
                let (released, failed): (u64, u64) = self.inner.pool.cmd(&cmd).await?;
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
                if released + failed < RECLAIM_LIMIT as u64 {
                    break;
                }
            }
        }
        Ok(report)
    }
}
