//! Measures the driver alone (no worker): single enqueue, bulk enqueue,
//! claim + ack_batch drain, and idle wake-up latency.
//!
//! ```text
//! cargo run --release -p routemq-redis --example redis-throughput -- [redis://127.0.0.1:6379] [jobs] [claimers] [claim size]
//! ```
//!
//! With `ROUTEMQ_BENCH_ONLY=single`, `bulk` or `drain` it runs one phase;
//! `bulk` also prints its floor, the same commands with nothing to build, and
//! what each cost the server a job (`bulk_floor.rs`); `single` also prints two floors for a single push on a bare connection
//! (one `RPUSH` a call, and the push's three commands in one transaction);
//! with `ROUTEMQ_BENCH_ROUNDS=R` as well, it runs the driver's push, the two
//! floors, an `RPUSH` on a raw socket (as `redis-benchmark -c 1` sends it)
//! and the driver's and a bare `PING` in turn, R rounds of 2,000 calls each
//! (fewer with fewer jobs), and prints the median of each round's ratios
//! (`single_push.rs`).
//!
//! With `ROUTEMQ_BENCH_QUEUED=N` it measures instead what the queue's depth
//! costs: N filler jobs are stored first (delayed by a day, so they stay in
//! the queue's store through the run), then a bulk push of `jobs` jobs and
//! their claim + ack_batch drain are timed, each with the Redis server's
//! main-thread CPU time it took (`INFO cpu`), which a noisy machine's
//! scheduling does not inflate the way it does wall-clock rates.
//!
//! With `ROUTEMQ_BENCH_CALLGRIND_PID=P` (a Redis server under callgrind,
//! started with `--instr-atstart=no`) the server counts instructions during
//! the drain only (ARCHITECTURE.md, "A claim hands its bodies on unsplit").
//!
//! Each run stores its keys under a prefix of its own and deletes all of
//! them when it ends, failed or not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use routemq_core::prelude::*;
use routemq_core::{Codec, Envelope, JobId, PendingJob, QueueName};
use routemq_redis::{RedisConfig, RedisDriver};

mod bulk_floor;
mod single_push;
use bulk_floor::{driver_bulk, BareBulk};
use single_push::{bare_floors, interleaved_single, single_rates};

fn job(queue: &QueueName, data: Vec<u8>) -> PendingJob {
    let envelope = Envelope {
        id: JobId::generate(),
        name: "bench.noop".into(),
        queue: queue.clone(),
        codec: Codec::Json,
        data,
        encryption: None,
        max_tries: 3,
        timeout: Duration::from_secs(60),
        backoff: Default::default(),
        created_at_ms: 0,
        trace: Default::default(),
        keep_result: None,
    };
    PendingJob::new(&envelope, None).expect("encode")
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let jobs: usize = args.get(2).map_or(Ok(50_000), |s| s.parse())?;
    let concurrency: usize = args.get(3).map_or(Ok(32), |s| s.parse())?;
    let batch: usize = args.get(4).map_or(Ok(32), |s| s.parse())?;
    let prefix = format!("routemq-bench:{:x}", rand::random::<u32>());
    let driver = RedisDriver::new(RedisConfig::from_url(&url)?.prefix(prefix.clone()))?;
    let run = measure(&driver, &url, jobs, concurrency, batch).await;
    // `clear` empties the queue but leaves the run's registry and wake-up
    // keys; every run has a prefix of its own, so remove all of them, also
    // after a failed run.
    let removed = remove_keys_under(&url, &prefix).await;
    run?;
    removed?;
    Ok(())
}

