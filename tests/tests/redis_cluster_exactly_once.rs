//! Exactly once on a Redis Cluster with worker processes: 100,000 jobs over two
//! queues whose slots are on different masters of the testkit's shared local
//! cluster (3 masters, 3 replicas), drained by 4 `e2e-ledger-worker` processes,
//! each a real worker on both queues in priority order. Each process appends the
//! number of every job it runs to a ledger file of its own; the 4 files together
//! must hold every number exactly once, no job may fail, and both queues must end
//! empty (the driver's stats).
//!
//! Measured (debug build, 2 shared cores): dispatched in ~4 s, drained in
//! 29–36 s (2.7k–3.5k jobs/s) at concurrency 16 per process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_core::{Driver, JobOptions, Queue, QueueName};
use routemq_e2e::accounting::{counts, QueueCounts};
use routemq_e2e::file_ledger::{self, FileRecorded};
use routemq_e2e::run_ledger::Tally;
use routemq_redis::{RedisConfig, RedisDriver};
use routemq_testkit::redis::RedisCluster;

const JOBS: u64 = 100_000;
const PROCESSES: usize = 4;
const CONCURRENCY: usize = 16;
/// How long the 4 processes may take to drain both queues (they take well under
/// a minute on 2 shared cores, debug build).
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// Two queue names whose ready lists (`PREFIX:queue:{name}` in cluster key
/// mode) hash to slots owned by different masters.
fn queues_on_two_masters(cluster: &RedisCluster, prefix: &str) -> [(QueueName, String); 2] {
    let owner = |name: &str| {
        let ready = format!("{prefix}:queue:{{{name}}}");
        cluster.slot_owner(RedisCluster::key_slot(&ready))
    };
    let first = "eo-first".to_owned();
    let first_owner = owner(&first);
    let (second, second_owner) = (0..100)
        .map(|i| format!("eo-second-{i}"))
        .map(|name| {
            let o = owner(&name);
            (name, o)
        })
        .find(|(_, o)| *o != first_owner)
        .expect("among 100 names, one hashes to another master's slot");
    [(first, first_owner), (second, second_owner)]
        .map(|(name, owner)| (QueueName::new(name).expect("a valid queue name"), owner))
}

/// Dispatches `FileRecorded` jobs numbered `range` onto `queue`, in bulk chunks.
async fn dispatch(driver: &Arc<dyn Driver>, queue: &QueueName, range: std::ops::Range<u64>) {
    let producer = Queue::from_arc(driver.clone());
    let options = JobOptions::new().queue(queue.as_str());
    let all: Vec<u64> = range.collect();
    for chunk in all.chunks(5_000) {
        let pending = chunk
            .iter()
            .map(|&n| {
                producer
                    .pending(&FileRecorded { n }, &options, None)
                    .expect("an encodable job")
            })
            .collect();
        let ids = driver.push_bulk(pending).await.expect("bulk dispatch");
        assert_eq!(ids.len(), chunk.len(), "one id per job dispatched");
    }
}

/// Starts worker process `i` on `queues`, writing to its ledger in `dir`.
fn spawn_worker(i: usize, dir: &Path, nodes: &str, prefix: &str, queues: &[&str]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_e2e-ledger-worker"));
    for var in RedisConfig::VARIABLES {
        cmd.env_remove(var);
    }
    cmd.arg(ledger_path(dir, i))
        .args(queues)
        .args(["--concurrency", &CONCURRENCY.to_string()])
        .env("REDIS_CLUSTER_NODES", nodes)
        .env("REDIS_PREFIX", prefix)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn e2e-ledger-worker")
}

fn ledger_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("worker-{i}.ledger"))
}

