//! Chains and batches under worker crashes, with real `routemq work`
//! processes: a 10,000-job batch over 4 workers, one SIGKILLed mid-way, ends
//! with exact counters and one `then` and one `finally`; a chain of 3 whose
//! worker is SIGKILLed right after a link finished runs every link, the next
//! one neither lost nor repeated. `batch show|list|cancel` on the way.

use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_cli::{connect, Config, Unconfigured};
use routemq_core::{
    Backoff, BatchId, BatchPlan, ChainPlan, Codec, Driver, Envelope, JobId, JobState, PendingJob,
    QueueName,
};
use serde_json::Value;

use crate::support::{queue, Backend};

/// A `routemq.sleep` of `ms` on `queue` that keeps its record for an hour (so
/// its state and attempts can be read once it succeeded).
fn sleep_job(queue: &QueueName, ms: u64) -> PendingJob {
    let env = Envelope {
        max_tries: 5,
        backoff: Backoff::fixed(Duration::from_millis(100)),
        keep_result: Some(Duration::from_secs(3600)),
        ..Envelope::new(
            "routemq.sleep",
            queue.clone(),
            Codec::Json,
            format!(r#"{{"ms":{ms}}}"#).into_bytes(),
        )
    };
    PendingJob::new(&env, None).expect("a JSON envelope encodes")
}

fn driver(b: &Backend, rt: &tokio::runtime::Runtime) -> Arc<dyn Driver> {
    let env = b.env.clone();
    let lookup = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let config = Config::resolve(lookup, None, Unconfigured::Refuse).expect("config");
    rt.block_on(connect(&config)).expect("connect")
}

fn state(
    rt: &tokio::runtime::Runtime,
    d: &dyn Driver,
    q: &QueueName,
    id: &JobId,
) -> Option<(JobState, u32)> {
    rt.block_on(d.job_status(q, id))
        .expect("job_status")
        .map(|s| (s.state, s.attempts))
}

/// 10,000 `routemq.sleep` jobs of 20 ms in one batch with `then`, `catch` and
/// `finally`, run by 4 workers of 16 slots; one worker is SIGKILLed once a
/// fifth of the batch is done (its reservations come back when their 2 s
/// leases expire). The batch ends with 10,000 succeeded, 0 failed, and `then`
/// and `finally` each ran exactly once (one attempt each), `catch` never.
pub fn batch_survives_a_killed_worker(b: &Backend) {
    let q = queue("batch");
    let queue_name = QueueName::new(q.clone()).unwrap();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let d = driver(b, &rt);
    let (then, catch, finally) = (
        sleep_job(&queue_name, 1),
        sleep_job(&queue_name, 1),
        sleep_job(&queue_name, 1),
    );
    let (then_id, catch_id, finally_id) = (then.id.clone(), catch.id.clone(), finally.id.clone());
    let id = BatchId::generate();
    let info = rt
        .block_on(d.push_batch(BatchPlan {
            id: id.clone(),
            queue: queue_name.clone(),
            name: "crash-test".into(),
            jobs: (0..10_000).map(|_| sleep_job(&queue_name, 20)).collect(),
            then: Some(then),
            catch: Some(catch),
            finally: Some(finally),
            allow_failures: false,
        }))
        .expect("push_batch");
    assert_eq!((info.total, info.pending), (10_000, 10_000));
    let listed = b.ok(&["batch", "list", "--json"]);
    assert!(
        listed
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x["id"] == id.as_str())),
        "{listed}"
    );

    let mut workers: Vec<Child> = (0..4)
        .map(|_| b.spawn_worker(&q, 16, &["--lease", "2"]))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let shown = b.ok(&["batch", "show", id.as_str(), "--json"]);
        if shown["succeeded"].as_u64().unwrap_or(0) >= 2_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the batch did not start: {shown}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut killed = workers.remove(0);
    killed.kill().expect("SIGKILL a worker");
    let _ = killed.wait();
    let done = loop {
        let shown = b.ok(&["batch", "show", id.as_str(), "--json"]);
        if shown["finished_at_ms"].is_i64() {
            break shown;
        }
        assert!(
            Instant::now() < deadline,
            "the batch did not finish: {shown}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        (
            &done["total"],
            &done["pending"],
            &done["succeeded"],
            &done["failed"],
            &done["cancelled"]
        ),
        (
            &Value::from(10_000),
            &Value::from(0),
            &Value::from(10_000),
            &Value::from(0),
            &Value::from(0)
        ),
        "exact counters after a SIGKILLed worker: {done}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    for (name, cb) in [("then", &then_id), ("finally", &finally_id)] {
        loop {
            match state(&rt, &*d, &queue_name, cb) {
                Some((JobState::Succeeded, attempts)) => {
                    assert_eq!(attempts, 1, "{name} ran exactly once");
                    break;
                }
                other => assert!(Instant::now() < deadline, "{name}: {other:?}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(
        state(&rt, &*d, &queue_name, &catch_id),
        None,
        "catch never ran (nothing failed) and was removed"
    );
    b.stop_workers(workers);
    let s = b.stats(&q);
    assert_eq!(
        (
            s["ready"].as_u64(),
            s["reserved"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{s}"
    );
    let cancelled = b.ok(&["batch", "cancel", id.as_str(), "--json"]);
    assert_eq!(
        cancelled["succeeded"], 10_000,
        "cancelling a finished batch changes nothing: {cancelled}"
    );
}

/// A chain of three 300 ms sleeps under one worker; the worker is SIGKILLed as
/// soon as the first link has succeeded. A second worker finishes the chain:
/// every link succeeded, the third exactly once, the second at most twice (once
/// more if the killed worker had started it: at-least-once).
pub fn chain_survives_a_killed_worker(b: &Backend) {
    let q = queue("chain");
    let queue_name = QueueName::new(q.clone()).unwrap();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let d = driver(b, &rt);
    let links: Vec<PendingJob> = (0..3).map(|_| sleep_job(&queue_name, 300)).collect();
    let ids = rt
        .block_on(d.push_chain(ChainPlan {
            queue: queue_name.clone(),
            links,
            catch: None,
        }))
        .expect("push_chain");
    let shown = b.ok(&["job", "show", ids[1].as_str(), "--json"]);
    assert_eq!(shown["state"], "waiting", "{shown}");

    let mut first = b.spawn_worker(&q, 1, &["--lease", "2"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while state(&rt, &*d, &queue_name, &ids[0]).map(|s| s.0) != Some(JobState::Succeeded) {
        assert!(Instant::now() < deadline, "link 1 did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().expect("SIGKILL the worker");
    let _ = first.wait();
    let second = b.spawn_worker(&q, 1, &["--lease", "2"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let last = loop {
        if let Some((JobState::Succeeded, attempts)) = state(&rt, &*d, &queue_name, &ids[2]) {
            break attempts;
        }
        assert!(
            Instant::now() < deadline,
            "the chain did not finish after the kill"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(last, 1, "the last link ran once");
    let (middle_state, middle_attempts) =
        state(&rt, &*d, &queue_name, &ids[1]).expect("link 2 is kept");
    assert_eq!(middle_state, JobState::Succeeded);
    assert!(
        (1..=2).contains(&middle_attempts),
        "link 2 ran once, or twice when the killed worker had started it: {middle_attempts}"
    );
    b.stop_workers(vec![second]);
    let s = b.stats(&q);
    assert_eq!(
        (s["ready"].as_u64(), s["reserved"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
}
