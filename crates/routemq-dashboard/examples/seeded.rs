//! The dashboard over a memory driver filled with example jobs, mounted at
//! `/jobs-admin` as an application would mount it: a page to look at (and for
//! browser tests) without a server.
//!
//! ```sh
//! cargo run -p routemq-dashboard --example seeded -- 127.0.0.1:8080
//! # then open http://127.0.0.1:8080/jobs-admin
//! cargo run -p routemq-dashboard --example seeded -- 127.0.0.1:8080 TOKEN   # token mode
//! ```
//!
//! Queues `default` (ready, delayed, running and failed jobs, one of them with
//! `<script>` in its data), `emails` (paused, rate limited, a MessagePack job)
//! and `reports` (a batch); a day of throughput history; a worker heartbeat and
//! a schedule. No authentication unless a token is given after the address; it
//! listens on the address given, loopback by default. Stops on Ctrl-C.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use routemq_core::prelude::*;
use routemq_core::{
    unix_minute, BatchId, BatchPlan, Codec, Envelope, HistoryCounts, HistoryDelta, MemoryDriver,
    PendingJob, QueueName, RateLimit, Schedule, ScheduleSpec, WorkerInfo,
};
use routemq_dashboard::{Auth, Dashboard, DashboardConfig};
use serde_json::json;

type Error = Box<dyn std::error::Error>;

fn queue(name: &str) -> QueueName {
    QueueName::new(name).expect("a valid queue name")
}

fn job(
    queue_name: &str,
    name: &str,
    codec: Codec,
    data: serde_json::Value,
    delay: Option<Duration>,
) -> Result<PendingJob, Error> {
    let bytes = codec.encode("example data", &data)?;
    let env = Envelope::new(name, queue(queue_name), codec, bytes);
    Ok(PendingJob::new(&env, delay.map(|d| SystemTime::now() + d))?)
}

async fn seed(driver: &MemoryDriver) -> Result<(), Error> {
    for n in 0..120 {
        let data = json!({ "user": n, "report": "monthly", "tags": ["a", "b"] });
        driver
            .push(job("default", "reports.build", Codec::Json, data, None)?)
            .await?;
    }
    for n in 0..5 {
        let data = json!({ "reminder": n });
        let later = Some(Duration::from_secs(600 * (n + 1)));
        driver
            .push(job("default", "reminders.send", Codec::Json, data, later)?)
            .await?;
    }
    let evil = json!({ "html": "<script>alert(1)</script>", "note": "shown as text" });
    driver
        .push(job("default", "pages.render", Codec::Json, evil, None)?)
        .await?;
    // Three failed jobs and two running ones.
    for _ in 0..3 {
        let claimed = driver
            .claim(&[queue("default")], 1, Duration::from_secs(300))
            .await?;
        for r in claimed {
            driver
                .fail(
                    &r.lease,
                    "SMTP said 550: mailbox unavailable\n  at send (mail.rs:42)",
                )
                .await?;
        }
    }
    driver
        .claim(&[queue("default")], 2, Duration::from_secs(300))
        .await?;

    let pack = json!({ "to": "ops@example.com", "subject": "Weekly digest" });
    driver
        .push(job("emails", "emails.send", Codec::MsgPack, pack, None)?)
        .await?;
    driver.pause(&queue("emails")).await?;
    driver
        .set_rate_limit(
            &queue("emails"),
            RateLimit::new(20, Duration::from_secs(1))?,
        )
        .await?;

    let jobs = (0..4)
        .map(|n| {
            job(
                "reports",
                "reports.part",
                Codec::Json,
                json!({ "part": n }),
                None,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    driver
        .push_batch(BatchPlan {
            id: BatchId::generate(),
            queue: queue("reports"),
            name: "quarterly import".into(),
            jobs,
            then: None,
            catch: None,
            finally: None,
            allow_failures: true,
        })
        .await?;

    let now = unix_minute(SystemTime::now());
    let deltas: Vec<HistoryDelta> = (0..24 * 60)
        .map(|ago: i64| {
            let wave = ((ago as f64 / 45.0).sin() * 20.0 + 25.0) as u64;
            HistoryDelta {
                queue: queue("default"),
                minute: now - ago,
                counts: HistoryCounts {
                    processed: wave,
                    failed: u64::from(ago % 17 == 0) * 3,
                    retried: u64::from(ago % 7 == 0),
                },
            }
        })
        .collect();
    driver.record_history(&deltas).await?;

    let started = routemq_core::unix_ms(SystemTime::now()) - 3_600_000;
    let worker = WorkerInfo {
        id: "0192f0c4-0000-7000-8000-000000000001".into(),
        host: "worker-1".into(),
        pid: 4242,
        queues: vec!["default".into(), "emails".into()],
        concurrency: 16,
        prefetch: 0,
        running: 2,
        processed: 1234,
        failed: 3,
        started_at_ms: started,
        last_seen_ms: routemq_core::unix_ms(SystemTime::now()),
    };
    driver.heartbeat(&worker, Duration::from_secs(3600)).await?;
    let schedule = Schedule::new(
        "nightly-report",
        ScheduleSpec::cron("0 30 2 * * *", "UTC")?,
        "reports.nightly",
    )?
    .data(json!({ "format": "pdf" }));
    let next = schedule.next_after(SystemTime::now())?;
    driver.upsert_schedule(&schedule, next).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let auth = args.next().map_or(Auth::None, Auth::Token);
    let driver = Arc::new(MemoryDriver::new());
    seed(&driver).await?;
    let driver: Arc<dyn Driver> = driver;
    let config = DashboardConfig {
        auth,
        read_only: false,
    };
    let dashboard = Dashboard::new(driver.clone(), driver, config)?;
    let app = axum::Router::new().nest("/jobs-admin", routemq_dashboard::router(dashboard));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("dashboard at http://{}/jobs-admin", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
