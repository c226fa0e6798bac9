//! `routemq-soak`: the soak harness behind `cargo xtask soak`.
//!
//! Run as `routemq-soak soak [--minutes N] [--rate R] [--kill-every 30s]
//! [--connection redis|database] [--concurrency N]`, it produces a steady load onto
//! one queue while two worker processes (this same binary running the `routemq`
//! verbs, with the [`SoakJob`] type registered) drain it: one lives for the whole
//! run (its RSS is sampled at start and end), the other is SIGKILLed and restarted
//! every `--kill-every`. Every job run is appended to a per-process ledger file;
//! at the end every dispatched job is accounted for as completed, failed or still
//! queued, and jobs that ran more than once are counted.
//!
//! Any other first argument runs the ordinary `routemq` command line (that is how
//! the worker processes start: `routemq-soak work ...`).
//!
//! It must not be a dependency of anything: it is an operations tool.

mod ledger;
mod orchestrate;

use std::process::ExitCode;

use routemq_core::{Job, JobContext, JobError, JobOptions};
use serde::{Deserialize, Serialize};

/// The soak job: records its run in the ledger, then works for a few milliseconds
/// so that a SIGKILL finds jobs in flight.
#[derive(Debug, Serialize, Deserialize)]
pub struct SoakJob {
    /// The job's sequence number in this soak run.
    pub n: u64,
}

impl Job for SoakJob {
    const NAME: &'static str = "routemq.soak";
    fn options() -> JobOptions {
        JobOptions::new().queue(orchestrate::QUEUE).max_tries(5)
    }
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        ledger::record_run(self.n)?;
        Ok(())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("soak") {
        let runtime = match tokio::runtime::Runtime::new() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("routemq-soak: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        return match runtime.block_on(orchestrate::soak(&args[2..])) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("routemq-soak: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    routemq_cli::App::new()
        .name("routemq-soak")
        .register::<SoakJob>()
        .run()
}
