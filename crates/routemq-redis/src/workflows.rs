//! [`Workflows`] for [`RedisDriver`]: chains and batches.
//!
//! Layout (see the `keys` module): a *waiting* job (a chain link after the first,
//! a chain's or batch's callback) is stored in the queue's jobs hash like any job
//! and listed in the set `routemq:queue:{q}:waiting`, in no ready list, delayed
//! zset or group lane. A job of a chain or batch carries a workflow tail in its
//! metadata (`"|w|c|next|catch"` for a chain link, `"|w|b|batch"` for a batch
//! job); `claim.lua` gives it an owner token ending in `w`, so `ack.lua` reads the
//! metadata of those jobs only, and every settling script (`ack.lua`,
//! `finish.lua`, `fail.lua`, `reclaim.lua`, `release.lua` for a cancelled job,
//! `cancel.lua`) applies the workflow effects in its own atomic step through one
//! shared Lua function, `flow_settled` in `lib.lua`. A batch is a record hash
//! `routemq:queue:{q}:batch:{id}` (counters, flags, callback ids) and a set of its
//! jobs not settled yet (`…:batch:{id}:jobs`), both in the queue's slot and listed
//! in the queue's `batches` zset (so `clear` deletes them); the global hash
//! `routemq:batches` (id → `"queue|created_at_ms"`) lists batches and finds a
//! batch's queue. It is written before the batch, as a separate command: a lost
//! write leaves a working batch that listing and lookup by id miss; an entry
//! whose batch was never stored (or expired) is skipped, and dropped by a listing
//! once it is older than [`INDEX_GRACE_MS`].
//!
//! Scripts: `push_chain.lua`, `push_batch.lua`, `add_to_batch.lua`,
//! `cancel_batch.lua`; reads (`batch`, `batches`) are plain `HMGET`s.
//!
//! Costs: a plain job pays nothing on claim and ack (its metadata has no workflow
//! tail, its token no `w`). A workflow job's ack reads its metadata (one `HMGET` of its bucket)
//! and the server's clock once per ack call. Cancelling a batch (by
//! `cancel_batch`, or by a failure without `allow_failures`) removes up to 8 ready
//! jobs with one `LREM` each and more by one pass over the ready list.

use std::time::SystemTime;

use async_trait::async_trait;
use redis::Value;
use routemq_core::{
    check_workflow_jobs, unix_ms, BatchId, BatchInfo, BatchPlan, ChainPlan, DriverError, JobId,
    PendingJob, QueueName, Workflows, BATCH_KEPT_FOR, CANCELLED_KEPT_FOR,
};

use crate::error::bad_reply;
use crate::lifecycle::{ms, now_ms};
use crate::push::job_body;
use crate::slot_pipeline::SlotPipeline;
use crate::{RedisDriver, NAME};

/// How old (ms) an entry of the global batch index must be before a listing that
/// finds no record for it drops it: the index is written just before the batch,
/// so a younger entry may belong to a batch being stored right now.
pub(crate) const INDEX_GRACE_MS: i64 = 60_000;

/// A batch id the key layout can hold (a UUIDv7 always is): it is part of key
/// names and of the jobs' metadata tail.
fn check_batch_id(id: &BatchId) -> Result<(), DriverError> {
    let s = id.as_str();
    if s.is_empty() || s.len() > 200 || s.contains('|') {
        return Err(DriverError::InvalidArgument(format!(
            "batch id {s:?} cannot be stored: use 1 to 200 characters without '|'"
        )));
    }
    Ok(())
}

/// Parses a script's reply (`{'ok', fields…}` as `batch_reply` in `lib.lua`
/// builds it, or `{word}`) into the word and, for `ok`, the batch.
fn parse_reply(
    what: &str,
    id: &BatchId,
    queue: &QueueName,
    reply: Vec<Value>,
) -> Result<Result<BatchInfo, String>, DriverError> {
    let mut values = reply.into_iter();
    let word: String = values
        .next()
        .map(redis::from_redis_value)
        .transpose()
        .map_err(|e| bad_reply(what, e))?
        .ok_or_else(|| bad_reply(what, "an empty reply"))?;
    if word != "ok" {
        return Ok(Err(word));
    }
    let fields: Vec<Option<String>> = values
        .map(redis::from_redis_value)
        .collect::<Result<_, _>>()
        .map_err(|e| bad_reply(what, e))?;
    Ok(Ok(batch_info(what, id, queue, &fields)?))
}

