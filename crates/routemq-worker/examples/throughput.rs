//! Worker overhead on the in-memory driver: N no-op jobs, run to empty.
//!
//! `cargo run --release -p routemq-worker --example worker-throughput -- [jobs] [concurrency]`

use std::sync::Arc;
use std::time::Instant;

use routemq_core::{Driver, Job, JobContext, JobError, MemoryDriver, Queue};
use routemq_worker::Worker;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Noop {
    n: u64,
}

impl Job for Noop {
    const NAME: &'static str = "bench.noop";
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let jobs: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);

    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let queue = Queue::from_arc(driver.clone());
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(1_000) {
        queue
            .dispatch_bulk(chunk.iter().map(|&n| Noop { n }))
            .await?;
    }
    let worker = Worker::builder(driver)
        .register::<Noop>()
        .queues(["default"])
        .concurrency(concurrency)
        .stop_when_empty(true)
        .build()?;
    let started = Instant::now();
    let report = worker.run_until(std::future::pending()).await?;
    let took = started.elapsed();
    println!(
        "{} jobs, concurrency {}: {:.0} ms, {:.0} jobs/s",
        report.counts.processed,
        concurrency,
        took.as_secs_f64() * 1e3,
        report.counts.processed as f64 / took.as_secs_f64()
    );
    Ok(())
}
