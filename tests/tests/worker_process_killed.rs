//! A `routemq work` PROCESS SIGKILLed mid-batch: the jobs it held run again once
//! their leases expire, nothing else runs twice, and every job is accounted for.
//!
//! The child runs the CLI's built-in `routemq.sleep {"ms": N}`; after the kill an
//! in-process worker drains the rest with a twin type of the same name that
//! records each run and its attempt. At the kill the store is frozen (the child
//! is dead), so its ready and reserved jobs are exactly what is left:
//! - every reserved job (claimed by the child, not acked) runs again, with
//!   attempt 2, and nothing else has an attempt above 1;
//! - every ready job runs once; nothing the child acknowledged runs again;
//! - child completions = dispatched − ready − reserved at the kill.
//!
//! With `--prefetch`, the child also holds jobs claimed ahead of its slots,
//! waiting unstarted: they are reserved like the running ones, so they too run
//! again with attempt 2 and nothing is lost.
//!
//! The binary is this package's `e2e-routemq`: the CLI's own `main`, built by
//! cargo for these tests with both drivers enabled.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use routemq_core::{Driver, FailedQuery, JobId, JobOptions, Queue, QueueName};
use routemq_e2e::accounting::{counts, drain, worker};
use routemq_e2e::run_ledger::RunId;
use routemq_e2e::stores::{MysqlStore, RedisStore};
use routemq_e2e::test_jobs::CliSleep;
use routemq_mysql::mysql_async::prelude::Queryable;

const JOBS: u64 = 300;
const SLEEP_MS: u64 = 200;
const CHILD_CONCURRENCY: usize = 8;
const LEASE: Duration = Duration::from_secs(2);

/// What the store holds once the child is dead: ready and reserved job ids.
struct Frozen {
    ready: HashSet<String>,
    reserved: HashSet<String>,
}

async fn redis_frozen(store: &mut RedisStore, queue: &QueueName) -> Frozen {
    let ready: Vec<String> = redis::cmd("LRANGE")
        .arg(store.ready_key(queue))
        .arg(0)
        .arg(-1)
        .query_async(&mut store.raw)
        .await
        .unwrap();
    let reserved: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("{}:reserved", store.ready_key(queue)))
        .arg(0)
        .arg(-1)
        .query_async(&mut store.raw)
        .await
        .unwrap();
    Frozen {
        ready: ready.into_iter().collect(),
        reserved: reserved
            .into_iter()
            .map(|m| m.split('|').next().unwrap_or_default().to_owned())
            .collect(),
    }
}

async fn mysql_frozen(store: &MysqlStore, queue: &QueueName) -> Frozen {
    let mut conn = store.raw().await;
    let rows: Vec<(String, bool)> = conn
        .exec(
            "SELECT uuid, reserved_at IS NOT NULL FROM queue_jobs WHERE queue = ?",
            (queue.as_str(),),
        )
        .await
        .unwrap();
    conn.disconnect().await.unwrap();
    Frozen {
        ready: rows.iter().filter(|r| !r.1).map(|r| r.0.clone()).collect(),
        reserved: rows.iter().filter(|r| r.1).map(|r| r.0.clone()).collect(),
    }
}

