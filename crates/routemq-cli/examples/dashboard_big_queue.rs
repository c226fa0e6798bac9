//! How fast the dashboard answers over a big queue: fills one queue of the
//! configured backend (the same variables as `routemq`: `QUEUE_CONNECTION`,
//! `REDIS_URL`, `DATABASE_URL`, …) with `JOBS` ready jobs (default 1,000,000)
//! plus a few delayed ones, serves the dashboard in this process, and times
//! `GET api/overview`, `GET api/queues/{queue}` and the first and a deep page of
//! `GET api/queues/{queue}/jobs`, each several times over loopback HTTP.
//!
//! ```sh
//! QUEUE_CONNECTION=redis REDIS_URL=redis://127.0.0.1:6379 REDIS_PREFIX=bigq \
//!   cargo run --release -p routemq-cli --example dashboard_big_queue
//! ```
//!
//! The queue (`dashboard-big`) is cleared before and after. The first overview
//! reads every count from the backend; later ones within 2 s share that reading
//! and refresh it in the background (the dashboard's shared counts), so both
//! figures are printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_cli::{connect, migrate_if_database, Config, Unconfigured};
use routemq_core::prelude::*;
use routemq_core::{Codec, Envelope, PendingJob, QueueName};
use routemq_dashboard::{Auth, Dashboard, DashboardConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const QUEUE: &str = "dashboard-big";

async fn get(addr: &str, path: &str) -> (u16, usize, Duration) {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer.len(), elapsed)
}

async fn time(addr: &str, label: &str, path: &str, runs: usize) {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (status, bytes, took) = get(addr, path).await;
        assert_eq!(status, 200, "{path}");
        times.push((took, bytes));
    }
    let first = times[0].0;
    let mut rest: Vec<Duration> = times[1..].iter().map(|t| t.0).collect();
    rest.sort();
    let median = rest.get(rest.len() / 2).copied().unwrap_or(first);
    let max = rest.last().copied().unwrap_or(first);
    println!(
        "{label:<34} first {:>8.1} ms   then median {:>7.1} ms, max {:>7.1} ms   ({} bytes)",
        first.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        times[0].1
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jobs: usize = std::env::var("JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let config = Config::from_env(None, Unconfigured::Refuse)?;
    migrate_if_database(&config).await?;
    let driver = connect(&config).await?;
    let queue = QueueName::new(QUEUE)?;
    driver.clear(&queue).await?;

    let started = Instant::now();
    let mut left = jobs;
    while left > 0 {
        let n = left.min(5_000);
        let batch = (0..n)
            .map(|i| {
                let envelope = Envelope::new(
                    "bench.noop",
                    queue.clone(),
                    Codec::Json,
                    format!("{{\"n\":{i}}}").into_bytes(),
                );
                PendingJob::new(&envelope, None)
            })
            .collect::<Result<Vec<_>, _>>()?;
        driver.push_bulk(batch).await?;
        left -= n;
    }
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    let delayed = (0..100)
        .map(|_| {
            let envelope = Envelope::new("bench.noop", queue.clone(), Codec::Json, b"{}".to_vec());
            PendingJob::new(&envelope, Some(later))
        })
        .collect::<Result<Vec<_>, _>>()?;
    driver.push_bulk(delayed).await?;
    println!(
        "{}: {jobs} ready + 100 delayed jobs on {QUEUE} in {:.1} s",
        driver.connection_name(),
        started.elapsed().as_secs_f64()
    );

    let failed: Arc<dyn FailedStore> = driver.clone();
    let dashboard = Dashboard::new(
        driver.clone(),
        failed,
        DashboardConfig {
            auth: Auth::None,
            read_only: true,
        },
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(routemq_dashboard::serve(listener, dashboard, async {
        let _ = stopped.await;
    }));

    time(&addr, "GET api/overview", "/api/overview", 10).await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    time(&addr, "GET api/overview (after 2 s)", "/api/overview", 10).await;
    time(
        &addr,
        "GET api/queues/{q}",
        &format!("/api/queues/{QUEUE}"),
        10,
    )
    .await;
    for state in ["ready", "delayed"] {
        time(
            &addr,
            &format!("GET …/jobs?state={state} (page 1)"),
            &format!("/api/queues/{QUEUE}/jobs?state={state}&limit=50"),
            10,
        )
        .await;
    }
    time(
        &addr,
        "GET …/jobs?state=ready offset 100k",
        &format!("/api/queues/{QUEUE}/jobs?state=ready&offset=100000&limit=50"),
        5,
    )
    .await;

    let _ = stop.send(());
    server.await??;
    driver.clear(&queue).await?;
    Ok(())
}
