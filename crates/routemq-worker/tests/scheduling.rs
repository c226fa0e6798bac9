//! Scheduling: concurrency bound, batch claims, queue priority, idle waits, limits
//! and builder validation.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use common::faulty::Calls;
use common::*;
use routemq_core::{JobOptions, Queue};
use routemq_worker::{StopReason, Worker, WorkerError};

#[tokio::test(start_paused = true)]
async fn concurrency_bounds_jobs_in_flight() {
    let d = memory();
    let key = new_key();
    for i in 0..12 {
        dispatch(&d, &key, &i.to_string(), Act::Sleep(150)).await;
    }
    let started = Instant::now();
    let w = builder(&d)
        .concurrency(4)
        .stop_when_empty(true)
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    let took = started.elapsed();
    assert_eq!(report.counts.processed, 12);
    assert_eq!(probe(&key).max_running.load(Ordering::SeqCst), 4);
    assert!(
        took < ms(1_500),
        "12 jobs of 150 ms on 4 slots took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_slots_are_claimed_in_one_batch() {
    let (f, d) = faulty();
    let key = new_key();
    for i in 0..8 {
        dispatch(&d, &key, &i.to_string(), Act::Sleep(50)).await;
    }
    let w = builder(&d)
        .concurrency(8)
        .stop_when_empty(true)
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(report.counts.processed, 8);
    let sizes = f.calls.claim_sizes.lock().unwrap().clone();
    assert_eq!(
        sizes[0],
        (8, 8),
        "first claim should ask for all 8 free slots: {sizes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_are_drained_in_priority_order() {
    let d = memory();
    let key = new_key();
    for i in 1..=3 {
        dispatch(&d, &key, &format!("d{i}"), Act::Succeed).await;
    }
    for i in 1..=3 {
        dispatch_with(
            &d,
            &key,
            &format!("h{i}"),
            Act::Succeed,
            JobOptions::new().queue("high"),
        )
        .await;
    }
    let w = builder(&d)
        .queues(["high", "default"])
        .stop_when_empty(true)
        .build()
        .unwrap();
    assert_eq!(run_to_limit(w).await.counts.processed, 6);
    assert_eq!(probe(&key).tags(), ["h1", "h2", "h3", "d1", "d2", "d3"]);
}

#[tokio::test(start_paused = true)]
async fn idle_worker_waits_instead_of_polling() {
    let (f, d) = faulty();
    let w = builder(&d).sleep(ms(100)).build().unwrap();
    run_for(w, 600).await;
    let claims = Calls::get(&f.calls.claim);
    let waits = Calls::get(&f.calls.wait);
    assert!(
        claims <= 12,
        "{claims} claims in 600 ms of idling with sleep 100 ms"
    );
    assert!(
        waits >= 3,
        "only {waits} waits: the worker does not wait when idle"
    );
}

/// A worker on a paused queue with jobs waiting claims nothing and does not spin
/// (a handful of claim calls, not one per anti-spin gap); resume wakes it and its
/// jobs run within a second, although its idle wait is 3 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_queue_idles_the_worker_and_resume_runs_its_jobs() {
    let (f, d) = faulty();
    let key = new_key();
    let default = qn("default");
    assert!(d.pause(&default).await.unwrap());
    for i in 0..3 {
        dispatch(&d, &key, &i.to_string(), Act::Succeed).await;
    }
    let w = builder(&d).sleep(Duration::from_secs(3)).build().unwrap();
    let run = spawn_worker(w);
    tokio::time::sleep(ms(800)).await;
    assert_eq!(probe(&key).runs(), 0, "a job of a paused queue ran");
    let claims = Calls::get(&f.calls.claim);
    assert!(
        claims <= 5,
        "{claims} claims in 800 ms on a paused queue: the worker spins"
    );
    assert_eq!(stats(&d, "default").await.ready, 3);

    let resumed = Instant::now();
    assert!(d.resume(&default).await.unwrap());
    wait_for("the jobs ran after resume", 2_000, || {
        probe(&key).done() == 3
    })
    .await;
    let took = resumed.elapsed();
    assert!(took < ms(1_000), "jobs ran {took:?} after resume");
    let report = run.stop().await;
    assert_eq!(report.counts.processed, 3);
}

#[tokio::test(start_paused = true)]
async fn idle_worker_wakes_at_once_when_a_job_arrives() {
    let d = memory();
    let key = new_key();
    let w = builder(&d).sleep(Duration::from_secs(3)).build().unwrap();
    let run = tokio::spawn(run_for(w, 1_000));
    tokio::time::sleep(ms(200)).await;
    let pushed = Instant::now();
    dispatch(&d, &key, "a", Act::Succeed).await;
    wait_for("job ran", 2_000, || probe(&key).runs() == 1).await;
    let latency = probe(&key).attempt_times()[0].1 - pushed;
    assert!(
        latency < ms(500),
        "job started {latency:?} after dispatch, sleep is 3 s"
    );
    assert_eq!(run.await.unwrap().counts.processed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_jobs_stops_after_that_many() {
    let d = memory();
    let key = new_key();
    for i in 0..6 {
        dispatch(&d, &key, &i.to_string(), Act::Sleep(20)).await;
    }
    let w = builder(&d)
        .concurrency(4)
        .max_jobs(Some(3))
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(report.stop_reason, StopReason::MaxJobs);
    assert_eq!((report.counts.claimed, report.counts.processed), (3, 3));
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved), (3, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_processes_one_job() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Succeed).await;
    dispatch(&d, &key, "b", Act::Succeed).await;
    let w = builder(&d).concurrency(4).once(true).build().unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(
        (report.stop_reason, report.counts.processed),
        (StopReason::Once, 1)
    );
    assert_eq!(probe(&key).tags(), ["a"]);
    assert_eq!(stats(&d, "default").await.ready, 1);
}

#[tokio::test(start_paused = true)]
async fn once_on_an_empty_queue_waits_one_sleep_then_stops() {
    let d = memory();
    let started = Instant::now();
    let report = run_to_limit(builder(&d).sleep(ms(200)).once(true).build().unwrap()).await;
    let took = started.elapsed();
    assert_eq!(
        (report.stop_reason, report.counts.processed),
        (StopReason::Once, 0)
    );
    assert!(
        took >= ms(190) && took < ms(1_500),
        "stopped after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_when_empty_ignores_jobs_not_yet_due() {
    let d = memory();
    let key = new_key();
    let job = Scripted {
        key: key.clone(),
        tag: "later".into(),
        act: Act::Succeed,
    };
    Queue::from_arc(d.clone())
        .dispatch_later(Duration::from_secs(30), job)
        .await
        .unwrap();
    let started = Instant::now();
    let report = run_until_empty(&d).await;
    assert_eq!(
        (report.stop_reason, report.counts.processed),
        (StopReason::Empty, 0)
    );
    assert!(started.elapsed() < ms(1_500));
    assert_eq!(stats(&d, "default").await.delayed, 1);
}

#[tokio::test(start_paused = true)]
async fn max_time_bounds_an_idle_worker() {
    let d = memory();
    let started = Instant::now();
    let w = builder(&d)
        .sleep(Duration::from_secs(3))
        .max_time(Some(ms(300)))
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    let took = started.elapsed();
    assert_eq!(report.stop_reason, StopReason::MaxTime);
    assert!(
        took >= ms(290) && took < ms(1_500),
        "stopped after {took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn max_time_lets_the_running_job_finish() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Sleep(400)).await;
    dispatch(&d, &key, "b", Act::Sleep(400)).await;
    let w = builder(&d).max_time(Some(ms(100))).build().unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(
        (report.stop_reason, report.counts.processed),
        (StopReason::MaxTime, 1)
    );
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved), (1, 0));
}

#[test]
fn build_rejects_bad_settings_with_reasons() {
    let d = memory();
    let err = |b: routemq_worker::WorkerBuilder| b.build().unwrap_err();
    assert!(matches!(
        err(builder(&d).queues(Vec::<String>::new())),
        WorkerError::NoQueues
    ));
    let bad = err(builder(&d).queues(["ok", "not ok"]));
    assert!(matches!(bad, WorkerError::InvalidQueue(_)));
    // The queue's problem is the source, not repeated in the message.
    assert_eq!(bad.to_string(), "bad queue name");
    let cause = std::error::Error::source(&bad).expect("the queue name error");
    assert!(cause.to_string().contains("not ok"), "{cause}");
    assert!(
        matches!(err(builder(&d).queues(["a", "b", "a"])), WorkerError::DuplicateQueue(q) if q == "a")
    );
    assert!(matches!(
        err(builder(&d).concurrency(0)),
        WorkerError::ZeroConcurrency
    ));
    assert!(matches!(
        err(builder(&d).lease(Duration::ZERO)),
        WorkerError::ZeroDuration(_)
    ));
    assert!(matches!(
        err(builder(&d).sleep(Duration::ZERO)),
        WorkerError::ZeroDuration(_)
    ));
    let none = Worker::builder(d.clone())
        .queues(["default"])
        .build()
        .unwrap_err();
    assert!(matches!(none, WorkerError::NoJobsRegistered));
    let w = builder(&d)
        .queues(["high", "default"])
        .concurrency(3)
        .build()
        .unwrap();
    assert_eq!(w.registered_names(), ["test.scripted"]);
    assert_eq!(
        w.queues().iter().map(|q| q.as_str()).collect::<Vec<_>>(),
        ["high", "default"]
    );
    assert_eq!(w.concurrency(), 3);
}

/// A handler pushed back by a rate limit (`JobError::rate_limited`) does not use
/// up a try (a job of one try runs again and succeeds on "attempt 1" again), and
/// its whole queue is held: the next job of the queue starts only after the hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_attempt_holds_the_queue_and_keeps_the_try() {
    let d = memory();
    let key = new_key();
    let hold = 400;
    dispatch_with(
        &d,
        &key,
        "limited",
        Act::RateLimitedFirst(1, hold),
        JobOptions::new().max_tries(1),
    )
    .await;
    let other = new_key();
    dispatch(&d, &other, "next", Act::Succeed).await;
    let w = builder(&d)
        .concurrency(1)
        .max_jobs(Some(3))
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(
        (report.counts.processed, report.counts.failed),
        (2, 0),
        "{report:?}"
    );
    let limited = probe(&key).attempts.lock().unwrap().clone();
    let attempts: Vec<u32> = limited.iter().map(|(_, a, _)| *a).collect();
    assert_eq!(attempts, [1, 1], "the rate-limited attempt does not count");
    let next = probe(&other).attempts.lock().unwrap().clone();
    let gap = next[0].2.duration_since(limited[0].2);
    assert!(
        gap >= ms(hold - 20),
        "the queue's next job started {gap:?} after the rate-limited one, inside the {hold} ms hold"
    );
    assert!(gap < ms(hold + 1_000), "the hold ended long ago: {gap:?}");
}

/// A grouped job pushed back by a rate limit holds its group only: a job of
/// another group starts at once, while the group's next job (and the job
/// itself, on the same try) waits for the hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_grouped_attempt_holds_only_its_group() {
    let d = memory();
    let hold = 600;
    let limited = new_key();
    dispatch_with(
        &d,
        &limited,
        "limited",
        Act::RateLimitedFirst(1, hold),
        JobOptions::new().max_tries(1).group("tenant-1"),
    )
    .await;
    let same_group = new_key();
    dispatch_with(
        &d,
        &same_group,
        "same group",
        Act::Succeed,
        JobOptions::new().group("tenant-1"),
    )
    .await;
    let other_group = new_key();
    dispatch_with(
        &d,
        &other_group,
        "other group",
        Act::Succeed,
        JobOptions::new().group("tenant-2"),
    )
    .await;
    let w = builder(&d)
        .concurrency(1)
        .max_jobs(Some(4))
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(
        (report.counts.processed, report.counts.failed),
        (3, 0),
        "{report:?}"
    );
    let first = probe(&limited).attempts.lock().unwrap().clone();
    let attempts: Vec<u32> = first.iter().map(|(_, a, _)| *a).collect();
    assert_eq!(attempts, [1, 1], "the rate-limited attempt does not count");
    let pushed_back = first[0].2;
    let other = probe(&other_group).attempts.lock().unwrap()[0].2;
    let gap = other.duration_since(pushed_back);
    assert!(
        gap < ms(hold / 2),
        "the other group's job waited {gap:?}: only the pushed-back group is held"
    );
    for (what, at) in [
        (
            "the group's next job",
            probe(&same_group).attempts.lock().unwrap()[0].2,
        ),
        ("the pushed-back job", first[1].2),
    ] {
        let gap = at.duration_since(pushed_back);
        assert!(
            gap >= ms(hold - 20),
            "{what} started {gap:?} after the push-back, inside the {hold} ms group hold"
        );
    }
}