async fn killed_mid_batch(
    driver: std::sync::Arc<dyn Driver>,
    env: &[(&str, String)],
    mut frozen: impl AsyncFnMut(&QueueName) -> Frozen,
    max_tries: u32,
    prefetch: usize,
    label: &str,
) {
    let queue = QueueName::new("e2e-kill").unwrap();
    let (run, again) = (RunId::fresh(), RunId::fresh());
    let dispatch = Queue::from_arc(driver.clone());
    let mut ids: Vec<JobId> = Vec::new();
    for n in 0..JOBS {
        let job = CliSleep {
            ms: SLEEP_MS,
            run,
            again,
            n,
        };
        let options = JobOptions::new().queue(queue.as_str()).max_tries(max_tries);
        ids.push(dispatch.dispatch_with(job, &options, None).await.unwrap());
    }

    let mut child = Command::new(env!("CARGO_BIN_EXE_e2e-routemq"))
        .args(["work", "--queue", queue.as_str()])
        .args(["--concurrency", &CHILD_CONCURRENCY.to_string()])
        .args(["--prefetch", &prefetch.to_string()])
        .args(["--lease", &format!("{}ms", LEASE.as_millis())])
        .args(["--sleep", "0.2"])
        .env("ROUTEMQ_ENV_FILE", "/dev/null")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn routemq work");

    // Kill it once it has done about a third of the batch, right after a claim
    // (fewer ready jobs than at the last look): the jobs it just took run for
    // about SLEEP_MS more, so the kill finds them in flight. The first look
    // past a third comes as acks land, where a kill can find nothing in flight.
    // With prefetch, also wait for a look where the child holds more jobs than
    // it runs, so some of them are waiting ahead.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut ready_before: Option<u64> = None;
    loop {
        let c = counts(&*driver, &queue).await;
        let just_claimed = ready_before.is_some_and(|r| c.ready < r);
        let ahead = prefetch == 0 || c.reserved > CHILD_CONCURRENCY as u64;
        if c.queued() <= JOBS * 2 / 3 && c.reserved > 0 && just_claimed && ahead {
            break;
        }
        ready_before = Some(c.ready);
        assert!(
            Instant::now() < deadline,
            "the child made no progress: {c:?}"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("routemq work exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL the worker process");
    child.wait().unwrap();
    let at_kill = frozen(&queue).await;
    let child_completed = JOBS - at_kill.ready.len() as u64 - at_kill.reserved.len() as u64;

    // Its leases expire; an in-process worker reclaims and finishes everything.
    tokio::time::sleep(LEASE + Duration::from_millis(300)).await;
    let report = drain(
        worker(driver.clone(), &queue, 16)
            .register::<CliSleep>()
            .lease(LEASE),
        Duration::from_secs(60),
    )
    .await;

    let number = |id: &String| ids.iter().position(|i| i.to_string() == *id).unwrap() as u64;
    let reserved: HashSet<u64> = at_kill.reserved.iter().map(number).collect();
    let ready: HashSet<u64> = at_kill.ready.iter().map(number).collect();
    let ran_here = run.runs();
    let ran_again: HashSet<u64> = again.runs().keys().copied().collect();
    let end = counts(&*driver, &queue).await;
    eprintln!(
        "{label}: {JOBS} dispatched; SIGKILL with {} in flight and {} ready; the child \
         completed {child_completed}; afterwards {} ran here ({} as a second attempt); \
         lost {}; ran twice {} (all in flight at the kill); failed {}; end {end:?}; {report:?}",
        reserved.len(),
        ready.len(),
        ran_here.len(),
        ran_again.len(),
        (JOBS - child_completed).saturating_sub(ran_here.len() as u64 + end.failed),
        ran_again.len(),
        end.failed,
    );
    assert!(!reserved.is_empty(), "nothing was in flight at the kill");
    assert!(ran_here.values().all(|k| *k == 1), "a job ran twice here");
    let ran_set: HashSet<u64> = ran_here.keys().copied().collect();
    if max_tries > 1 {
        assert_eq!(ran_again, reserved, "exactly the in-flight jobs ran again");
        let expected: HashSet<u64> = ready.union(&reserved).copied().collect();
        assert_eq!(ran_set, expected, "jobs run after the kill");
        assert_eq!(report.counts.processed, expected.len() as u64, "{report:?}");
        assert_eq!((end.queued(), end.failed), (0, 0), "{end:?}");
    } else {
        // Out of tries: the in-flight jobs go to the failed store, with a reason.
        let failed = driver
            .failed_list(&FailedQuery {
                queue: Some(queue.clone()),
                offset: 0,
                limit: 1_000,
            })
            .await
            .unwrap();
        let failed_set: HashSet<u64> = failed.iter().map(|f| number(&f.id.to_string())).collect();
        eprintln!(
            "{label}: in-flight jobs out of tries failed with: {:?}",
            failed[0].exception
        );
        assert_eq!(failed_set, reserved, "exactly the in-flight jobs failed");
        assert!(ran_again.is_empty(), "a job out of tries ran again");
        assert_eq!(ran_set, ready, "jobs run after the kill");
        assert_eq!(
            (end.queued(), end.failed),
            (0, reserved.len() as u64),
            "{end:?}"
        );
    }
}

async fn redis_killed(tries: u32, prefetch: usize) {
    let mut store = RedisStore::new().await;
    let env = [
        ("QUEUE_CONNECTION", "redis".to_owned()),
        ("REDIS_URL", store.url.clone()),
        ("REDIS_PREFIX", store.prefix.clone()),
    ];
    let driver = store.dyn_driver();
    let queue_store = &mut store;
    killed_mid_batch(
        driver,
        &env,
        async |q: &QueueName| redis_frozen(queue_store, q).await,
        tries,
        prefetch,
        "redis",
    )
    .await;
    store.cleanup().await;
}

async fn mysql_killed(tries: u32, prefetch: usize) {
    let store = MysqlStore::new().await;
    let env = [
        ("QUEUE_CONNECTION", "database".to_owned()),
        ("DATABASE_URL", store.schema.url().to_owned()),
    ];
    killed_mid_batch(
        store.dyn_driver(),
        &env,
        async |q: &QueueName| mysql_frozen(&store, q).await,
        tries,
        prefetch,
        "database",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_worker_process_sigkilled_mid_batch_in_flight_jobs_run_again() {
    redis_killed(3, 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_worker_process_with_prefetch_sigkilled_its_held_jobs_run_again() {
    redis_killed(3, CHILD_CONCURRENCY).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_worker_process_sigkilled_in_flight_jobs_out_of_tries_fail_with_a_reason() {
    redis_killed(1, 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_worker_process_sigkilled_mid_batch_in_flight_jobs_run_again() {
    mysql_killed(3, 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_worker_process_with_prefetch_sigkilled_its_held_jobs_run_again() {
    mysql_killed(3, CHILD_CONCURRENCY).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_worker_process_sigkilled_in_flight_jobs_out_of_tries_fail_with_a_reason() {
    mysql_killed(1, 0).await;
}