/// A batch from its record's fields, in `lib.lua`'s `BATCH_FIELDS` order: name,
/// total, pending, succeeded, failed, cancelled, allow_failures, cancelled_batch,
/// created_at_ms, finished_at_ms.
fn batch_info(
    what: &str,
    id: &BatchId,
    queue: &QueueName,
    fields: &[Option<String>],
) -> Result<BatchInfo, DriverError> {
    let field = |i: usize| fields.get(i).and_then(|f| f.as_deref());
    fn number<T: std::str::FromStr>(
        what: &str,
        name: &str,
        v: Option<&str>,
    ) -> Result<T, DriverError> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| bad_reply(what, format_args!("batch field {name} = {v:?}")))
    }
    Ok(BatchInfo {
        id: id.clone(),
        queue: queue.clone(),
        name: field(0).unwrap_or_default().to_owned(),
        total: number(what, "total", field(1))?,
        // A pending count is never negative; clamp in case a record was edited.
        pending: number::<i64>(what, "pending", field(2))?.max(0) as u64,
        succeeded: number(what, "succeeded", field(3))?,
        failed: number(what, "failed", field(4))?,
        cancelled: number(what, "cancelled", field(5))?,
        allow_failures: field(6) == Some("1"),
        cancelled_batch: field(7) == Some("1"),
        created_at_ms: number(what, "created_at_ms", field(8))?,
        finished_at_ms: field(9)
            .map(|v| number(what, "finished_at_ms", Some(v)))
            .transpose()?,
    })
}

/// The fields `batch` and `batches` read, in `batch_info`'s order.
const FIELDS: [&str; 10] = [
    "name",
    "total",
    "pending",
    "succeeded",
    "failed",
    "cancelled",
    "allow_failures",
    "cancelled_batch",
    "created_at_ms",
    "finished_at_ms",
];

/// Parses an index entry `"queue|created_at_ms"`.
fn index_entry(value: &str) -> Result<(QueueName, i64), DriverError> {
    let (queue, created) = value
        .rsplit_once('|')
        .ok_or_else(|| bad_reply("batch index", format_args!("entry {value:?}")))?;
    let queue = QueueName::new(queue).map_err(|e| bad_reply("batch index", e))?;
    let created = created
        .parse()
        .map_err(|_| bad_reply("batch index", format_args!("entry {value:?}")))?;
    Ok((queue, created))
}

/// Each job's due time (ms) and how many are ready now and delayed.
fn due_times(jobs: &[PendingJob], now: i64) -> (Vec<i64>, usize, usize) {
    let due: Vec<i64> = jobs
        .iter()
        .map(|j| j.available_at.map_or(now, unix_ms))
        .collect();
    let delayed = due.iter().filter(|at| **at > now).count();
    let ready = due.len() - delayed;
    (due, ready, delayed)
}

/// The sections `push_batch.lua` and `add_to_batch.lua` read after their counts:
/// hash pairs for `jobs` then `callbacks` (stored waiting), ready ids, delayed
/// (due, id) pairs, the callbacks' ids, the jobs' ids. `due`: from `due_times`.
fn batch_sections(
    cmd: &mut redis::Cmd,
    batch: &BatchId,
    jobs: &[PendingJob],
    due: &[i64],
    callbacks: &[&PendingJob],
    now: i64,
) {
    let tail = format!("|w|b|{batch}");
    for (job, at) in jobs.iter().zip(due) {
        job_body(cmd, job, (*at).max(now), &tail);
    }
    for job in callbacks {
        job_body(cmd, job, now, "");
    }
    for (job, at) in jobs.iter().zip(due) {
        if *at <= now {
            cmd.arg(job.id.as_str());
        }
    }
    for (job, at) in jobs.iter().zip(due) {
        if *at > now {
            cmd.arg(*at).arg(job.id.as_str());
        }
    }
    for job in callbacks {
        cmd.arg(job.id.as_str());
    }
    for job in jobs {
        cmd.arg(job.id.as_str());
    }
}

impl RedisDriver {
    /// The queue the global index names for batch `id`, if any.
    async fn batch_queue(&self, id: &BatchId) -> Result<Option<QueueName>, DriverError> {
        let entry: Option<String> = self
            .inner
            .pool
            .cmd(
                redis::cmd("HGET")
                    .arg(self.inner.keys.batch_index())
                    .arg(id.as_str()),
            )
            .await?;
        entry.map(|e| index_entry(&e).map(|(q, _)| q)).transpose()
    }
}

