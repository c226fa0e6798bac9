//! Connections killed under a `routemq work` PROCESS: the worker keeps going,
//! finishes the batch, and logs each incident a bounded number of times — not
//! once per job in flight. Its stderr (`RUST_LOG=warn`) is captured and its
//! warnings counted; its JSON report accounts for every job.
//!
//! Observed: the backend-retry warning is one line per failing call site per
//! incident (claim, ack_batch), retries are silent. On MySQL an `ack_batch` whose
//! reply is lost with the killed connection had already deleted its rows, so the
//! retry is refused and the acker logs "ack refused … the job may run again" once
//! per job of that batch (those jobs do not run again: their rows are gone).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use routemq_core::{Driver, JobOptions, Queue, QueueName};
use routemq_e2e::accounting::counts;
use routemq_e2e::connection_killer::ConnectionKiller;
use routemq_e2e::run_ledger::RunId;
use routemq_e2e::stores::{MysqlStore, RedisStore};
use routemq_e2e::test_jobs::CliSleep;
use routemq_testkit::redis::RedisServer;

const JOBS: u64 = 3_000;
const CONCURRENCY: usize = 32;
const KILLS: u32 = 3;
/// Warnings allowed per incident: one per part of the worker that talks to the
/// backend (claim loop, acker, lease keeper, heartbeat, waiter) and its recovery.
const WARNINGS_PER_KILL: usize = 8;

async fn logged_once_per_incident(
    driver: std::sync::Arc<dyn Driver>,
    env: &[(&str, String)],
    mut killer: ConnectionKiller,
    label: &str,
) {
    let queue = QueueName::new("e2e-logs").unwrap();
    let (run, again) = (RunId::fresh(), RunId::fresh());
    let dispatch = Queue::from_arc(driver.clone());
    let options = JobOptions::new().queue(queue.as_str()).max_tries(5);
    let pending = (0..JOBS)
        .map(|n| {
            let job = CliSleep {
                ms: 10,
                run,
                again,
                n,
            };
            dispatch.pending(&job, &options, None).unwrap()
        })
        .collect();
    driver.push_bulk(pending).await.unwrap();

    let stderr = tempfile_path(label);
    let mut child = Command::new(env!("CARGO_BIN_EXE_e2e-routemq"))
        .args([
            "work",
            "--queue",
            queue.as_str(),
            "--json",
            "--stop-when-empty",
        ])
        .args(["--concurrency", &CONCURRENCY.to_string()])
        .args(["--lease", "2", "--sleep", "0.2"])
        .env("ROUTEMQ_ENV_FILE", "/dev/null")
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("spawn routemq work");

    let mut killed = 0;
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(400)).await;
        killed += killer.kill().await;
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the worker process did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let log = std::fs::read_to_string(&stderr).unwrap();
    let _ = std::fs::remove_file(&stderr);
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    // The incident warnings: one per failing call site, with retries silent.
    let incident: Vec<&str> = warnings
        .iter()
        .copied()
        .filter(|l| l.contains("backend call failed"))
        .collect();
    // Per-job warnings of the acker: an ack whose reply was lost with the
    // connection is retried and then refused (the first try had removed the job),
    // one line per job. Counted and printed, not bounded (see the crate report).
    let ack_refused = warnings
        .iter()
        .filter(|l| l.contains("ack refused"))
        .count();
    // Jobs whose claim reply was lost wait out their lease; the process may have
    // stopped before that (stop-when-empty), so they count as still queued.
    let end = counts(&*driver, &queue).await;
    eprintln!(
        "{label}: {KILLS} kills ({killed} connections): worker exited {status}; \
         {} warning lines ({} incident warnings, {ack_refused} per-job 'ack refused'); \
         end {end:?}; report {}\n{}",
        warnings.len(),
        incident.len(),
        out.trim(),
        warnings
            .iter()
            .take(12)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(status.success(), "{log}");
    assert!(killed > 0, "no connection was killed");
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("a JSON report");
    let processed = report["processed"].as_u64().unwrap();
    let failed = report["failed"].as_u64().unwrap();
    assert_eq!(end.failed, failed);
    assert!(
        processed + failed + end.queued() >= JOBS,
        "jobs lost: processed {processed} + failed {failed} + queued {}",
        end.queued()
    );
    assert!(
        incident.len() <= KILLS as usize * WARNINGS_PER_KILL,
        "{} incident warnings for {KILLS} incidents",
        incident.len()
    );
}

fn tempfile_path(label: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "routemq-e2e-{label}-{}-{}.log",
        std::process::id(),
        RunId::fresh().0
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_worker_process_logs_each_connection_kill_a_few_times_not_per_job() {
    let server = RedisServer::start_new().expect("a redis-server of the test's own");
    let prefix = routemq_testkit::redis::unique_prefix();
    let store = RedisStore::on(server.url(), prefix.clone(), None, |c| c).await;
    let env = [
        ("QUEUE_CONNECTION", "redis".to_owned()),
        ("REDIS_URL", server.url()),
        ("REDIS_PREFIX", prefix),
    ];
    let killer = ConnectionKiller::redis(&server.url()).await;
    logged_once_per_incident(store.dyn_driver(), &env, killer, "redis").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_worker_process_logs_each_connection_kill_a_few_times_not_per_job() {
    let store = MysqlStore::new().await;
    let env = [
        ("QUEUE_CONNECTION", "database".to_owned()),
        ("DATABASE_URL", store.schema.url().to_owned()),
    ];
    let killer = ConnectionKiller::mysql(store.schema.url(), store.schema.name()).await;
    logged_once_per_incident(store.dyn_driver(), &env, killer, "database").await;
}
