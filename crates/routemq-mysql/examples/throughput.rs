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
//! Knobs: `DRAIN=workers:batch,…` (drain shapes; the depth mode below drains
//! with the first, default `32:32`), `BULK_CHUNK=rows` (rows per
//! multi-row INSERT), `TIMING=1` (time spent in claim versus ack per drainer),
//! `RUST_LOG=routemq_mysql=debug` (shows lock-conflict retries).
//!
//! With `ROUTEMQ_BENCH_QUEUED=N` it measures instead what the queue's depth
//! costs: it stores N filler jobs delayed by a day, waits until InnoDB has
//! purged its undo history (so the purge of an earlier run's deletes is not
//! counted), then times single pushes, a bulk push and a drain of JOBS jobs
//! beside them, and prints per job the server's CPU time (read from `/proc`
//! through the server's pid file, so only for a server on this machine and a
//! reader allowed to see it), InnoDB's logical page reads, the pages it had to
//! read from disk and the rows the statements stepped through. Those counts
//! say what grows with the depth where a noisy machine's wall-clock rates
//! cannot. It then pushes JOBS more jobs and drains them with a stored
//! procedure (`drain_floor.sql`) doing the drain's row changes with no client
//! in the loop: the floor the driver's drain is measured against.

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
    if let Ok(queued) = std::env::var("ROUTEMQ_BENCH_QUEUED") {
        return depth_cost(&d, &queue, queued.parse()?, jobs).await;
    }

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
    let shapes = drain_shapes("1:100,4:100,8:50,16:50")?;
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

/// What the server has spent so far: its CPU seconds (`None` where its `/proc`
/// entry cannot be read), InnoDB's logical page reads and its reads from disk,
/// and the rows its statements stepped through (`Handler_read_next`, `_prev`
/// and `_rnd_next`: index and table scans, where a lookup is one `_key`).
struct ServerWork {
    cpu: Option<f64>,
    page_reads: u64,
    disk_reads: u64,
    rows_stepped: u64,
}

impl ServerWork {
    async fn read(conn: &mut mysql_async::Conn) -> Result<Self, Box<dyn std::error::Error>> {
        use mysql_async::prelude::Queryable;
        let status: Vec<(String, String)> = conn
            .query(
                "SHOW GLOBAL STATUS WHERE Variable_name IN \
                 ('Innodb_buffer_pool_read_requests', 'Innodb_buffer_pool_reads', \
                  'Handler_read_next', 'Handler_read_prev', 'Handler_read_rnd_next')",
            )
            .await?;
        let counter = |name: &str| {
            status
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0)
        };
        let pid_file: Option<String> = conn.query_first("SELECT @@pid_file").await?;
        Ok(Self {
            cpu: pid_file.and_then(|f| process_cpu(&f)),
            page_reads: counter("Innodb_buffer_pool_read_requests"),
            disk_reads: counter("Innodb_buffer_pool_reads"),
            rows_stepped: counter("Handler_read_next")
                + counter("Handler_read_prev")
                + counter("Handler_read_rnd_next"),
        })
    }

    /// The work since `before`, per job of `jobs`, as one line's tail.
    fn per_job_since(&self, before: &Self, jobs: u64) -> String {
        let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / jobs.max(1) as f64;
        let cpu = match (self.cpu, before.cpu) {
            (Some(a), Some(b)) => format!("{:.1} us", (a - b) * 1e6 / jobs.max(1) as f64),
            _ => "n/a".into(),
        };
        format!(
            "server CPU {cpu}, {:.1} page reads, {:.3} disk reads, {:.1} rows stepped per job",
            per(self.page_reads, before.page_reads),
            per(self.disk_reads, before.disk_reads),
            per(self.rows_stepped, before.rows_stepped),
        )
    }
}

/// The CPU seconds (user and system) of the process whose pid `pid_file` holds.
fn process_cpu(pid_file: &str) -> Option<f64> {
    let pid = std::fs::read_to_string(pid_file).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).ok()?;
    // Fields after the command name (which may hold spaces) start at state (3).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux.
}