#[async_trait]
impl Workflows for RedisDriver {
    /// `push_chain.lua` (with the queue registry's `SADD` in the same pipeline):
    /// the first link stored like a push, the other links and the catch waiting.
    async fn push_chain(&self, chain: ChainPlan) -> Result<Vec<JobId>, DriverError> {
        chain.check(self.inner.max_payload, NAME)?;
        let k = self.inner.keys.queue(&chain.queue);
        let now = now_ms();
        let due = chain.links[0].available_at.map_or(now, unix_ms);
        let catch = chain.catch.as_ref().map_or("", |c| c.id.as_str());
        let count = chain.links.len() + usize::from(chain.catch.is_some());
        let mut cmd = self.inner.pool.scripts().push_chain.cmd(
            &[&k.ready, &k.delayed, &k.jobs, &k.notify, &k.waiting],
            (count, due, now),
        );
        for (i, link) in chain.links.iter().enumerate() {
            let next = chain.links.get(i + 1).map_or("", |l| l.id.as_str());
            let tail = if next.is_empty() && catch.is_empty() {
                String::new()
            } else {
                format!("|w|c|{next}|{catch}")
            };
            let ready_at = if i == 0 { due.max(now) } else { now };
            job_body(&mut cmd, link, ready_at, &tail);
        }
        if let Some(c) = &chain.catch {
            job_body(&mut cmd, c, now, "");
        }
        let mut pipe = SlotPipeline::new();
        pipe.cmd("SADD")
            .arg(self.inner.keys.queues())
            .arg(chain.queue.as_str())
            .ignore();
        pipe.add_command(cmd).ignore();
        self.inner.pool.pipe::<()>(&pipe).await?;
        self.inner.mark_registered(&chain.queue);
        Ok(chain.links.into_iter().map(|l| l.id).collect())
    }

    /// The global index entry and the queue registry first, then
    /// `push_batch.lua`, in one pipeline.
    async fn push_batch(&self, batch: BatchPlan) -> Result<BatchInfo, DriverError> {
        check_batch_id(&batch.id)?;
        batch.check(self.inner.max_payload, NAME)?;
        let callbacks: Vec<&PendingJob> = [&batch.then, &batch.catch, &batch.finally]
            .into_iter()
            .flatten()
            .collect();
        let k = self.inner.keys.queue(&batch.queue);
        let now = now_ms();
        let id = batch.id.as_str();
        fn callback_id(c: &Option<PendingJob>) -> &str {
            c.as_ref().map_or("", |j| j.id.as_str())
        }
        let record = k.batch(id);
        let record_jobs = k.batch_jobs(id);
        let mut cmd = self.inner.pool.scripts().push_batch.cmd(
            &[
                &k.ready,
                &k.delayed,
                &k.jobs,
                &k.notify,
                &k.waiting,
                &k.batches,
                &record,
                &record_jobs,
            ],
            (
                id,
                now,
                batch.name.as_str(),
                if batch.allow_failures { "1" } else { "0" },
                ms(BATCH_KEPT_FOR),
                ms(CANCELLED_KEPT_FOR),
                callback_id(&batch.then),
                callback_id(&batch.catch),
                callback_id(&batch.finally),
            ),
        );
        let (due, ready, delayed) = due_times(&batch.jobs, now);
        cmd.arg(batch.jobs.len())
            .arg(ready)
            .arg(delayed)
            .arg(callbacks.len());
        batch_sections(&mut cmd, &batch.id, &batch.jobs, &due, &callbacks, now);
        let mut pipe = SlotPipeline::new();
        pipe.cmd("HSET")
            .arg(self.inner.keys.batch_index())
            .arg(id)
            .arg(format!("{}|{now}", batch.queue))
            .ignore();
        pipe.cmd("SADD")
            .arg(self.inner.keys.queues())
            .arg(batch.queue.as_str())
            .ignore();
        pipe.add_command(cmd);
        let (reply,): (Vec<Value>,) = self.inner.pool.pipe(&pipe).await?;
        self.inner.mark_registered(&batch.queue);
        match parse_reply("push_batch.lua", &batch.id, &batch.queue, reply)? {
            Ok(info) => Ok(info),
            Err(word) if word == "exists" => Err(DriverError::InvalidArgument(format!(
                "batch {} exists already",
                batch.id
            ))),
            Err(word) => Err(bad_reply("push_batch.lua", word)),
        }
    }

