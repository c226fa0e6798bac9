//! Redis Cluster faults under a running worker, each on a private local cluster
//! (`RedisCluster::start`): a queue's slot moved to another master mid-drain
//! loses nothing and runs nothing twice; an idle worker whose queue's slot moves
//! while it waits (its `BLPOP` and the claim behind it on the old master) runs
//! the next jobs pushed, each once; jobs dispatched while a queue's slot is
//! half moved wait for the move to end and are stored once each; a master
//! killed and replaced by its
//! replica is measured and the figures printed: what was lost (acknowledged
//! dispatches that never ran) and what ran twice.
//!
//! Replication in Redis is asynchronous: the writes a master acknowledged in
//! the last moments before it died may not have reached its replica. For a
//! queue that means a claim or an ack the replica never saw (the job runs again:
//! at least once, never lost) and a push the replica never saw (an acknowledged
//! dispatch that is gone). The failover test counts both and fails if a job
//! ends stuck or the worker cannot carry on.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use routemq_core::{Driver, JobOptions, Queue, QueueName};
use routemq_e2e::accounting::{counts, drain, worker, QueueCounts};
use routemq_e2e::producer::dispatch_recorded;
use routemq_e2e::run_ledger::RunId;
use routemq_e2e::test_jobs::Recorded;
use routemq_redis::{RedisConfig, RedisDriver};
use routemq_testkit::redis::{unique_prefix, RedisCluster};

/// A driver on `cluster` under a fresh prefix.
fn driver_on(cluster: &RedisCluster) -> Arc<dyn Driver> {
    let config = RedisConfig::cluster(cluster.nodes())
        .expect("cluster nodes")
        .prefix(unique_prefix());
    Arc::new(RedisDriver::new(config).expect("a cluster driver"))
}

/// The queue `name` on `cluster`: its slot, the master that owns it, and
/// another master to move it to.
fn queue_and_masters(cluster: &RedisCluster, name: &str) -> (QueueName, u16, String, String) {
    let slot = RedisCluster::key_slot(&format!("{{{name}}}"));
    let source = cluster.slot_owner(slot);
    let target = cluster
        .masters()
        .into_iter()
        .find(|m| *m != source)
        .expect("another master");
    (QueueName::new(name).unwrap(), slot, source, target)
}

