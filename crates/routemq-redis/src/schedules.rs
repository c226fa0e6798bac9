//! [`ScheduleStore`] for [`RedisDriver`]: each schedule's definition and state in
//! a hash in its queue's slot (`routemq:queue:{q}:schedule:NAME`), found through
//! the index hash `routemq:schedules` (name → queue). Upserts run
//! `schedule_upsert.lua`; ticks and runs-now run `schedule_fire.lua`, which
//! checks and moves the next run and stores the jobs in one atomic call.

use std::time::SystemTime;

use async_trait::async_trait;
use routemq_core::{
    from_unix_ms, unix_ms, DriverError, FireOutcome, JobId, PendingJob, QueueName, Schedule,
    ScheduleState, ScheduleStore, Tick, UpsertOutcome,
};

use crate::error::bad_reply;
use crate::lifecycle::now_ms;
use crate::slot_pipeline::SlotPipeline;
use crate::RedisDriver;

/// The state hash's fields, in the order `schedules` reads them.
const FIELDS: [&str; 4] = ["def", "next", "last", "last_job"];

impl RedisDriver {
    /// The queue the index names for schedule `name`, if any.
    async fn schedule_queue(&self, name: &str) -> Result<Option<QueueName>, DriverError> {
        let queue: Option<String> = self
            .inner
            .pool
            .cmd(
                redis::cmd("HGET")
                    .arg(self.inner.keys.schedules())
                    .arg(name),
            )
            .await?;
        queue
            .map(|q| QueueName::new(q.clone()).map_err(|e| bad_reply("schedule index", e)))
            .transpose()
    }

    /// `schedule_fire.lua` for `name` on `queue`.
    async fn fire(
        &self,
        name: &str,
        queue: &QueueName,
        step: Option<(SystemTime, SystemTime)>,
        jobs: &[PendingJob],
        last_run: Option<SystemTime>,
    ) -> Result<Vec<i64>, DriverError> {
        for job in jobs {
            job.check_size(self.inner.max_payload, crate::NAME)?;
        }
        let k = self.inner.keys.queue(queue);
        let state = self.inner.keys.schedule(queue, name);
        let (expected, next) = match step {
            Some((e, n)) => (unix_ms(e).to_string(), unix_ms(n)),
            None => (String::new(), 0),
        };
        let mut cmd = self.inner.pool.scripts().schedule_fire.cmd(
            &[&state, &k.ready, &k.jobs, &k.notify],
            (
                expected,
                next,
                last_run.map_or(0, unix_ms),
                now_ms(),
                jobs.len(),
            ),
        );
        for job in jobs {
            cmd.arg(job.id.as_str())
                .arg(job.payload.as_slice())
                .arg(job.max_tries.max(1));
        }
        self.inner.pool.cmd(&cmd).await
    }
}

fn time_field(value: Option<String>, what: &str) -> Result<Option<SystemTime>, DriverError> {
    value
        .map(|v| {
            v.parse::<i64>()
                .map(from_unix_ms)
                .map_err(|e| bad_reply(what, format!("{v:?}: {e}")))
        })
        .transpose()
}

#[async_trait]
impl ScheduleStore for RedisDriver {
    /// Moves the state hash when the queue changed (a new queue means a new slot:
    /// the old hash is deleted, its last run and last job id are carried over and
    /// the next run is the one given), then
    /// `schedule_upsert.lua`, the index entry and the queue registry in one
    /// pipeline.
    async fn upsert_schedule(
        &self,
        schedule: &Schedule,
        next_run: SystemTime,
    ) -> Result<UpsertOutcome, DriverError> {
        let old_queue = self.schedule_queue(&schedule.name).await?;
        let moved = old_queue.as_ref().is_some_and(|q| *q != schedule.queue);
        let state_key = self.inner.keys.schedule(&schedule.queue, &schedule.name);
        let mut pipe = SlotPipeline::new();
        let mut carried: (Option<String>, Option<String>) = (None, None);
        if let Some(old) = old_queue.as_ref().filter(|_| moved) {
            let old_key = self.inner.keys.schedule(old, &schedule.name);
            carried = self
                .inner
                .pool
                .cmd(
                    redis::cmd("HMGET")
                        .arg(&old_key)
                        .arg("last")
                        .arg("last_job"),
                )
                .await?;
            pipe.cmd("DEL").arg(old_key).ignore();
        }
        let key = format!("{} > {}", schedule.spec.key(), schedule.queue);
        pipe.add_command(self.inner.pool.scripts().schedule_upsert.cmd(
            std::slice::from_ref(&state_key),
            (schedule.to_json(), key, unix_ms(next_run)),
        ));
        if let (Some(last), Some(last_job)) = carried {
            // The last run moves with the schedule, as on the other drivers.
            pipe.cmd("HMSET")
                .arg(&state_key)
                .arg("last")
                .arg(last)
                .arg("last_job")
                .arg(last_job)
                .ignore();
        }
        pipe.cmd("HSET")
            .arg(self.inner.keys.schedules())
            .arg(&schedule.name)
            .arg(schedule.queue.as_str())
            .ignore();
        pipe.cmd("SADD")
            .arg(self.inner.keys.queues())
            .arg(schedule.queue.as_str())
            .ignore();
        let (code,): (u8,) = self.inner.pool.pipe(&pipe).await?;
        Ok(match code {
            0 if moved => UpsertOutcome::Rescheduled,
            0 => UpsertOutcome::Created,
            1 => UpsertOutcome::Kept,
            _ => UpsertOutcome::Rescheduled,
        })
    }

