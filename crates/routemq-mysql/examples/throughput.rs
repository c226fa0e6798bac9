//! Measures the driver against a real server: single enqueue, bulk enqueue,
//! drain (claim + ack_batch) and dispatch-to-claim latency with the producer on
//! its own driver and the in-process wake-up off (what a producer in another
//! process sees).
//!
//! ```text
//! DATABASE_URL=mysql://root@127.0.0.1:3306/test \
//!     cargo run --release -p routemq-mysql --example mysql-throughput [JOBS]
//! ```
//! Uses (and empties) the queue `throughput` of that database; migrates first.
//! Knobs: `DRAIN=workers:batch,…` (drain shapes), `BULK_CHUNK=rows` (rows per
//! multi-row INSERT), `TIMING=1` (time spent in claim versus ack per drainer),
//! `RUST_LOG=routemq_mysql=debug` (shows lock-conflict retries).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use routemq_core::prelude::*;
use routemq_core::{unix_ms, Backoff, Codec, Envelope, JobId, PendingJob, QueueName};
use routemq_mysql::{MysqlConfig, MysqlDriver};

const LEASE: Duration = Duration::from_secs(60);

fn pending(queue: &QueueName, n: u64) -> PendingJob {
    let env = Envelope {
        id: JobId::generate(),
        name: "bench.job".into(),
        queue: queue.clone(),
        codec: Codec::Json,
        data: format!(
            "{{\"n\":{n},\"to\":\"user{n}@example.com\",\"subject\":\"benchmark job payload\",\"sent_ms\":{}}}",
            unix_ms(SystemTime::now())
        )
        .into_bytes(),
        encryption: None,
        max_tries: 3,
        timeout: Duration::from_secs(60),
        backoff: Backoff::default(),
        created_at_ms: unix_ms(SystemTime::now()),
        trace: Default::default(),
        keep_result: None,
    };
    PendingJob::new(&env, None).expect("encodes")
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

async fn drain(d: &Arc<MysqlDriver>, queue: &QueueName, workers: usize, batch: usize) -> u64 {
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (d, queue) = (d.clone(), queue.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                let (mut tc, mut ta) = (Duration::ZERO, Duration::ZERO);
                loop {
                    let t0 = Instant::now();
                    let got = d
                        .claim(std::slice::from_ref(&queue), batch, LEASE)
                        .await
                        .expect("claim");
                    tc += t0.elapsed();
                    if got.is_empty() {
                        if std::env::var("TIMING").is_ok() {
                            eprintln!("claim {tc:?} ack {ta:?}");
                        }
                        return n;
                    }
                    let leases: Vec<_> = got.iter().map(|r| r.lease.clone()).collect();
                    let t0 = Instant::now();
                    let out = d.ack_batch(&leases).await.expect("ack_batch");
                    ta += t0.elapsed();
                    n += out.acked as u64;
                }
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("drainer");
    }
    total
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let jobs: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let url = std::env::var("DATABASE_URL")
        .or_else(|_| std::env::var("ROUTEMQ_TEST_MYSQL_URL"))
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let mut config = MysqlConfig::from_url(&url)?;
    if let Some(rows) = std::env::var("BULK_CHUNK")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.bulk_chunk_rows = rows;
    }
    let d = Arc::new(MysqlDriver::connect_and_migrate(config.clone()).await?);
    let queue = QueueName::new("throughput")?;
    d.clear(&queue).await?;

    // Single enqueue: one producer task, then 16 concurrent producers.
    let single_n = (jobs / 4).max(1000);
    let start = Instant::now();
    for n in 0..single_n {
        d.push(pending(&queue, n)).await?;
    }
    let single_1 = rate(single_n, start.elapsed());
    let start = Instant::now();
    let producers: Vec<_> = (0..16)
        .map(|p| {
            let (d, queue) = (d.clone(), queue.clone());
            tokio::spawn(async move {
                for n in 0..single_n / 16 {
                    d.push(pending(&queue, p * 1_000_000 + n))
                        .await
                        .expect("push");
                }
            })
        })
        .collect();
    for p in producers {
        p.await?;
    }
    let single_16 = rate(single_n / 16 * 16, start.elapsed());
    d.clear(&queue).await?;

    // Bulk enqueue: the whole batch in one push_bulk (one transaction).
    let batch: Vec<_> = (0..jobs).map(|n| pending(&queue, n)).collect();
    let start = Instant::now();
    d.push_bulk(batch).await?;
    let bulk = rate(jobs, start.elapsed());

    // Drain: claim + ack_batch.
    let mut drains = Vec::new();
    // DRAIN="workers:batch,…" picks the drain shapes (default 1:100,4:100,8:50,16:50).
    let shapes: Vec<(usize, usize)> = std::env::var("DRAIN")
        .unwrap_or_else(|_| "1:100,4:100,8:50,16:50".into())
        .split(',')
        .filter_map(|p| {
            let (w, b) = p.split_once(':')?;
            Some((w.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    for (workers, batch) in shapes {
        if drains.is_empty() {
            // Jobs from the bulk step.
        } else {
            d.push_bulk((0..jobs).map(|n| pending(&queue, n)).collect())
                .await?;
        }
        let start = Instant::now();
        let n = drain(&d, &queue, workers, batch).await;
        drains.push((workers, batch, rate(n, start.elapsed())));
    }

    // Latency: producer on its own driver; the worker's wake-up is off, so only
    // the adaptive poll finds the jobs, as with a producer in another process.
    let mut worker_cfg = config.clone();
    worker_cfg.local_wakeup = false;
    let worker = Arc::new(MysqlDriver::connect(worker_cfg).await?);
    let producer = MysqlDriver::connect(config.clone()).await?;
    let samples = 400u64;
    let consumer = {
        let (w, queue) = (worker.clone(), queue.clone());
        tokio::spawn(async move {
            let mut lat = Vec::with_capacity(samples as usize);
            while (lat.len() as u64) < samples {
                let got = w
                    .claim(std::slice::from_ref(&queue), 16, LEASE)
                    .await
                    .expect("claim");
                if got.is_empty() {
                    w.wait_for_jobs(std::slice::from_ref(&queue), Duration::from_secs(1))
                        .await
                        .expect("wait");
                    continue;
                }
                let now = unix_ms(SystemTime::now());
                for r in &got {
                    let env = r.envelope().expect("envelope");
                    lat.push((now - env.created_at_ms).max(0) as u64);
                }
                let leases: Vec<_> = got.iter().map(|r| r.lease.clone()).collect();
                w.ack_batch(&leases).await.expect("ack");
            }
            lat
        })
    };
    for n in 0..samples {
        producer.push(pending(&queue, n)).await?;
        // Spread the dispatches so the worker goes idle between them.
        tokio::time::sleep(Duration::from_millis(5 + (n * 7919) % 45)).await;
    }
    let mut lat = consumer.await?;
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize];

    println!("jobs: {jobs}");
    println!("single enqueue, 1 producer:    {single_1:>9.0} jobs/s");
    println!("single enqueue, 16 producers:  {single_16:>9.0} jobs/s");
    println!("bulk enqueue (one push_bulk):  {bulk:>9.0} jobs/s");
    for (w, b, r) in drains {
        println!("drain claim+ack_batch, {w:>2} workers x batch {b:>3}: {r:>9.0} jobs/s");
    }
    println!(
        "latency (other-process producer, poll_max {:?}): p50 {} ms, p99 {} ms, max {} ms",
        config.poll_max,
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1]
    );
    d.clear(&queue).await?;
    Ok(())
}