/// Waits until at most `left` jobs of `queue` are still ready.
async fn until_ready_at_most(driver: &dyn Driver, queue: &QueueName, left: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while counts(driver, queue).await.ready > left {
        assert!(Instant::now() < deadline, "the drain made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_slot_moved_to_another_master_mid_drain_loses_nothing() {
    const JOBS: u64 = 20_000;
    let cluster = Arc::new(RedisCluster::start(3, 0).expect("a local cluster"));
    let driver = driver_on(&cluster);
    let (queue, slot, source, target) = queue_and_masters(&cluster, "moving");
    let run = RunId::fresh();
    dispatch_recorded(driver.clone(), &queue, run, 0..JOBS, 1, JobOptions::new()).await;

    let drained = tokio::spawn(drain(
        worker(driver.clone(), &queue, 16),
        Duration::from_secs(180),
    ));
    until_ready_at_most(&*driver, &queue, JOBS * 3 / 4).await;

    // Move the slot one key at a time, pausing between keys, so claims and acks
    // meet ASK and TRYAGAIN replies while the slot is half moved.
    let mover = cluster.clone();
    let to = target.clone();
    let moved = tokio::task::spawn_blocking(move || {
        let mut migration = mover
            .migrate_slot_begin(slot, &to)
            .expect("migration starts");
        while migration.step(1).expect("a key moves") > 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
        migration.finish().expect("the slot moves")
    })
    .await
    .unwrap();
    let ready_after_move = counts(&*driver, &queue).await.ready;

    let report = drained.await.unwrap();
    let tally = run.tally(JOBS);
    eprintln!(
        "slot {slot} of queue {queue} moved {source} -> {target} ({moved} keys) mid-drain, \
         {ready_after_move} jobs still ready after the move; {}; worker: {report:?}",
        tally.summary()
    );
    assert_eq!(cluster.slot_owner(slot), target);
    assert!(
        ready_after_move > 0,
        "the drain ended before the slot moved: the test moved nothing under load"
    );
    assert!(tally.exactly_once(), "{}", tally.summary());
    assert_eq!(counts(&*driver, &queue).await, QueueCounts::default());
}

/// Waits until job `n` of `run` has run, failing the test after `within`;
/// returns how long that took.
async fn until_ran(run: RunId, n: u64, within: Duration, what: &str) -> Duration {
    let started = Instant::now();
    while !run.runs().contains_key(&n) {
        assert!(
            started.elapsed() < within,
            "{what} did not run within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    started.elapsed()
}

/// An idle worker of one queue blocks on the queue's master with its claim
/// queued behind the `BLPOP` (`wait_claim.rs`). The slot moves to another
/// master while it waits: the next jobs pushed (to the new master) still run,
/// each once. How long the first of them took is printed.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_worker_whose_queue_slot_moves_runs_the_next_jobs() {
    let cluster = RedisCluster::start(3, 0).expect("a local cluster");
    let driver = driver_on(&cluster);
    let (queue, slot, source, target) = queue_and_masters(&cluster, "idle-moving");
    let run = RunId::fresh();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let working = {
        let worker = worker(driver.clone(), &queue, 4)
            .stop_when_empty(false)
            .sleep(Duration::from_secs(30))
            .build()
            .expect("a valid worker");
        tokio::spawn(worker.run_until(async move {
            let _ = stopped.await;
        }))
    };
    // The worker is up and idle: its first job runs, then it waits again.
    dispatch_recorded(driver.clone(), &queue, run, 0..1, 0, JobOptions::new()).await;
    until_ran(run, 0, Duration::from_secs(10), "the first job").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let to = target.clone();
    let moved = tokio::task::spawn_blocking(move || {
        let moved = cluster.migrate_slot(slot, &to).expect("the slot moves");
        (cluster, moved)
    });
    let (cluster, moved) = moved.await.unwrap();
    assert_eq!(cluster.slot_owner(slot), target);
    tokio::time::sleep(Duration::from_millis(300)).await;
    dispatch_recorded(driver.clone(), &queue, run, 1..2, 0, JobOptions::new()).await;
    let after_move = until_ran(
        run,
        1,
        Duration::from_secs(10),
        "the job pushed after the move",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    dispatch_recorded(driver.clone(), &queue, run, 2..3, 0, JobOptions::new()).await;
    until_ran(run, 2, Duration::from_secs(10), "the next job").await;

    stop.send(()).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), working)
        .await
        .expect("the worker stops")
        .unwrap()
        .expect("the worker ran");
    let tally = run.tally(3);
    eprintln!(
        "slot {slot} of queue {queue} moved {source} -> {target} ({moved} keys) under an idle \
         worker; the first job pushed after the move ran {after_move:?} after its dispatch returned; {}; \
         worker: {report:?}",
        tally.summary()
    );
    assert!(tally.exactly_once(), "{}", tally.summary());
    assert_eq!(report.counts.processed, 3, "{report:?}");
    assert_eq!(counts(&*driver, &queue).await, QueueCounts::default());
}

/// While a slot moves, a push's transaction sent to the old master is refused
/// whole (`ASK` for the keys already moved), and once it has moved, `MOVED`;
/// the cluster client redirects neither inside a transaction. Jobs dispatched
/// one at a time while the queue's slot is half moved must wait for the move
/// and be stored once each: the worker started afterwards runs every job of
/// the queue exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn jobs_dispatched_while_a_queue_slot_is_half_moved_are_stored_once() {
    const BEFORE: u64 = 200;
    const DURING: u64 = 20;
    let cluster = Arc::new(RedisCluster::start(3, 0).expect("a local cluster"));
    let driver = driver_on(&cluster);
    let (queue, slot, source, target) = queue_and_masters(&cluster, "half-moved");
    let run = RunId::fresh();
    dispatch_recorded(driver.clone(), &queue, run, 0..BEFORE, 0, JobOptions::new()).await;

    // One key moved, the rest still on the source for half a second.
    let (half_moved, is_half_moved) = tokio::sync::oneshot::channel();
    let (mover, to) = (cluster.clone(), target.clone());
    let moving = tokio::task::spawn_blocking(move || {
        let mut migration = mover
            .migrate_slot_begin(slot, &to)
            .expect("migration starts");
        let first = migration.step(1).expect("a key moves");
        let _ = half_moved.send(first);
        std::thread::sleep(Duration::from_millis(500));
        let rest = migration.finish().expect("the slot moves");
        (Instant::now(), first + rest)
    });
    let first_moved = is_half_moved.await.expect("the migration began");
    assert_eq!(first_moved, 1, "the first step moved one key");

    let dispatch = Queue::from_arc(driver.clone());
    let options = JobOptions::new().queue(queue.as_str());
    let started = Instant::now();
    let mut first_took = None;
    for n in BEFORE..BEFORE + DURING {
        let job = Recorded {
            run,
            n,
            pause_ms: 0,
        };
        dispatch
            .dispatch_with(job, &options, None)
            .await
            .unwrap_or_else(|e| panic!("job {n}, dispatched while the slot moved: {e}"));
        first_took.get_or_insert_with(|| started.elapsed());
    }
    let (moved_at, moved) = moving.await.unwrap();
    assert_eq!(cluster.slot_owner(slot), target);
    let report = drain(worker(driver.clone(), &queue, 8), Duration::from_secs(60)).await;
    let tally = run.tally(BEFORE + DURING);
    eprintln!(
        "slot {slot} of queue {queue} moved {source} -> {target} ({moved} keys); the first of \
         {DURING} single dispatches during the move took {first_took:?}, the move ended {:?} \
         after they began; {}; worker: {report:?}",
        moved_at.saturating_duration_since(started),
        tally.summary()
    );
    assert!(tally.exactly_once(), "{}", tally.summary());
    assert_eq!(counts(&*driver, &queue).await, QueueCounts::default());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_master_killed_and_failed_over_is_measured_lost_and_repeated() {
    const JOBS: u64 = 20_000;
    const LEASE: Duration = Duration::from_secs(3);
    let cluster = Arc::new(RedisCluster::start(3, 1).expect("a local cluster"));
    let driver = driver_on(&cluster);
    let queue = QueueName::new("failing-over").unwrap();
    let slot = RedisCluster::key_slot("{failing-over}");
    let master = cluster.slot_owner(slot);
    let run = RunId::fresh();
    dispatch_recorded(driver.clone(), &queue, run, 0..JOBS, 1, JobOptions::new()).await;
    // Let the replica catch up with the dispatch: the measurement is about the
    // writes around the crash.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let drained = tokio::spawn(drain(
        worker(driver.clone(), &queue, 16).lease(LEASE),
        Duration::from_secs(180),
    ));
    until_ready_at_most(&*driver, &queue, JOBS * 3 / 4).await;

    // A producer keeps dispatching through the crash; what it was told was
    // stored is what must run.
    let acknowledged = Arc::new(Mutex::new(Vec::<u64>::new()));
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let producer = {
        let (driver, queue, acknowledged) = (driver.clone(), queue.clone(), acknowledged.clone());
        tokio::spawn(async move {
            let dispatch = Queue::from_arc(driver);
            let options = JobOptions::new().queue(queue.as_str());
            let (mut n, mut refused) = (JOBS, 0u64);
            while !*stop_rx.borrow_and_update() {
                let job = Recorded::new(run, n);
                match dispatch.dispatch_with(job, &options, None).await {
                    Ok(_) => acknowledged.lock().unwrap().push(n),
                    Err(_) => refused += 1,
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            (n - JOBS, refused)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed_at = Instant::now();
    cluster.kill(&master).expect("the master dies");
    let failover = cluster.clone();
    let dead = master.clone();
    let promoted =
        tokio::task::spawn_blocking(move || failover.wait_failover(&dead, Duration::from_secs(30)))
            .await
            .unwrap()
            .expect("the replica takes over");
    let failover_took = killed_at.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_tx.send(true).unwrap();
    let (sent, refused) = producer.await.unwrap();
    let first = drained.await.unwrap();

    // Jobs whose claim or ack the replica never saw are still reserved there:
    // their leases expire and a second worker takes them.
    tokio::time::sleep(LEASE + Duration::from_secs(1)).await;
    let second = drain(
        worker(driver.clone(), &queue, 16).lease(LEASE),
        Duration::from_secs(120),
    )
    .await;

    let acknowledged: Vec<u64> = acknowledged.lock().unwrap().clone();
    let runs = run.runs();
    let lost: Vec<u64> = (0..JOBS)
        .chain(acknowledged.iter().copied())
        .filter(|n| !runs.contains_key(n))
        .collect();
    let repeated: Vec<(u64, u32)> = runs
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(n, c)| (*n, *c))
        .collect();
    let acknowledged_set: HashSet<u64> = acknowledged.iter().copied().collect();
    let unacknowledged_ran = runs
        .keys()
        .filter(|n| **n >= JOBS && !acknowledged_set.contains(n))
        .count();
    let end = counts(&*driver, &queue).await;
    eprintln!(
        "failover of {master} (slot {slot}) to {promoted} took {failover_took:?}; \
         {JOBS} jobs queued before the crash, {sent} dispatched around it ({} acknowledged, \
         {refused} refused); lost (acknowledged, never ran): {} {:?}; ran more than once: {} \
         (first {:?}); refused dispatches that ran anyway: {unacknowledged_ran}; end {end:?}; \
         first worker {first:?}; second worker {second:?}",
        acknowledged.len(),
        lost.len(),
        &lost[..lost.len().min(10)],
        repeated.len(),
        &repeated[..repeated.len().min(10)],
    );
    assert_eq!(
        end,
        QueueCounts::default(),
        "after the failover every job must end run or failed, none stuck"
    );
    assert!(
        !acknowledged.is_empty(),
        "the producer got no dispatch through around the failover"
    );
}