    /// `add_to_batch.lua` on the queue the index names.
    async fn add_to_batch(
        &self,
        id: &BatchId,
        jobs: Vec<PendingJob>,
    ) -> Result<BatchInfo, DriverError> {
        let unknown = || DriverError::InvalidArgument(format!("batch {id} is unknown"));
        let Some(queue) = self.batch_queue(id).await? else {
            return Err(unknown());
        };
        check_workflow_jobs(
            &format!("batch {id}"),
            &queue,
            &jobs,
            self.inner.max_payload,
            NAME,
        )?;
        let k = self.inner.keys.queue(&queue);
        let now = now_ms();
        let record = k.batch(id.as_str());
        let record_jobs = k.batch_jobs(id.as_str());
        let (due, ready, delayed) = due_times(&jobs, now);
        let mut cmd = self.inner.pool.scripts().add_to_batch.cmd(
            &[
                &k.ready,
                &k.delayed,
                &k.jobs,
                &k.notify,
                &record,
                &record_jobs,
            ],
            (id.as_str(), now, jobs.len(), ready, delayed),
        );
        batch_sections(&mut cmd, id, &jobs, &due, &[], now);
        let reply: Vec<Value> = self.inner.pool.cmd(&cmd).await?;
        match parse_reply("add_to_batch.lua", id, &queue, reply)? {
            Ok(info) => Ok(info),
            Err(word) => Err(match word.as_str() {
                "unknown" => unknown(),
                "finished" => DriverError::InvalidArgument(format!(
                    "batch {id} has finished: no job can be added to it"
                )),
                "cancelled" => DriverError::InvalidArgument(format!(
                    "batch {id} was cancelled: no job can be added to it"
                )),
                other => bad_reply("add_to_batch.lua", other),
            }),
        }
    }

    /// The index entry, then the record's fields.
    async fn batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError> {
        let Some(queue) = self.batch_queue(id).await? else {
            return Ok(None);
        };
        let record = self.inner.keys.queue(&queue).batch(id.as_str());
        let fields: Vec<Option<String>> = self
            .inner
            .pool
            .cmd(redis::cmd("HMGET").arg(&record).arg(&FIELDS[..]))
            .await?;
        if fields.get(1).is_none_or(Option::is_none) {
            return Ok(None);
        }
        batch_info("batch record", id, &queue, &fields).map(Some)
    }

    /// The index, then every record in one pipeline; entries without a record
    /// (expired, cleared) are left out, and dropped from the index when older than
    /// `INDEX_GRACE_MS`. Newest first (by creation time, then id).
    async fn batches(&self) -> Result<Vec<BatchInfo>, DriverError> {
        let index_key = self.inner.keys.batch_index();
        let index: Vec<(String, String)> = self
            .inner
            .pool
            .cmd(redis::cmd("HGETALL").arg(&index_key))
            .await?;
        if index.is_empty() {
            return Ok(Vec::new());
        }
        let mut entries = Vec::with_capacity(index.len());
        let mut pipe = SlotPipeline::new();
        for (id, value) in index {
            let (queue, created) = index_entry(&value)?;
            let id = BatchId::from_string(id);
            pipe.cmd("HMGET")
                .arg(self.inner.keys.queue(&queue).batch(id.as_str()))
                .arg(&FIELDS[..]);
            entries.push((id, queue, created));
        }
        let rows: Vec<Vec<Option<String>>> = self.inner.pool.pipe(&pipe).await?;
        let now = unix_ms(SystemTime::now());
        let mut out = Vec::with_capacity(rows.len());
        let mut stale = Vec::new();
        for ((id, queue, created), fields) in entries.into_iter().zip(rows) {
            if fields.get(1).is_none_or(Option::is_none) {
                if now - created > INDEX_GRACE_MS {
                    stale.push(id);
                }
                continue;
            }
            out.push(batch_info("batch record", &id, &queue, &fields)?);
        }
        if !stale.is_empty() {
            let mut cmd = redis::cmd("HDEL");
            cmd.arg(&index_key);
            for id in &stale {
                cmd.arg(id.as_str());
            }
            self.inner.pool.cmd::<i64>(&cmd).await?;
        }
        out.sort_by(|a, b| {
            b.created_at_ms
                .cmp(&a.created_at_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(out)
    }

    /// `cancel_batch.lua` on the queue the index names.
    async fn cancel_batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError> {
        let Some(queue) = self.batch_queue(id).await? else {
            return Ok(None);
        };
        let k = self.inner.keys.queue(&queue);
        let record = k.batch(id.as_str());
        let cmd = self.inner.pool.scripts().cancel_batch.cmd(
            &[&k.ready, &k.jobs, &record, &k.delayed, &k.notify],
            (id.as_str(), now_ms()),
        );
        let reply: Vec<Value> = self.inner.pool.cmd(&cmd).await?;
        match parse_reply("cancel_batch.lua", id, &queue, reply)? {
            Ok(info) => Ok(Some(info)),
            Err(word) if word == "none" => Ok(None),
            Err(word) => Err(bad_reply("cancel_batch.lua", word)),
        }
    }
}
