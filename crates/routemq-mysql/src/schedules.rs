//! [`ScheduleStore`] for [`MysqlDriver`]: rows of `queue_schedules` (migration
//! 0004). A tick is one transaction: `schedule_advance.sql` moves the next run
//! only from the expected value (the row lock serialises racing firers), then the
//! jobs are inserted with `push_now.sql`; a run-now is the same with
//! `schedule_ran.sql`.

use std::time::SystemTime;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, TxOpts, Value};
use routemq_core::{
    from_unix_ms, unix_ms, DriverError, FireOutcome, JobId, PendingJob, Schedule, ScheduleState,
    ScheduleStore, Tick, UpsertOutcome,
};

use crate::driver::{MysqlDriver, OpError};
use crate::error::{map, NAME};
use crate::push::row_params;
use crate::sql;

/// What the first statement of a step found.
enum Step {
    Applied,
    Stale(i64),
    Gone,
}

impl MysqlDriver {
    /// One transaction: `first` (an UPDATE fenced on the schedule's row) and,
    /// when it changed the row, the INSERT of every job.
    async fn step(
        &self,
        first: &'static str,
        first_params: Vec<Value>,
        name: &str,
        queue: &str,
        jobs: &[PendingJob],
    ) -> Result<Step, DriverError> {
        for job in jobs {
            job.check_size(self.inner.max_payload, NAME)?;
        }
        let step = self
            .retrying(|| {
                let first_params = first_params.clone();
                async move {
                    let mut conn: Conn = self.conn().await?;
                    let mut tx = conn.start_transaction(TxOpts::default()).await?;
                    tx.exec_drop(first, first_params).await?;
                    if tx.affected_rows() == 0 {
                        let next: Option<i64> =
                            tx.exec_first(sql::SCHEDULE_NEXT, (name, queue)).await?;
                        tx.rollback().await?;
                        return Ok::<_, OpError>(next.map_or(Step::Gone, Step::Stale));
                    }
                    for job in jobs {
                        let mut params = Vec::with_capacity(4);
                        row_params(job.clone(), true, &mut params);
                        tx.exec_drop(sql::PUSH_NOW, params).await?;
                    }
                    tx.commit().await?;
                    Ok(Step::Applied)
                }
            })
            .await?;
        if matches!(step, Step::Applied) && !jobs.is_empty() {
            self.wake_local();
        }
        Ok(step)
    }
}

#[async_trait]
impl ScheduleStore for MysqlDriver {
    /// `schedule_upsert.sql` decides atomically; the key read before it only
    /// tells the caller what happened.
    async fn upsert_schedule(
        &self,
        schedule: &Schedule,
        next_run: SystemTime,
    ) -> Result<UpsertOutcome, DriverError> {
        let key = format!("{} > {}", schedule.spec.key(), schedule.queue);
        let mut conn = self.conn().await?;
        let old: Option<String> = conn
            .exec_first(sql::SCHEDULE_KEY, (schedule.name.as_str(),))
            .await
            .map_err(map)?;
        drop(conn);
        let params: Vec<Value> = vec![
            schedule.name.as_str().into(),
            schedule.queue.as_str().into(),
            key.as_str().into(),
            schedule.to_json().into(),
            unix_ms(next_run).into(),
        ];
        self.single(sql::SCHEDULE_UPSERT, params).await?;
        Ok(match old {
            None => UpsertOutcome::Created,
            Some(k) if k == key => UpsertOutcome::Kept,
            Some(_) => UpsertOutcome::Rescheduled,
        })
    }

    async fn schedules(&self) -> Result<Vec<ScheduleState>, DriverError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(Vec<u8>, i64, Option<i64>, Option<String>)> =
            conn.query(sql::SCHEDULES).await.map_err(map)?;
        rows.into_iter()
            .map(|(def, next, last, last_job)| {
                let schedule = Schedule::from_json(&def).map_err(|e| DriverError::Corrupt {
                    driver: NAME,
                    detail: format!("queue_schedules holds a definition that does not parse: {e}"),
                })?;
                Ok(ScheduleState {
                    schedule,
                    next_run: from_unix_ms(next),
                    last_run: last.map(from_unix_ms),
                    last_job_id: last_job.map(|id| JobId::from(id.as_str())),
                })
            })
            .collect()
    }

    async fn remove_schedule(&self, name: &str) -> Result<bool, DriverError> {
        Ok(self.single(sql::SCHEDULE_REMOVE, vec![name.into()]).await? > 0)
    }

    async fn fire_tick(&self, tick: Tick) -> Result<FireOutcome, DriverError> {
        tick.check()?;
        let last_job = tick.jobs.last().map(|j| j.id.as_str().to_owned());
        let last_run = last_job.as_ref().and(tick.last_run).map(unix_ms);
        let params: Vec<Value> = vec![
            unix_ms(tick.next).into(),
            last_run.into(),
            last_job.into(),
            tick.name.as_str().into(),
            tick.queue.as_str().into(),
            unix_ms(tick.expected).into(),
        ];
        let step = self
            .step(
                sql::SCHEDULE_ADVANCE,
                params,
                &tick.name,
                tick.queue.as_str(),
                &tick.jobs,
            )
            .await?;
        Ok(match step {
            Step::Applied => FireOutcome::Fired,
            Step::Stale(next) => FireOutcome::Stale {
                next_run: from_unix_ms(next),
            },
            Step::Gone => FireOutcome::Gone,
        })
    }

    async fn run_schedule_now(
        &self,
        name: &str,
        job: PendingJob,
        at: SystemTime,
    ) -> Result<Option<JobId>, DriverError> {
        let id = job.id.clone();
        let queue = job.queue.clone();
        let params: Vec<Value> = vec![
            unix_ms(at).into(),
            id.as_str().into(),
            name.into(),
            queue.as_str().into(),
        ];
        let step = self
            .step(
                sql::SCHEDULE_RAN,
                params,
                name,
                queue.as_str(),
                std::slice::from_ref(&job),
            )
            .await?;
        Ok(match step {
            Step::Applied => Some(id),
            Step::Stale(_) | Step::Gone => None,
        })
    }
}
