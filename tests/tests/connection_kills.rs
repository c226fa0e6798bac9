//! Connections killed under load: while a worker drains, an admin connection kills
//! every client connection of the driver several times (Redis `CLIENT KILL TYPE
//! normal SKIPME yes` on a server of the test's own; MySQL `KILL CONNECTION` for
//! each connection to the test's schema). The worker must keep going, and at the
//! end every job is accounted for: ran, failed with a reason, or still queued.
//! Runs twice are allowed only where an answer was lost with the connection (an
//! ack that reached the server whose reply did not come back, a claim whose
//! reply was lost: its jobs run after their lease expires) — counted and printed.

use std::time::{Duration, Instant};

use routemq_core::{Driver, Envelope, FailedQuery, JobOptions, QueueName};
use routemq_e2e::accounting::{counts, drain, worker};
use routemq_e2e::connection_killer::ConnectionKiller;
use routemq_e2e::producer::dispatch_recorded;
use routemq_e2e::run_ledger::RunId;
use routemq_e2e::stores::{MysqlStore, RedisStore};
use routemq_e2e::test_jobs::Recorded;
use routemq_testkit::redis::RedisServer;

const JOBS: u64 = 4_000;
const PAUSE_MS: u64 = 10;
const CONCURRENCY: usize = 32;
const LEASE: Duration = Duration::from_secs(2);
const KILLS: u32 = 5;
const KILL_EVERY: Duration = Duration::from_millis(300);

async fn drain_under_kills(
    driver: std::sync::Arc<dyn Driver>,
    mut killer: ConnectionKiller,
    label: &str,
) {
    let queue = QueueName::new("killed").unwrap();
    let run = RunId::fresh();
    dispatch_recorded(
        driver.clone(),
        &queue,
        run,
        0..JOBS,
        PAUSE_MS,
        JobOptions::new().max_tries(5),
    )
    .await;

    let started = Instant::now();
    let first = tokio::spawn(drain(
        worker(driver.clone(), &queue, CONCURRENCY).lease(LEASE),
        Duration::from_secs(120),
    ));
    let (mut kills, mut killed, mut ran_at_last_kill) = (0u32, 0u64, 0usize);
    while kills < KILLS && !first.is_finished() {
        tokio::time::sleep(KILL_EVERY).await;
        killed += killer.kill().await;
        kills += 1;
        ran_at_last_kill = run.runs().len();
    }
    let first = first.await.expect("the worker task");
    let ran_after_first = run.runs().len();
    let after_first = counts(&*driver, &queue).await;

    // Jobs whose claim reply was lost stay reserved until their lease expires; a
    // second worker (after the lease) reclaims and runs them.
    tokio::time::sleep(LEASE + Duration::from_millis(500)).await;
    let second = drain(
        worker(driver.clone(), &queue, CONCURRENCY).lease(LEASE),
        Duration::from_secs(60),
    )
    .await;
    let elapsed = started.elapsed();

    let tally = run.tally(JOBS);
    let end = counts(&*driver, &queue).await;
    let failed = driver
        .failed_list(&FailedQuery {
            queue: Some(queue.clone()),
            offset: 0,
            limit: 10_000,
        })
        .await
        .expect("failed list");
    let failed_numbers: Vec<u64> = failed
        .iter()
        .map(|f| {
            let e = Envelope::decode(&f.payload).expect("a failed envelope");
            e.codec
                .decode::<Recorded>(&e.name, &e.data)
                .expect("a failed job's data")
                .n
        })
        .collect();
    let ran = JOBS - tally.never_ran.len() as u64;
    eprintln!(
        "{label}: {JOBS} dispatched; {kills} kills ({killed} connections) in {elapsed:?}; \
         first worker: {first:?}, left {after_first:?}; second worker: processed {}; \
         ran {ran} (once {}, more than once {}: {:?}), failed {} ({:?}), still queued {}; \
         {} jobs ran after the last kill",
        second.counts.processed,
        tally.ran_once,
        tally.ran_more.len(),
        &tally.ran_more[..tally.ran_more.len().min(10)],
        failed.len(),
        failed
            .iter()
            .map(|f| f.exception.as_str())
            .take(3)
            .collect::<Vec<_>>(),
        end.queued(),
        ran_after_first.saturating_sub(ran_at_last_kill),
    );
    assert!(
        kills >= 2,
        "the drain ended before the connections were killed twice"
    );
    assert!(killed > 0, "no connection was killed");
    assert!(
        ran_after_first > ran_at_last_kill || ran_at_last_kill as u64 == JOBS,
        "the worker stopped running jobs after the last kill"
    );
    // Every job is accounted for: ran, failed (with a reason) or still queued.
    for n in &tally.never_ran {
        assert!(
            failed_numbers.contains(n),
            "job {n} never ran and is not in the failed store"
        );
    }
    let failed_unrun = tally
        .never_ran
        .iter()
        .filter(|n| failed_numbers.contains(n))
        .count() as u64;
    assert_eq!(
        ran + failed_unrun + end.queued(),
        JOBS,
        "completed + failed + queued"
    );
    assert_eq!(end.queued(), 0, "{end:?}");
    assert_eq!(tally.unknown, 0);
    assert!(failed.iter().all(|f| !f.exception.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_client_kill_under_load_loses_no_job() {
    let server = RedisServer::start_new().expect("a redis-server of the test's own");
    let store = RedisStore::on(
        server.url(),
        routemq_testkit::redis::unique_prefix(),
        None,
        |c| c,
    )
    .await;
    let killer = ConnectionKiller::redis(&server.url()).await;
    drain_under_kills(store.dyn_driver(), killer, "redis").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_kill_connection_under_load_loses_no_job() {
    let store = MysqlStore::new().await;
    let killer = ConnectionKiller::mysql(store.schema.url(), store.schema.name()).await;
    drain_under_kills(store.dyn_driver(), killer, "database").await;
}
