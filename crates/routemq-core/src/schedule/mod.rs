//! Recurring jobs: a [`Schedule`] names a job to enqueue at every tick of a
//! [`ScheduleSpec`] (a cron expression in a time zone, or a fixed interval), and
//! what to do with ticks missed while no worker ran ([`MissedTicks`]). Drivers
//! keep schedules and their state behind [`ScheduleStore`](crate::ScheduleStore);
//! [`plan_tick`] decides what one worker does about a due tick.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{
    unix_ms, Backoff, Codec, CodecError, Envelope, JobId, JobOptions, PendingJob, QueueName,
};

mod plan;
mod spec;
#[cfg(test)]
mod tests;

pub use plan::{plan_tick, PlanError, MISSED_AFTER};
pub use spec::{ScheduleSpec, MIN_INTERVAL};

/// Why a schedule was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The cron expression does not parse.
    #[error("invalid cron expression {expr:?}: {reason}")]
    BadCron {
        /// The expression.
        expr: String,
        /// The parser's reason.
        reason: String,
    },
    /// The time zone is not an IANA zone name.
    #[error("unknown time zone {tz:?} ({reason}); use an IANA name such as UTC or Europe/Paris")]
    BadTimeZone {
        /// The zone as given.
        tz: String,
        /// The parser's reason.
        reason: String,
    },
    /// The interval is too short or not whole milliseconds.
    #[error("invalid interval {interval:?}: {reason}")]
    BadInterval {
        /// The interval.
        interval: Duration,
        /// What is wrong with it.
        reason: String,
    },
    /// The expression never matches after the given time (say, February 30).
    #[error("cron expression {expr:?} has no next run: {reason}")]
    NoNextTick {
        /// The expression.
        expr: String,
        /// The search's reason.
        reason: String,
    },
    /// A time outside what the calendar arithmetic handles.
    #[error("time out of range for schedule arithmetic")]
    OutOfRange,
    /// A schedule name outside the safe set.
    #[error("invalid schedule name {name:?}: use 1-100 of A-Z a-z 0-9 _ - .")]
    BadName {
        /// The name as given.
        name: String,
    },
    /// The job name is empty.
    #[error("a schedule needs a job name (e.g. emails.digest)")]
    NoJobName,
    /// A missed-tick policy that does not parse.
    #[error("invalid missed-tick policy {given:?}: use skip or catch-up:N (N from 1 to 1000)")]
    BadMissedPolicy {
        /// The policy as given.
        given: String,
    },
}

/// What happens to ticks missed while no worker ran (a tick is *missed* when it
/// is more than [`MISSED_AFTER`] late when a worker first sees it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissedTicks {
    /// Missed ticks enqueue nothing; the schedule resumes at its next tick.
    #[default]
    Skip,
    /// The oldest missed ticks are enqueued, at most this many per outage; the
    /// rest are skipped.
    CatchUp(u32),
}

impl MissedTicks {
    /// The largest catch-up count accepted.
    pub const MAX_CATCH_UP: u32 = 1_000;
}

impl fmt::Display for MissedTicks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissedTicks::Skip => f.write_str("skip"),
            MissedTicks::CatchUp(n) => write!(f, "catch-up:{n}"),
        }
    }
}

impl FromStr for MissedTicks {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, ScheduleError> {
        let bad = || ScheduleError::BadMissedPolicy {
            given: s.to_owned(),
        };
        match s.trim() {
            "skip" => Ok(MissedTicks::Skip),
            other => {
                let n: u32 = other
                    .strip_prefix("catch-up:")
                    .ok_or_else(bad)?
                    .parse()
                    .map_err(|_| bad())?;
                if n == 0 || n > Self::MAX_CATCH_UP {
                    return Err(bad());
                }
                Ok(MissedTicks::CatchUp(n))
            }
        }
    }
}

