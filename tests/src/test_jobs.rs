//! Job types the suite dispatches. Each writes to the [`run_ledger`](crate::run_ledger)
//! so a test can tell how often every job ran.

use std::time::Duration;

use routemq_core::{Job, JobContext, JobError};
use serde::{Deserialize, Serialize};

use crate::run_ledger::RunId;

/// Records one run of job `n` in its test's ledger, after an optional async pause
/// (so a batch has jobs in flight when a fault strikes), and succeeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    /// The test's ledger.
    pub run: RunId,
    /// The job's number, `0..dispatched`.
    pub n: u64,
    /// Milliseconds to sleep (asynchronously) before recording.
    #[serde(default)]
    pub pause_ms: u64,
}

impl Recorded {
    /// Job `n` of `run`, with no pause.
    pub fn new(run: RunId, n: u64) -> Self {
        Recorded {
            run,
            n,
            pause_ms: 0,
        }
    }
}

impl Job for Recorded {
    const NAME: &'static str = "e2e.recorded";

    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        if self.pause_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.pause_ms)).await;
        }
        self.run.record(self.n);
        Ok(())
    }
}

/// Fails fatally with a known message; its `failed` hook then panics. The job must
/// still reach the failed store with the handler's message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HookPanics {
    /// The test's ledger (the hook's run is recorded as job `n`).
    pub run: RunId,
    /// The job's number.
    pub n: u64,
}

impl HookPanics {
    /// The handler's error message.
    pub const MESSAGE: &'static str = "handler gave up on purpose";
}

impl Job for HookPanics {
    const NAME: &'static str = "e2e.hook_panics";

    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        Err(JobError::fatal(Self::MESSAGE))
    }

    async fn failed(&self, _ctx: &JobContext, _error: &JobError) {
        self.run.record(self.n);
        panic!("the failed hook panics on purpose");
    }
}

/// Blocks its thread (no `.await`) for `ms` milliseconds, then records job `n`:
/// the kind of handler a timeout cannot stop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlocksThread {
    /// The test's ledger.
    pub run: RunId,
    /// The job's number.
    pub n: u64,
    /// How long the thread is blocked.
    pub ms: u64,
}

impl Job for BlocksThread {
    const NAME: &'static str = "e2e.blocks_thread";

    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        std::thread::sleep(Duration::from_millis(self.ms));
        self.run.record(self.n);
        Ok(())
    }
}

/// The same job name and data as the CLI's built-in `routemq.sleep {"ms": N}`
/// (its extra fields are ignored by the CLI), so a `routemq work` process runs
/// it; an in-process worker runs it with this type instead, recording job `n` in
/// `run` and, on a second or later attempt, in `again`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CliSleep {
    /// How long to sleep, in milliseconds.
    pub ms: u64,
    /// The test's ledger of runs in this process.
    pub run: RunId,
    /// The test's ledger of runs after the first attempt.
    pub again: RunId,
    /// The job's number.
    pub n: u64,
}

impl Job for CliSleep {
    const NAME: &'static str = "routemq.sleep";

    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        self.run.record(self.n);
        if ctx.attempt() > 1 {
            self.again.record(self.n);
        }
        Ok(())
    }
}