/// Waits (up to 5 minutes) until InnoDB has purged the undo history, so the
/// purge of an earlier run's deletes is not counted in the phases measured
/// next. (Dirty pages are only reported: adaptive flushing keeps a few hundred
/// of them however long one waits.)
async fn settle(conn: &mut mysql_async::Conn) -> Result<(), Box<dyn std::error::Error>> {
    use mysql_async::prelude::Queryable;
    let start = Instant::now();
    loop {
        let history: Option<u64> = conn
            .query_first(
                "SELECT `COUNT` FROM information_schema.INNODB_METRICS \
                 WHERE NAME = 'trx_rseg_history_len'",
            )
            .await?;
        let dirty: Option<(String, u64)> = conn
            .query_first("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
            .await?;
        let (history, dirty) = (history.unwrap_or(0), dirty.map_or(0, |(_, n)| n));
        if history < 1_000 || start.elapsed() > Duration::from_secs(300) {
            eprintln!(
                "settled in {:.0?}: undo history {history}, dirty pages {dirty}",
                start.elapsed()
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `ROUTEMQ_BENCH_QUEUED`: single pushes, a bulk push and a drain of `jobs`
/// jobs with `queued` filler jobs stored beside them (see the module docs).
async fn depth_cost(
    d: &Arc<MysqlDriver>,
    queue: &QueueName,
    queued: u64,
    jobs: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = d.pool().get_conn().await?;
    let later = SystemTime::now() + Duration::from_secs(86_400);
    let mut left = queued;
    while left > 0 {
        let n = left.min(5_000);
        let filler = (0..n)
            .map(|i| {
                let mut j = pending(queue, i);
                j.available_at = Some(later);
                j
            })
            .collect();
        d.push_bulk(filler).await?;
        left -= n;
    }

    settle(&mut conn).await?;

    let single_n = (jobs / 10).max(500);
    let (before, start) = (ServerWork::read(&mut conn).await?, Instant::now());
    for n in 0..single_n {
        d.push(pending(queue, n)).await?;
    }
    let single = rate(single_n, start.elapsed());
    let single_work = ServerWork::read(&mut conn)
        .await?
        .per_job_since(&before, single_n);

    let (before, start) = (ServerWork::read(&mut conn).await?, Instant::now());
    push_in_thousands(d, queue, jobs).await?;
    let bulk = rate(jobs, start.elapsed());
    let bulk_work = ServerWork::read(&mut conn)
        .await?
        .per_job_since(&before, jobs);

    let (before, start) = (ServerWork::read(&mut conn).await?, Instant::now());
    let (workers, batch) = drain_shapes("32:32")?[0];
    let drained = drain(d, queue, workers, batch).await;
    let drain_rate = rate(drained, start.elapsed());
    let drain_work = ServerWork::read(&mut conn)
        .await?
        .per_job_since(&before, drained);
    let (floor_rate, floor_work) = drain_floor(d, &mut conn, queue, jobs, batch).await?;
    drop(conn);
    d.clear(queue).await?;
    println!("queued {queued}, jobs {jobs}:");
    println!("  single {single:.0} jobs/s; {single_work}");
    println!("  bulk   {bulk:.0} jobs/s; {bulk_work}");
    println!("  drain  {drain_rate:.0} jobs/s ({workers} claimers x {batch}); {drain_work}");
    println!("  floor  {floor_rate:.0} jobs/s (the drain's row work in a stored procedure, {batch} a claim); {floor_work}");
    Ok(())
}

/// Pushes `jobs` more jobs (as the bulk phase does), waits for purge, then
/// drains them with `drain_floor.sql`'s procedure in claims of `batch`: the
/// same row changes as the driver's drain with no client in the loop. Returns
/// the rate and the server's work per job.
async fn drain_floor(
    d: &Arc<MysqlDriver>,
    conn: &mut mysql_async::Conn,
    queue: &QueueName,
    jobs: u64,
    batch: usize,
) -> Result<(f64, String), Box<dyn std::error::Error>> {
    use mysql_async::prelude::Queryable;
    let after: u64 = conn
        .query_first("SELECT COALESCE(MAX(id), 0) FROM queue_jobs")
        .await?
        .unwrap_or(0);
    push_in_thousands(d, queue, jobs).await?;
    settle(conn).await?;
    conn.query_drop("DROP PROCEDURE IF EXISTS routemq_bench_drain_floor")
        .await?;
    conn.query_drop(include_str!("drain_floor.sql")).await?;
    let (before, start) = (ServerWork::read(conn).await?, Instant::now());
    let called = conn
        .exec_drop(
            "CALL routemq_bench_drain_floor(?, ?, ?)",
            (queue.as_str(), after, batch as u64),
        )
        .await;
    let elapsed = start.elapsed();
    let work = ServerWork::read(conn).await?.per_job_since(&before, jobs);
    conn.query_drop("DROP PROCEDURE IF EXISTS routemq_bench_drain_floor")
        .await?;
    called?;
    let left: u64 = conn
        .exec_first(
            "SELECT COUNT(*) FROM queue_jobs WHERE queue = ? AND id > ?",
            (queue.as_str(), after),
        )
        .await?
        .unwrap_or(0);
    if left > 0 {
        return Err(format!("the floor's procedure left {left} of {jobs} jobs").into());
    }
    Ok((rate(jobs, elapsed), work))
}

/// The drain shapes of `DRAIN` (`workers:batch,…`), else of `default`; a
/// shape that does not parse, or has a 0, is an error naming it.
fn drain_shapes(default: &str) -> Result<Vec<(usize, usize)>, Box<dyn std::error::Error>> {
    let shapes = std::env::var("DRAIN").unwrap_or_else(|_| default.to_owned());
    shapes
        .split(',')
        .map(|shape| {
            let parsed = shape
                .split_once(':')
                .and_then(|(w, b)| Some((w.parse().ok()?, b.parse().ok()?)));
            match parsed {
                Some((w, b)) if w > 0 && b > 0 => Ok((w, b)),
                _ => Err(
                    format!("DRAIN: expected workers:batch (both above 0), got {shape:?}").into(),
                ),
            }
        })
        .collect()
}

/// Pushes `jobs` jobs to `queue` in `push_bulk` calls of 1,000.
async fn push_in_thousands(
    d: &Arc<MysqlDriver>,
    queue: &QueueName,
    jobs: u64,
) -> Result<(), routemq_core::DriverError> {
    for from in (0..jobs).step_by(1_000) {
        let chunk = (from..(from + 1_000).min(jobs))
            .map(|n| pending(queue, n))
            .collect();
        d.push_bulk(chunk).await?;
    }
    Ok(())
}
