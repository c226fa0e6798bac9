//! Recurring-job storage: schedules, their state (next run, last run, last job
//! id), and the one atomic step that fires a tick.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{DriverError, JobId, PendingJob, QueueName, Schedule, ScheduleState};

/// What [`ScheduleStore::upsert_schedule`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsertOutcome {
    /// No schedule had that name; it starts at the given next run.
    Created,
    /// Same spec as stored: the definition is replaced, the state (next run,
    /// last run, last job id) kept.
    Kept,
    /// The spec (or the queue) changed: the definition is replaced and the next
    /// run set to the one given; last run and last job id are kept.
    Rescheduled,
}

/// One atomic step of a schedule: move its next run from `expected` to `next`
/// and store `jobs` (none when the step only skips missed ticks).
#[derive(Debug, Clone)]
pub struct Tick {
    /// The schedule's name.
    pub name: String,
    /// The schedule's queue, as the firing worker read it (every job goes there).
    pub queue: QueueName,
    /// The next run the firing worker read; the step applies only if it is still
    /// the stored one.
    pub expected: SystemTime,
    /// The next run after this step.
    pub next: SystemTime,
    /// The jobs of the ticks fired by this step, oldest first.
    pub jobs: Vec<PendingJob>,
    /// The tick time of the last job in `jobs` (recorded as last run).
    pub last_run: Option<SystemTime>,
}

/// What [`ScheduleStore::fire_tick`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireOutcome {
    /// This call moved the next run and stored the jobs.
    Fired,
    /// Another call fired or skipped the tick first (or the schedule was
    /// rescheduled): nothing changed. `next_run` is the stored one.
    Stale {
        /// The stored next run.
        next_run: SystemTime,
    },
    /// No schedule of that name on that queue (removed, or moved to another
    /// queue): nothing changed.
    Gone,
}

/// Schedules and their state, kept in the backend so every worker process takes
/// part in firing them and operators can change them while workers run.
///
/// # Contract (checked by the conformance suite's schedule rules)
/// - [`fire_tick`](ScheduleStore::fire_tick) is atomic: the next run moves from
///   the expected value and the jobs are stored, or nothing happens. Of any number
///   of concurrent calls for the same expected next run, exactly one fires; each
///   tick is enqueued once however many workers run.
/// - An upsert with an unchanged spec and queue keeps the state; a changed one sets
///   the next run given.
/// - [`run_schedule_now`](ScheduleStore::run_schedule_now) stores a job and
///   records it as the last run without moving the next run.
/// - [`schedules`](ScheduleStore::schedules) lists every schedule sorted by name.
#[async_trait]
pub trait ScheduleStore: Send + Sync + fmt::Debug + 'static {
    /// Creates or replaces `schedule`; a new or changed one starts at
    /// `next_run` (normally `schedule.next_after(now)`).
    async fn upsert_schedule(
        &self,
        schedule: &Schedule,
        next_run: SystemTime,
    ) -> Result<UpsertOutcome, DriverError>;

    /// Every schedule with its state, sorted by name. A stored definition that no
    /// longer parses is reported as [`DriverError::Corrupt`].
    async fn schedules(&self) -> Result<Vec<ScheduleState>, DriverError>;

    /// Deletes a schedule; `true` when there was one. Jobs it enqueued stay.
    async fn remove_schedule(&self, name: &str) -> Result<bool, DriverError>;

    /// Fires one step (see [`Tick`]): atomically, if the stored next run of
    /// `tick.name` on `tick.queue` is `tick.expected`, sets it to `tick.next`,
    /// stores `tick.jobs` (claimable now) and, when there are jobs, records
    /// `tick.last_run` and the last job's id. Every job must be on `tick.queue`.
    async fn fire_tick(&self, tick: Tick) -> Result<FireOutcome, DriverError>;

    /// Enqueues `job` for schedule `name` now (`routemq schedule run`), recording
    /// `at` as its last run and the job's id, without touching the next run.
    /// `None` when there is no such schedule on the job's queue (nothing stored).
    async fn run_schedule_now(
        &self,
        name: &str,
        job: PendingJob,
        at: SystemTime,
    ) -> Result<Option<JobId>, DriverError>;
}

impl Tick {
    /// [`DriverError::InvalidArgument`] when a job is not on the tick's queue.
    pub fn check(&self) -> Result<(), DriverError> {
        match self.jobs.iter().find(|j| j.queue != self.queue) {
            Some(j) => Err(DriverError::InvalidArgument(format!(
                "schedule {}: job {} is for queue {}, not the schedule's queue {}",
                self.name, j.id, j.queue, self.queue
            ))),
            None => Ok(()),
        }
    }
}