/// A recurring job: enqueue `job` with `data` on `queue` at every tick of `spec`.
///
/// Declared in code (`WorkerBuilder::schedule`) or stored by operators (`routemq
/// schedule add`); either way it lives in the backend, and every worker takes part
/// in firing it, each tick exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Unique name: 1–100 of `A-Za-z0-9_-.`.
    pub name: String,
    /// When it fires.
    pub spec: ScheduleSpec,
    /// The job type's name.
    pub job: String,
    /// The job's fields (JSON codec).
    #[serde(default = "empty_object")]
    pub data: serde_json::Value,
    /// The queue the jobs go to.
    pub queue: QueueName,
    /// Attempts allowed per job (default [`JobOptions::DEFAULT_MAX_TRIES`]).
    #[serde(default)]
    pub max_tries: Option<u32>,
    /// Run time allowed per attempt, in milliseconds (default
    /// [`JobOptions::DEFAULT_TIMEOUT`]).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// What to do with missed ticks.
    #[serde(default)]
    pub missed: MissedTicks,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

impl Schedule {
    /// A schedule of `job` at `spec` on queue `default`, data `{}`, missed ticks
    /// skipped. Refuses a bad name or an empty job name.
    pub fn new(
        name: impl Into<String>,
        spec: ScheduleSpec,
        job: impl Into<String>,
    ) -> Result<Self, ScheduleError> {
        let name = name.into();
        check_name(&name)?;
        let job = job.into();
        if job.trim().is_empty() {
            return Err(ScheduleError::NoJobName);
        }
        Ok(Schedule {
            name,
            spec,
            job,
            data: empty_object(),
            queue: QueueName::new(JobOptions::DEFAULT_QUEUE).expect("the default queue is valid"),
            max_tries: None,
            timeout_ms: None,
            missed: MissedTicks::Skip,
        })
    }

    /// Sets the job's fields.
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }

    /// Sets the target queue.
    pub fn queue(mut self, queue: QueueName) -> Self {
        self.queue = queue;
        self
    }

    /// Sets the attempts allowed per job.
    pub fn max_tries(mut self, tries: u32) -> Self {
        self.max_tries = Some(tries.max(1));
        self
    }

    /// Sets the run time allowed per attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = Some(timeout.as_millis().min(u64::MAX as u128) as u64);
        self
    }

    /// Sets the missed-tick policy.
    pub fn missed(mut self, missed: MissedTicks) -> Self {
        self.missed = missed;
        self
    }

    /// Checks name, job name and spec (for schedules read back from storage).
    pub fn check(&self) -> Result<(), ScheduleError> {
        check_name(&self.name)?;
        if self.job.trim().is_empty() {
            return Err(ScheduleError::NoJobName);
        }
        self.spec.check()
    }

    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: SystemTime) -> Result<SystemTime, ScheduleError> {
        self.spec.next_after(t)
    }

    /// The job of the tick at `tick`: a JSON envelope with a fresh id, claimable
    /// now, whose `created_at_ms` is the tick's time (so a job knows which tick it
    /// is, and a late catch-up job shows how late it is).
    pub fn pending_job(&self, tick: SystemTime) -> Result<PendingJob, CodecError> {
        let data = Codec::Json.encode(&self.job, &self.data)?;
        let envelope = Envelope {
            id: JobId::generate(),
            name: self.job.clone(),
            queue: self.queue.clone(),
            codec: Codec::Json,
            data,
            encryption: None,
            max_tries: self
                .max_tries
                .unwrap_or(JobOptions::DEFAULT_MAX_TRIES)
                .max(1),
            timeout: self
                .timeout_ms
                .map_or(JobOptions::DEFAULT_TIMEOUT, Duration::from_millis),
            backoff: Backoff::default(),
            created_at_ms: unix_ms(tick),
            trace: Default::default(),
            keep_result: None,
        };
        PendingJob::new(&envelope, None)
    }

    /// The stored form (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a schedule serialises")
    }

    /// Reads the stored form.
    pub fn from_json(text: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }
}

fn check_name(name: &str) -> Result<(), ScheduleError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(ScheduleError::BadName {
            name: name.to_owned(),
        })
    }
}

/// A stored schedule and its state, as [`ScheduleStore::schedules`](crate::ScheduleStore::schedules)
/// lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleState {
    /// The schedule.
    pub schedule: Schedule,
    /// The next tick not yet fired (or skipped).
    pub next_run: SystemTime,
    /// The tick time of the last job enqueued (by a tick or `schedule run`).
    pub last_run: Option<SystemTime>,
    /// The id of that job.
    pub last_job_id: Option<JobId>,
}