/// Waits for every child (at most `limit`), then returns each one's report (the
/// JSON line it printed), asserting it exited 0.
async fn wait_all(
    mut children: Vec<Child>,
    limit: Duration,
    driver: &dyn Driver,
    queues: &[QueueName],
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + limit;
    let mut next_progress = Instant::now() + Duration::from_secs(15);
    loop {
        let running: Vec<usize> = (0..children.len())
            .filter(|&i| children[i].try_wait().expect("try_wait").is_none())
            .collect();
        if running.is_empty() {
            break;
        }
        let now = Instant::now();
        if now >= deadline || now >= next_progress {
            let mut left = Vec::new();
            for q in queues {
                left.push((q.to_string(), counts(driver, q).await));
            }
            if now >= deadline {
                for child in &mut children {
                    let _ = child.kill();
                }
                panic!(
                    "worker processes {running:?} still ran after {limit:?}; the queues: {left:?}"
                );
            }
            eprintln!("cluster exactly-once: processes {running:?} still running; {left:?}");
            next_progress = now + Duration::from_secs(15);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    children
        .into_iter()
        .enumerate()
        .map(|(i, child)| {
            let out = child.wait_with_output().expect("the worker's output");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "worker process {i} exited with {}; stdout: {stdout}",
                out.status
            );
            serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
                panic!("worker process {i} printed no JSON report ({e}): {stdout:?}")
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn four_worker_processes_run_100k_jobs_on_two_masters_exactly_once() {
    let target = routemq_testkit::redis::redis_cluster();
    let cluster = target.cluster().expect("the testkit's own cluster");
    let nodes = target.cluster_nodes.clone().expect("a cluster's nodes");
    let prefix = target.prefix.clone();
    let config = RedisConfig::cluster(nodes.split(','))
        .expect("the cluster's nodes")
        .prefix(prefix.clone());
    let driver: Arc<dyn Driver> = Arc::new(RedisDriver::new(config).expect("a cluster driver"));
    let [(first, first_owner), (second, second_owner)] = queues_on_two_masters(cluster, &prefix);
    let queues = [first.clone(), second.clone()];

    let half = JOBS / 2;
    let started = Instant::now();
    dispatch(&driver, &first, 0..half).await;
    dispatch(&driver, &second, half..JOBS).await;
    let dispatched_in = started.elapsed();
    for q in &queues {
        assert_eq!(
            counts(&*driver, q).await.ready,
            half,
            "{q}: every dispatched job is ready before the workers start"
        );
    }

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("redis-cluster-exactly-once-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for the ledgers");
    let names = [first.as_str(), second.as_str()];
    let started = Instant::now();
    let children = (0..PROCESSES)
        .map(|i| spawn_worker(i, &dir, &nodes, &prefix, &names))
        .collect();
    let reports = wait_all(children, DRAIN_LIMIT, &*driver, &queues).await;
    let drained_in = started.elapsed();

    let paths: Vec<PathBuf> = (0..PROCESSES).map(|i| ledger_path(&dir, i)).collect();
    let runs = file_ledger::runs(paths.iter().map(PathBuf::as_path)).expect("the ledgers");
    let tally = Tally::of(&runs, JOBS);
    let processed: Vec<u64> = reports
        .iter()
        .map(|r| r["processed"].as_u64().unwrap_or(0))
        .collect();
    eprintln!(
        "redis cluster: {JOBS} jobs on {first} ({first_owner}) and {second} ({second_owner}) \
         dispatched in {dispatched_in:?}, drained by {PROCESSES} processes at concurrency \
         {CONCURRENCY} in {drained_in:?} ({:.0} jobs/s); processed per process {processed:?}; \
         ran once {}, never {}, more than once {}",
        JOBS as f64 / drained_in.as_secs_f64(),
        tally.ran_once,
        tally.never_ran.len(),
        tally.ran_more.len()
    );
    assert!(
        tally.exactly_once(),
        "every job runs exactly once: {}; reports: {reports:?}",
        tally.summary()
    );
    for (i, r) in reports.iter().enumerate() {
        for counter in ["failed", "retried", "lease_lost"] {
            assert_eq!(r[counter], 0, "worker process {i}: {counter} in {r}");
        }
        assert_eq!(r["stop_reason"], "empty", "worker process {i}: {r}");
    }
    assert_eq!(
        processed.iter().sum::<u64>(),
        JOBS,
        "the processes' reports add up to every job: {processed:?}"
    );
    for q in &queues {
        assert_eq!(
            counts(&*driver, q).await,
            QueueCounts::default(),
            "{q} ends empty, with nothing failed"
        );
    }
    std::fs::remove_dir_all(&dir).expect("remove the ledgers");
}
