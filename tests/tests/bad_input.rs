//! Bad input on both drivers: each case gets a clear error (at dispatch, or a
//! reason in the failed store) and nothing else is lost.

use std::time::{Duration, Instant};

use routemq_core::{
    Codec, DriverError, Envelope, FailedQuery, JobId, JobOptions, PendingJob, Queue, QueueName,
    TraceContext,
};
use routemq_e2e::accounting::{counts, drain, worker};
use routemq_e2e::producer::dispatch_recorded;
use routemq_e2e::run_ledger::RunId;
use routemq_e2e::stores::Store;
use routemq_e2e::test_jobs::{BlocksThread, HookPanics, Recorded};
use routemq_redis::RedisConfig;
use routemq_worker::{Worker, WorkerError};

const GOOD_JOBS: u64 = 25;

fn queue() -> QueueName {
    QueueName::new("bad-input").unwrap()
}

/// The only failed job of `queue`, after checking there is exactly one.
async fn only_failed(store: &Store, queue: &QueueName) -> routemq_core::FailedJob {
    let failed = store
        .dyn_driver()
        .failed_list(&FailedQuery {
            queue: Some(queue.clone()),
            ..FailedQuery::default()
        })
        .await
        .expect("failed list");
    assert_eq!(failed.len(), 1, "{failed:?}");
    failed.into_iter().next().unwrap()
}

/// Good jobs around one bad one: the good ones run once each, the bad one lands
/// in the failed store, nothing is left queued.
async fn good_jobs_survive(store: &Store, run: RunId) {
    let q = queue();
    let report = drain(worker(store.dyn_driver(), &q, 4), Duration::from_secs(60)).await;
    let tally = run.tally(GOOD_JOBS);
    assert!(tally.exactly_once(), "{}", tally.summary());
    assert_eq!(report.counts.processed, GOOD_JOBS, "{report:?}");
    assert_eq!(report.counts.failed, 1, "{report:?}");
    let c = counts(&*store.dyn_driver(), &q).await;
    assert_eq!((c.queued(), c.failed), (0, 1), "{c:?}");
}

