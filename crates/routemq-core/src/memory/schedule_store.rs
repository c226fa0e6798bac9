//! [`ScheduleStore`] for [`MemoryDriver`]: schedules in the state map, each step
//! under the state's mutex.

use std::time::SystemTime;

use async_trait::async_trait;

use super::MemoryDriver;
use crate::{
    unix_ms, DriverError, FireOutcome, JobId, PendingJob, Schedule, ScheduleState, ScheduleStore,
    Tick, UpsertOutcome,
};

/// One schedule and its state (times in ms since the epoch).
#[derive(Debug)]
pub(super) struct StoredSchedule {
    schedule: Schedule,
    key: String,
    next_ms: i64,
    last_ms: Option<i64>,
    last_job: Option<JobId>,
}

impl StoredSchedule {
    fn state(&self) -> ScheduleState {
        ScheduleState {
            schedule: self.schedule.clone(),
            next_run: crate::from_unix_ms(self.next_ms),
            last_run: self.last_ms.map(crate::from_unix_ms),
            last_job_id: self.last_job.clone(),
        }
    }
}

impl MemoryDriver {
    fn check_sizes(&self, jobs: &[PendingJob]) -> Result<(), DriverError> {
        for job in jobs {
            job.check_size(self.max_payload, super::NAME)?;
        }
        Ok(())
    }
}

#[async_trait]
impl ScheduleStore for MemoryDriver {
    async fn upsert_schedule(
        &self,
        schedule: &Schedule,
        next_run: SystemTime,
    ) -> Result<UpsertOutcome, DriverError> {
        let key = format!("{} > {}", schedule.spec.key(), schedule.queue);
        let mut state = self.state();
        let outcome = match state.schedules.get_mut(&schedule.name) {
            None => {
                state.schedules.insert(
                    schedule.name.clone(),
                    StoredSchedule {
                        schedule: schedule.clone(),
                        key,
                        next_ms: unix_ms(next_run),
                        last_ms: None,
                        last_job: None,
                    },
                );
                UpsertOutcome::Created
            }
            Some(stored) => {
                let outcome = if stored.key == key {
                    UpsertOutcome::Kept
                } else {
                    stored.next_ms = unix_ms(next_run);
                    stored.key = key;
                    UpsertOutcome::Rescheduled
                };
                stored.schedule = schedule.clone();
                outcome
            }
        };
        Ok(outcome)
    }

    async fn schedules(&self) -> Result<Vec<ScheduleState>, DriverError> {
        Ok(self.state().schedules.values().map(|s| s.state()).collect())
    }

    async fn remove_schedule(&self, name: &str) -> Result<bool, DriverError> {
        Ok(self.state().schedules.remove(name).is_some())
    }

    async fn fire_tick(&self, tick: Tick) -> Result<FireOutcome, DriverError> {
        tick.check()?;
        self.check_sizes(&tick.jobs)?;
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        let Some(stored) = state
            .schedules
            .get_mut(&tick.name)
            .filter(|s| s.schedule.queue == tick.queue)
        else {
            return Ok(FireOutcome::Gone);
        };
        if stored.next_ms != unix_ms(tick.expected) {
            return Ok(FireOutcome::Stale {
                next_run: crate::from_unix_ms(stored.next_ms),
            });
        }
        stored.next_ms = unix_ms(tick.next);
        if let Some(last) = tick.jobs.last() {
            stored.last_job = Some(last.id.clone());
            stored.last_ms = tick.last_run.map(unix_ms);
        }
        let stored_any = !tick.jobs.is_empty();
        for job in tick.jobs {
            state.insert(job, now);
        }
        drop(state);
        if stored_any {
            self.inner.notify.notify_waiters();
        }
        Ok(FireOutcome::Fired)
    }

    async fn run_schedule_now(
        &self,
        name: &str,
        job: PendingJob,
        at: SystemTime,
    ) -> Result<Option<JobId>, DriverError> {
        self.check_sizes(std::slice::from_ref(&job))?;
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        let Some(stored) = state
            .schedules
            .get_mut(name)
            .filter(|s| s.schedule.queue == job.queue)
        else {
            return Ok(None);
        };
        stored.last_ms = Some(unix_ms(at));
        stored.last_job = Some(job.id.clone());
        let id = job.id.clone();
        state.insert(job, now);
        drop(state);
        self.inner.notify.notify_waiters();
        Ok(Some(id))
    }
}
