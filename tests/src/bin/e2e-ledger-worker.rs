//! `e2e-ledger-worker LEDGER QUEUE... [--concurrency N]`: one worker process of
//! the cluster exactly-once test (`tests/tests/redis_cluster_exactly_once.rs`).
//!
//! It runs a real [`routemq_worker::Worker`] over the Redis driver configured
//! from the environment ([`RedisDriver::from_env`]: `REDIS_CLUSTER_NODES` or
//! `REDIS_URL`, `REDIS_PREFIX`, ...) on the QUEUEs, in that priority order, with
//! [`FileRecorded`] registered: each run appends its job number to the file
//! LEDGER (see `routemq_e2e::file_ledger`). It stops when the queues are empty
//! (`stop_when_empty`), prints the worker's report as one JSON line on stdout and
//! exits 0; it exits 2 on bad arguments and 1 when the driver, the ledger or the
//! worker cannot run. Logs go to stderr, filtered by `RUST_LOG` (default `warn`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use routemq_e2e::file_ledger::{self, FileRecorded};
use routemq_redis::RedisDriver;
use routemq_worker::Worker;

/// Concurrency when `--concurrency` is not given.
const DEFAULT_CONCURRENCY: usize = 16;

/// The command line, parsed.
struct Args {
    ledger: PathBuf,
    queues: Vec<String>,
    concurrency: usize,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut concurrency = DEFAULT_CONCURRENCY;
    while let Some(arg) = args.next() {
        if arg == "--concurrency" {
            let n = args.next().ok_or("--concurrency needs a number")?;
            concurrency = n
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!("--concurrency {n:?} is not a number above 0"))?;
        } else {
            positional.push(arg);
        }
    }
    let mut positional = positional.into_iter();
    let ledger = positional.next().ok_or("no LEDGER file given")?;
    let queues: Vec<String> = positional.collect();
    if queues.is_empty() {
        return Err("no QUEUE given".into());
    }
    Ok(Args {
        ledger: ledger.into(),
        queues,
        concurrency,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(why) => {
            eprintln!(
                "e2e-ledger-worker: {why}\nusage: e2e-ledger-worker LEDGER QUEUE... [--concurrency N]"
            );
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("e2e-ledger-worker: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    file_ledger::open(&args.ledger)
        .map_err(|e| format!("cannot open the ledger {}: {e}", args.ledger.display()))?;
    let driver = RedisDriver::from_env().map_err(|e| format!("Redis settings: {e}"))?;
    let worker = Worker::builder(Arc::new(driver))
        .register::<FileRecorded>()
        .queues(&args.queues)
        .concurrency(args.concurrency)
        .sleep(Duration::from_millis(200))
        .stop_when_empty(true)
        .build()
        .map_err(|e| format!("worker: {e}"))?;
    let report = worker.run().await.map_err(|e| format!("worker run: {e}"))?;
    let json = serde_json::to_string(&report).map_err(|e| format!("report as JSON: {e}"))?;
    println!("{json}");
    Ok(())
}