async fn corrupt_payload(mut store: Store) {
    let q = queue();
    let run = RunId::fresh();
    let d = store.dyn_driver();
    dispatch_recorded(d.clone(), &q, run, 0..10, 0, JobOptions::new()).await;
    store.inject_raw(&q, b"\xff{not a job at all").await;
    dispatch_recorded(d.clone(), &q, run, 10..GOOD_JOBS, 0, JobOptions::new()).await;
    good_jobs_survive(&store, run).await;
    let failed = only_failed(&store, &q).await;
    eprintln!(
        "{}: corrupt payload failed with: {}",
        store.label(),
        failed.exception
    );
    assert!(failed.exception.contains("not run"), "{}", failed.exception);
    assert_eq!(failed.payload, b"\xff{not a job at all");
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_corrupt_payload_in_the_ready_list_goes_to_the_failed_store() {
    corrupt_payload(Store::redis().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_corrupt_payload_in_queue_jobs_goes_to_the_failed_store() {
    corrupt_payload(Store::mysql().await).await;
}

async fn unknown_job_name(store: Store) {
    let q = queue();
    let run = RunId::fresh();
    let d = store.dyn_driver();
    dispatch_recorded(d.clone(), &q, run, 0..GOOD_JOBS, 0, JobOptions::new()).await;
    let id = Queue::from_arc(d.clone())
        .dispatch_raw(
            "e2e.no_such_job",
            br#"{"n": 1}"#.to_vec(),
            &JobOptions::new().queue(q.as_str()),
            None,
        )
        .await
        .expect("a job of an unknown type is still accepted at dispatch");
    good_jobs_survive(&store, run).await;
    let failed = only_failed(&store, &q).await;
    eprintln!(
        "{}: unknown job failed with: {}",
        store.label(),
        failed.exception
    );
    assert_eq!(failed.id, id);
    assert!(
        failed.exception.contains("e2e.no_such_job"),
        "{}",
        failed.exception
    );
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_unknown_job_name_goes_to_the_failed_store_with_its_name() {
    unknown_job_name(Store::redis().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_unknown_job_name_goes_to_the_failed_store_with_its_name() {
    unknown_job_name(Store::mysql().await).await;
}

/// An envelope with `bytes` of JSON data on `queue`.
fn sized_job(queue: &QueueName, bytes: usize) -> PendingJob {
    let data = format!(r#"{{"pad":"{}"}}"#, "x".repeat(bytes));
    let envelope = Envelope {
        id: JobId::generate(),
        name: "e2e.padded".into(),
        queue: queue.clone(),
        codec: Codec::Json,
        data: data.into_bytes(),
        encryption: None,
        max_tries: 1,
        timeout: Duration::from_secs(5),
        backoff: Default::default(),
        created_at_ms: 0,
        trace: TraceContext::new(),
        keep_result: None,
    };
    PendingJob::new(&envelope, None).unwrap()
}

async fn oversize_payload(store: Store) {
    let q = queue();
    let d = store.dyn_driver();
    let limit = d.max_payload_bytes();
    let dispatch = Queue::from_arc(d.clone());
    let err = dispatch
        .dispatch_raw(
            "e2e.padded",
            format!(r#"{{"pad":"{}"}}"#, "x".repeat(limit)).into_bytes(),
            &JobOptions::new().queue(q.as_str()),
            None,
        )
        .await
        .expect_err("an oversize job must be refused");
    eprintln!("{}: oversize dispatch: {err}", store.label());
    assert!(
        matches!(err, DriverError::PayloadTooLarge { limit: l, .. } if l == limit),
        "{err:?}"
    );
    assert!(err.to_string().contains("limit"), "{err}");
    // A bulk push with one oversize job among good ones stores none of them.
    let err = d
        .push_bulk(vec![
            sized_job(&q, 10),
            sized_job(&q, limit + 1),
            sized_job(&q, 10),
        ])
        .await
        .expect_err("a bulk push with an oversize job must be refused");
    assert!(
        matches!(err, DriverError::PayloadTooLarge { .. }),
        "{err:?}"
    );
    let c = counts(&*d, &q).await;
    assert_eq!(
        (c.queued(), c.failed),
        (0, 0),
        "something was stored: {c:?}"
    );
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_oversize_payload_is_refused_at_dispatch_and_nothing_stored() {
    let store = routemq_e2e::stores::RedisStore::with(|c: RedisConfig| c.max_payload(4096)).await;
    oversize_payload(Store::Redis(store)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_oversize_payload_is_refused_at_dispatch_and_nothing_stored() {
    let store = routemq_e2e::stores::MysqlStore::with(|c| c.max_payload_bytes = 4096).await;
    oversize_payload(Store::Mysql(store)).await;
}

const BAD_QUEUE_NAMES: [&str; 7] = [
    "",
    "with space",
    "quote'",
    "dquote\"",
    "{braces}",
    "50%",
    "semi;colon",
];

async fn bad_queue_names(store: Store) {
    let d = store.dyn_driver();
    let dispatch = Queue::from_arc(d.clone());
    let long = "q".repeat(300);
    for name in BAD_QUEUE_NAMES.iter().copied().chain([long.as_str()]) {
        let err = dispatch
            .dispatch_with(
                Recorded::new(RunId::fresh(), 0),
                &JobOptions::new().queue(name),
                None,
            )
            .await
            .expect_err("a bad queue name must be refused");
        assert!(
            matches!(&err, DriverError::InvalidQueueName { name: n, .. } if n == name),
            "{err:?}"
        );
        assert!(err.to_string().contains("queue name"), "{err}");
        let err = Worker::builder(d.clone())
            .register::<Recorded>()
            .queues([name])
            .build()
            .expect_err("a worker on a bad queue name must be refused");
        assert!(matches!(err, WorkerError::InvalidQueue(_)), "{err:?}");
    }
    eprintln!(
        "{}: 300-char queue: {}",
        store.label(),
        QueueName::new(long.as_str()).unwrap_err()
    );
    let queues = d.queues().await.expect("queues");
    assert!(queues.is_empty(), "something was stored: {queues:?}");
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_bad_queue_names_are_refused_with_a_reason() {
    bad_queue_names(Store::redis().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_bad_queue_names_are_refused_with_a_reason() {
    bad_queue_names(Store::mysql().await).await;
}

async fn failed_hook_panics(store: Store) {
    let q = queue();
    let run = RunId::fresh();
    let d = store.dyn_driver();
    dispatch_recorded(d.clone(), &q, run, 0..GOOD_JOBS, 0, JobOptions::new()).await;
    let hook = RunId::fresh();
    let id = Queue::from_arc(d.clone())
        .dispatch_with(
            HookPanics { run: hook, n: 0 },
            &JobOptions::new().queue(q.as_str()),
            None,
        )
        .await
        .unwrap();
    good_jobs_survive(&store, run).await;
    assert_eq!(hook.runs().get(&0), Some(&1), "the failed hook ran once");
    let failed = only_failed(&store, &q).await;
    eprintln!(
        "{}: hook-panics job failed with: {}",
        store.label(),
        failed.exception
    );
    assert_eq!(failed.id, id);
    assert!(
        failed.exception.contains(HookPanics::MESSAGE),
        "{}",
        failed.exception
    );
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_job_whose_failed_hook_panics_is_still_in_the_failed_store() {
    failed_hook_panics(Store::redis().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_job_whose_failed_hook_panics_is_still_in_the_failed_store() {
    failed_hook_panics(Store::mysql().await).await;
}

/// How long the blocking job holds its thread, and its timeout.
const BLOCK: Duration = Duration::from_millis(1500);
const BLOCK_TIMEOUT: Duration = Duration::from_millis(300);

/// A handler that blocks its thread (`std::thread::sleep`, no `.await`) cannot be
/// stopped by its timeout: tokio drops a future only at an `.await`. Observed, on
/// a 2-thread runtime at concurrency 4, with a 300 ms timeout and a 1.5 s block:
/// - the other jobs keep running on the other runtime thread while it is blocked
///   (all 40 done at two thirds of the block);
/// - the timeout never fires: the timer is polled in the blocked task, and when the
///   handler returns, `tokio::time::timeout` polls the finished handler first, so
///   the attempt counts as a success (`timed_out` 0, acked, not failed) although
///   it ran 5 times its timeout;
/// - the lease stays valid (the worker extends it from another task), so the job
///   runs once and nobody else takes it.
///
/// Blocking work belongs in `tokio::task::spawn_blocking`; a runtime with as many
/// blocking handlers as threads would stall every job.
async fn blocking_handler(store: Store) {
    let q = queue();
    let run = RunId::fresh();
    let blocked = RunId::fresh();
    let d = store.dyn_driver();
    let dispatch = Queue::from_arc(d.clone());
    dispatch
        .dispatch_with(
            BlocksThread {
                run: blocked,
                n: 0,
                ms: BLOCK.as_millis() as u64,
            },
            &JobOptions::new()
                .queue(q.as_str())
                .timeout(BLOCK_TIMEOUT)
                .max_tries(1),
            None,
        )
        .await
        .unwrap();
    const QUICK: u64 = 40;
    dispatch_recorded(d.clone(), &q, run, 0..QUICK, 20, JobOptions::new()).await;

    let started = Instant::now();
    let draining = tokio::spawn(drain(worker(d.clone(), &q, 4), Duration::from_secs(60)));
    tokio::time::sleep(BLOCK * 2 / 3).await;
    let quick_done_while_blocked = run.runs().len() as u64;
    let blocked_done_early = blocked.runs().len();
    let report = draining.await.expect("the drain task");
    let elapsed = started.elapsed();
    let failed = d
        .failed_list(&FailedQuery::default())
        .await
        .expect("failed list");
    let c = counts(&*d, &q).await;
    eprintln!(
        "{}: blocking job: {quick_done_while_blocked}/{QUICK} quick jobs done at {:?} while it \
         blocked; drain took {elapsed:?}; blocked job ran {} time(s); failed: {failed:?}; {report:?}; {c:?}",
        store.label(),
        BLOCK * 2 / 3,
        blocked.runs().get(&0).copied().unwrap_or(0),
    );
    assert_eq!(quick_done_while_blocked, QUICK, "other jobs were held up");
    assert_eq!(blocked_done_early, 0, "the blocking job ended too early");
    assert!(
        run.tally(QUICK).exactly_once(),
        "{}",
        run.tally(QUICK).summary()
    );
    assert_eq!(report.counts.timed_out, 0, "{report:?}");
    assert_eq!(report.counts.processed, QUICK + 1, "{report:?}");
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        elapsed >= BLOCK,
        "the drain ended before the blocked thread"
    );
    assert_eq!(
        blocked.runs().get(&0),
        Some(&1),
        "the blocked handler ran once, to its end"
    );
    assert_eq!((c.queued(), c.failed), (0, 0), "{c:?}");
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_thread_blocking_job_overruns_its_timeout_while_others_keep_running() {
    blocking_handler(Store::redis().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_thread_blocking_job_overruns_its_timeout_while_others_keep_running() {
    blocking_handler(Store::mysql().await).await;
}
