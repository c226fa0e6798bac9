//! Job types built into every `routemq` binary, for operations, demos and
//! benchmarks: `routemq.noop`, `routemq.sleep`, `routemq.fail`, `routemq.panic`,
//! and the demo's `routemq.flaky`.

use std::time::Duration;

use routemq_core::{Job, JobContext, JobError};
use serde::{Deserialize, Serialize};

/// `routemq.noop`: does nothing and succeeds. `--data '{}'`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Noop {}

impl Job for Noop {
    const NAME: &'static str = "routemq.noop";
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// `routemq.sleep {"ms": N}`: sleeps N milliseconds, then succeeds. It reports
/// its progress as it sleeps (`routemq job show`) and stops at once when
/// cancelled (`routemq cancel`); the sleep is an `.await`, so a timeout or
/// shutdown really stops it too.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sleep {
    /// How long to sleep, in milliseconds.
    pub ms: u64,
}

/// How often `routemq.sleep` reports its progress.
const SLEEP_REPORT_EVERY: Duration = Duration::from_millis(100);

impl Job for Sleep {
    const NAME: &'static str = "routemq.sleep";
    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        if self.ms == 0 {
            return Ok(());
        }
        let total = Duration::from_millis(self.ms);
        let started = tokio::time::Instant::now();
        let end = started + total;
        loop {
            let now = tokio::time::Instant::now();
            if now >= end {
                break;
            }
            let slept = now - started;
            ctx.progress(
                (slept.as_secs_f64() / total.as_secs_f64() * 100.0) as f32,
                format!("slept {} ms of {}", slept.as_millis(), self.ms),
            );
            let step = (end - now).min(SLEEP_REPORT_EVERY);
            tokio::select! {
                _ = ctx.cancelled() => {
                    return Err(JobError::fatal(format!(
                        "cancelled after {} ms of {}",
                        started.elapsed().as_millis(),
                        self.ms
                    )));
                }
                _ = tokio::time::sleep(step) => {}
            }
        }
        ctx.progress(100.0, format!("slept {} ms", self.ms));
        Ok(())
    }
}

/// `routemq.fail {"message": S}`: fails every attempt with `message` (retried
/// until its tries are used up, then stored as failed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fail {
    /// The error message.
    #[serde(default = "Fail::default_message")]
    pub message: String,
}

impl Fail {
    fn default_message() -> String {
        "routemq.fail was asked to fail".to_owned()
    }
}

impl Job for Fail {
    const NAME: &'static str = "routemq.fail";
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        Err(JobError::retry(self.message.clone()))
    }
}

/// `routemq.panic`: panics (the worker records the panic message as the failure).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Panic {}

impl Job for Panic {
    const NAME: &'static str = "routemq.panic";
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        panic!("routemq.panic was asked to panic")
    }
}

/// `routemq.flaky {"fail_times": N}`: fails its first N attempts, then succeeds
/// (the demo uses it to show retries).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flaky {
    /// Attempts that fail before one succeeds.
    pub fail_times: u32,
}

impl Job for Flaky {
    const NAME: &'static str = "routemq.flaky";
    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        if ctx.attempt() <= self.fail_times {
            return Err(JobError::retry(format!(
                "routemq.flaky: attempt {} of the {} meant to fail",
                ctx.attempt(),
                self.fail_times
            )));
        }
        Ok(())
    }
}

/// Names of the built-in job types.
pub const BUILTIN_NAMES: [&str; 5] = [
    Noop::NAME,
    Sleep::NAME,
    Fail::NAME,
    Panic::NAME,
    Flaky::NAME,
];