/// Deletes every key whose name starts with `prefix:` (a `SCAN`, then
/// `UNLINK` of what it found).
async fn remove_keys_under(url: &str, prefix: &str) -> redis::RedisResult<()> {
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1_000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// The phases `main` runs on `driver` (see the module docs).
async fn measure(
    driver: &RedisDriver,
    url: &str,
    jobs: usize,
    concurrency: usize,
    batch: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let url = url.to_owned();
    driver.ping().await?;
    let q = QueueName::new("bench")?;
    let data = br#"{"n":1}"#.to_vec();
    if let Ok(queued) = std::env::var("ROUTEMQ_BENCH_QUEUED") {
        return depth_cost(driver, &url, &q, queued.parse()?, jobs, concurrency, batch).await;
    }

    // Round trip floor (one awaited PING at a time through the pool), then
    // single enqueue (one awaited push at a time), from a runtime task as a
    // tokio service dispatches (ARCHITECTURE.md, "The bench sends from a
    // runtime task").
    let single = jobs.min(20_000);
    let (ping_rate, single_rate) = {
        let (driver, q, data) = (driver.clone(), q.clone(), data.clone());
        tokio::spawn(async move { single_rates(&driver, &q, &data, single).await }).await??
    };
    driver.clear(&q).await?;
    if std::env::var("ROUTEMQ_BENCH_ONLY").as_deref() == Ok("single") {
        if let Ok(rounds) = std::env::var("ROUTEMQ_BENCH_ROUNDS") {
            let rounds = match rounds.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    let why =
                        format!("ROUTEMQ_BENCH_ROUNDS={rounds}: give a whole number, 1 or more");
                    return Err(why.into());
                }
            };
            let (driver, q, data) = (driver.clone(), q.clone(), data.clone());
            let per_round = single.min(2_000);
            tokio::spawn(interleaved_single(driver, q, data, url, rounds, per_round))
                .await?
                .map_err(|e| -> Box<dyn std::error::Error> { e })?;
            return Ok(());
        }
        // For profiling the single-push path alone, beside its two floors.
        // A body as big as the bench's: its envelope and the metadata in front.
        let body_len = job(&q, data.clone()).payload.len() + 24;
        let (rpush_rate, tx_rate) =
            tokio::spawn(async move { bare_floors(&url, single, body_len).await }).await??;
        println!("ping (floor)        {ping_rate:>10.0} calls/s");
        println!("single enqueue      {single_rate:>10.0} jobs/s  ({single} awaited pushes)");
        println!("bare RPUSH          {rpush_rate:>10.0} calls/s  (one connection, no pool)");
        println!("bare transaction    {tx_rate:>10.0} calls/s  (a single push's three commands, no pool, no job)");
        return Ok(());
    }

    // Bulk enqueue: batches of 1,000, then the drain's 50,000 in one call.
    let mut info = redis::Client::open(url.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    let bulk = driver_bulk(driver, &mut info, &q, &data, jobs).await?;
    let bulk_rate = bulk.per_sec;
    driver.clear(&q).await?;
    let all: Vec<_> = (0..jobs).map(|_| job(&q, data.clone())).collect();
    let start = Instant::now();
    driver.push_bulk(all).await?;
    let bulk_one_call = jobs as f64 / start.elapsed().as_secs_f64();
    if std::env::var("ROUTEMQ_BENCH_ONLY").as_deref() == Ok("bulk") {
        driver.clear(&q).await?;
        // The floor's bodies are as big as the driver's: the envelope and
        // the metadata in front.
        let body_len = job(&q, data.clone()).payload.len() + 24;
        let mut floor = BareBulk::open(&url, jobs, body_len).await?;
        let bare = floor.run(&mut info).await;
        floor.remove().await?;
        let bare = bare?;
        println!(
            "bulk enqueue        {bulk_rate:>10.0} jobs/s  (push_bulk of 1,000; {:.2} us of Redis CPU a job)",
            bulk.server_us_per_job
        );
        println!("bulk enqueue        {bulk_one_call:>10.0} jobs/s  (one push_bulk of {jobs})");
        println!(
            "bare bulk           {:>10.0} jobs/s  (its commands, 1,000 jobs a transaction, nothing to build; {:.2} us of Redis CPU a job)",
            bare.per_sec, bare.server_us_per_job
        );
        return Ok(());
    }

    callgrind_instrumentation("on")?;
    // Drain: `concurrency` claimers, each claiming up to 32 and acking the batch.
    let start = Instant::now();
    let drained = drain(driver, &q, concurrency, batch).await?;
    let drain_rate = drained as f64 / start.elapsed().as_secs_f64();
    callgrind_instrumentation("off")?;
    if std::env::var("ROUTEMQ_BENCH_ONLY").as_deref() == Ok("drain") {
        println!("claim + ack_batch   {drain_rate:>10.0} jobs/s  ({jobs} jobs, {concurrency} claimers x {batch})");
        return Ok(());
    }

    // Idle latency: 1,000 jobs pushed 5 ms apart to an idle waiter; push → claim.
    let waiter = {
        let (d, q) = (driver.clone(), q.clone());
        tokio::spawn(async move {
            let mut lat = Vec::with_capacity(1_000);
            while lat.len() < 1_000 {
                let got = d
                    .claim(std::slice::from_ref(&q), 32, Duration::from_secs(60))
                    .await?;
                if got.is_empty() {
                    d.wait_for_jobs(std::slice::from_ref(&q), Duration::from_secs(5))
                        .await?;
                    continue;
                }
                let now = now_nanos();
                for r in &got {
                    let env = r.envelope().expect("decode");
                    let text = String::from_utf8_lossy(&env.data).into_owned();
                    let t: u128 = text
                        .trim_matches(|c: char| !c.is_ascii_digit())
                        .parse()
                        .unwrap_or(now);
                    lat.push((now.saturating_sub(t)) as f64 / 1e6);
                }
                let leases: Vec<_> = got.into_iter().map(|r| r.lease).collect();
                d.ack_batch(&leases).await?;
            }
            Ok::<_, routemq_core::DriverError>(lat)
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..1_000 {
        driver
            .push(job(&q, format!("{}", now_nanos()).into_bytes()))
            .await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut lat = waiter.await??;
    lat.sort_by(|a, b| a.total_cmp(b));
    let p50 = lat[lat.len() / 2];
    let p99 = lat[lat.len() * 99 / 100];
    driver.clear(&q).await?;

    println!("ping (floor)        {ping_rate:>10.0} calls/s");
    println!("single enqueue      {single_rate:>10.0} jobs/s  ({single} awaited pushes)");
    println!("bulk enqueue        {bulk_rate:>10.0} jobs/s  (push_bulk of 1,000)");
    println!("bulk enqueue        {bulk_one_call:>10.0} jobs/s  (one push_bulk of {jobs})");
    println!(
        "claim + ack_batch   {drain_rate:>10.0} jobs/s  ({jobs} jobs, {concurrency} claimers x {batch})"
    );
    println!("idle latency        p50 {p50:.3} ms  p99 {p99:.3} ms  (push -> claimed, 1,000 jobs 5 ms apart)");
    Ok(())
}

/// With `ROUTEMQ_BENCH_CALLGRIND_PID` set to the pid of a Redis server run
/// under `valgrind --tool=callgrind --instr-atstart=no`, turns the server's
/// instrumentation `on` or `off` (`callgrind_control -i`), so that the
/// instructions it counts are the drain's alone: a count that the machine's
/// other load does not move, where wall-clock rates here swing by a third.
fn callgrind_instrumentation(state: &str) -> Result<(), Box<dyn std::error::Error>> {
    let Ok(pid) = std::env::var("ROUTEMQ_BENCH_CALLGRIND_PID") else {
        return Ok(());
    };
    let status = std::process::Command::new("callgrind_control")
        .args(["-i", state, &pid])
        .status()?;
    if !status.success() {
        return Err(format!("callgrind_control -i {state} {pid}: {status}").into());
    }
    Ok(())
}

/// The Redis server's main-thread CPU seconds so far (`INFO cpu`).
async fn server_cpu(
    conn: &mut redis::aio::MultiplexedConnection,
) -> Result<f64, Box<dyn std::error::Error>> {
    let info: String = redis::cmd("INFO").arg("cpu").query_async(conn).await?;
    let mut total = 0.0;
    for line in info.lines() {
        if let Some((k, v)) = line.split_once(':') {
            if k == "used_cpu_sys_main_thread" || k == "used_cpu_user_main_thread" {
                total += v.trim().parse::<f64>()?;
            }
        }
    }
    Ok(total)
}

/// `ROUTEMQ_BENCH_QUEUED`: the bulk push and the drain of `jobs` jobs with
/// `queued` filler jobs stored beside them (see the module docs).
async fn depth_cost(
    driver: &RedisDriver,
    url: &str,
    q: &QueueName,
    queued: usize,
    jobs: usize,
    concurrency: usize,
    batch: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut info = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let later = SystemTime::now() + Duration::from_secs(86_400);
    let mut left = queued;
    while left > 0 {
        let n = left.min(1_000);
        let filler = (0..n)
            .map(|_| {
                let mut j = job(q, br#"{"filler":true}"#.to_vec());
                j.available_at = Some(later);
                j
            })
            .collect();
        driver.push_bulk(filler).await?;
        left -= n;
    }

    let bulk = driver_bulk(driver, &mut info, q, br#"{"n":1}"#, jobs).await?;

    let (cpu, start) = (server_cpu(&mut info).await?, Instant::now());
    let drained = drain(driver, q, concurrency, batch).await?;
    let drain_secs = start.elapsed().as_secs_f64();
    let drain_cpu = server_cpu(&mut info).await? - cpu;
    driver.clear(q).await?;
    println!(
        "queued {queued}: bulk {:.0} jobs/s, {:.2} us of Redis CPU per job; drain {:.0} jobs/s, {:.2} us of Redis CPU per job ({drained} jobs, {concurrency} claimers x {batch})",
        bulk.per_sec,
        bulk.server_us_per_job,
        drained as f64 / drain_secs,
        drain_cpu * 1e6 / drained.max(1) as f64,
    );
    Ok(())
}

/// Drains `q` with `concurrency` claimers, each claiming up to `batch` jobs and
/// acking them with one `ack_batch`, until a claim comes back empty; returns
/// how many jobs were drained.
async fn drain(
    driver: &RedisDriver,
    q: &QueueName,
    concurrency: usize,
    batch: usize,
) -> Result<usize, Box<dyn std::error::Error>> {
    let drained = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency.clamp(1, 64))
        .map(|_| {
            let (d, q, drained) = (driver.clone(), q.clone(), drained.clone());
            tokio::spawn(async move {
                loop {
                    let got = d
                        .claim(std::slice::from_ref(&q), batch, Duration::from_secs(60))
                        .await?;
                    if got.is_empty() {
                        return Ok::<_, routemq_core::DriverError>(());
                    }
                    let leases: Vec<_> = got.into_iter().map(|r| r.lease).collect();
                    d.ack_batch(&leases).await?;
                    drained.fetch_add(leases.len(), Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(drained.load(Ordering::Relaxed))
}