/// The claims the [`SeesClaims`] job saw when it started.
static CLAIMS_AT_START: std::sync::Mutex<Vec<Vec<(usize, usize)>>> =
    std::sync::Mutex::new(Vec::new());
/// The driver whose claims [`SeesClaims`] reads.
static WATCHED: std::sync::OnceLock<std::sync::Arc<common::faulty::FaultyDriver>> =
    std::sync::OnceLock::new();

/// Records the `(asked, got)` of every claim made so far when it starts.
#[derive(serde::Serialize, serde::Deserialize)]
struct SeesClaims {}

impl routemq_core::Job for SeesClaims {
    const NAME: &'static str = "test.sees_claims";
    async fn handle(&self, _ctx: &routemq_core::JobContext) -> Result<(), routemq_core::JobError> {
        let driver = WATCHED.get().expect("set before the worker runs");
        let claims = driver.calls.claim_sizes.lock().unwrap().clone();
        CLAIMS_AT_START.lock().unwrap().push(claims);
        Ok(())
    }
}

/// An idle worker that claims a job starts it before it claims again: its
/// next claim's send would otherwise take the runtime's next-task slot ahead of
/// the job (ARCHITECTURE.md, "An idle worker lets its jobs start before it
/// claims again"). On one thread the order is exact.
#[tokio::test]
async fn an_idle_workers_job_starts_before_its_next_claim() {
    let (f, d) = faulty();
    assert!(WATCHED.set(f.clone()).is_ok(), "one test sets it");
    let w = Worker::builder(d.clone())
        .register::<SeesClaims>()
        .queues(["default"])
        .concurrency(4)
        .sleep(ms(50))
        .build()
        .unwrap();
    let running = spawn_worker(w);
    wait_for("the worker's first, empty claim", 2_000, || {
        !f.calls.claim_sizes.lock().unwrap().is_empty()
    })
    .await;
    Queue::from_arc(d.clone())
        .dispatch(SeesClaims {})
        .await
        .unwrap();
    wait_for("the job to start", 2_000, || {
        !CLAIMS_AT_START.lock().unwrap().is_empty()
    })
    .await;
    running.stop().await;
    let seen = CLAIMS_AT_START.lock().unwrap()[0].clone();
    assert_eq!(
        seen.last().map(|&(_, got)| got),
        Some(1),
        "the last claim before the job started should be the one that got it: {seen:?}"
    );
}