    /// The index, then every state hash in one pipeline. A name whose state hash
    /// is gone (removed between the two reads) is left out.
    async fn schedules(&self) -> Result<Vec<ScheduleState>, DriverError> {
        let index: Vec<(String, String)> = self
            .inner
            .pool
            .cmd(redis::cmd("HGETALL").arg(self.inner.keys.schedules()))
            .await?;
        if index.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = SlotPipeline::new();
        for (name, queue) in &index {
            let q = QueueName::new(queue.clone()).map_err(|e| bad_reply("schedule index", e))?;
            pipe.cmd("HMGET")
                .arg(self.inner.keys.schedule(&q, name))
                .arg(&FIELDS[..]);
        }
        type Row = (
            Option<Vec<u8>>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = self.inner.pool.pipe(&pipe).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (def, next, last, last_job) in rows {
            let (Some(def), Some(next)) = (def, next) else {
                continue;
            };
            let schedule =
                Schedule::from_json(&def).map_err(|e| bad_reply("schedule definition", e))?;
            out.push(ScheduleState {
                schedule,
                next_run: time_field(Some(next), "schedule next run")?
                    .unwrap_or(SystemTime::UNIX_EPOCH),
                last_run: time_field(last, "schedule last run")?,
                last_job_id: last_job.map(|id| JobId::from(id.as_str())),
            });
        }
        out.sort_by(|a, b| a.schedule.name.cmp(&b.schedule.name));
        Ok(out)
    }

    async fn remove_schedule(&self, name: &str) -> Result<bool, DriverError> {
        let Some(queue) = self.schedule_queue(name).await? else {
            return Ok(false);
        };
        let mut pipe = SlotPipeline::new();
        pipe.cmd("DEL").arg(self.inner.keys.schedule(&queue, name));
        pipe.cmd("HDEL").arg(self.inner.keys.schedules()).arg(name);
        let (deleted, unindexed): (u8, u8) = self.inner.pool.pipe(&pipe).await?;
        Ok(deleted == 1 || unindexed == 1)
    }

    async fn fire_tick(&self, tick: Tick) -> Result<FireOutcome, DriverError> {
        tick.check()?;
        let reply = self
            .fire(
                &tick.name,
                &tick.queue,
                Some((tick.expected, tick.next)),
                &tick.jobs,
                tick.last_run,
            )
            .await?;
        match reply.as_slice() {
            [1] => Ok(FireOutcome::Fired),
            [0, next] => Ok(FireOutcome::Stale {
                next_run: from_unix_ms(*next),
            }),
            [-1] => Ok(FireOutcome::Gone),
            other => Err(bad_reply("schedule_fire.lua", format!("{other:?}"))),
        }
    }

    async fn run_schedule_now(
        &self,
        name: &str,
        job: PendingJob,
        at: SystemTime,
    ) -> Result<Option<JobId>, DriverError> {
        let id = job.id.clone();
        let queue = job.queue.clone();
        let reply = self
            .fire(name, &queue, None, std::slice::from_ref(&job), Some(at))
            .await?;
        match reply.as_slice() {
            [1] => Ok(Some(id)),
            [-1] => Ok(None),
            other => Err(bad_reply("schedule_fire.lua", format!("{other:?}"))),
        }
    }
}
