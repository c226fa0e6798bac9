//! Jobs claimed ahead of free slots (`WorkerBuilder::prefetch`): held beyond
//! the concurrency, started in claim order, leases kept while they wait, given
//! back unstarted at shutdown, run to their end after a limit.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use routemq_core::JobOptions;
use routemq_worker::{StopReason, WorkerError};

#[tokio::test(start_paused = true)]
async fn a_worker_holds_concurrency_plus_prefetch_and_runs_them_in_claim_order() {
    let d = memory();
    let key = new_key();
    for i in 0..5 {
        dispatch(&d, &key, &i.to_string(), Act::Sleep(100)).await;
    }
    let w = builder(&d)
        .concurrency(1)
        .prefetch(2)
        .stop_when_empty(true)
        .build()
        .unwrap();
    let run = tokio::spawn(run_to_limit(w));
    wait_for("first job running", 2_000, || probe(&key).runs() == 1).await;
    tokio::time::sleep(ms(10)).await;
    let s = stats(&d, "default").await;
    assert_eq!(
        (s.reserved, s.ready),
        (3, 2),
        "one job running and two claimed ahead"
    );
    assert_eq!(probe(&key).runs(), 1, "a job claimed ahead started early");
    let report = run.await.unwrap();
    assert_eq!(report.stop_reason, StopReason::Empty);
    assert_eq!(report.counts.processed, 5);
    assert_eq!(probe(&key).tags(), ["0", "1", "2", "3", "4"]);
    assert_eq!(
        probe(&key).max_running.load(Ordering::SeqCst),
        1,
        "more jobs ran at once than the concurrency"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_jobs_claimed_ahead_back_unstarted_with_their_attempt() {
    let d = memory();
    let key = new_key();
    for i in 0..3 {
        dispatch(&d, &key, &i.to_string(), Act::Sleep(300)).await;
    }
    let w = builder(&d).concurrency(1).prefetch(2).build().unwrap();
    let run = spawn_worker(w);
    wait_for("first job running", 2_000, || probe(&key).runs() == 1).await;
    tokio::time::sleep(ms(10)).await;
    assert_eq!(stats(&d, "default").await.reserved, 3);
    let report = run.stop().await;
    assert_eq!(report.stop_reason, StopReason::Shutdown);
    assert_eq!(
        (report.counts.processed, report.counts.released_on_shutdown),
        (1, 2),
        "the running job finishes in its grace, the two ahead go back"
    );
    assert_eq!(
        probe(&key).runs(),
        1,
        "a job claimed ahead started after the stop"
    );
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved), (2, 0), "claimable again at once");

    run_until_empty(&d).await;
    assert_eq!(probe(&key).tags(), ["0", "1", "2"]);
    let attempts: Vec<u32> = probe(&key).attempt_times().iter().map(|a| a.0).collect();
    assert_eq!(
        attempts,
        [1, 1, 1],
        "a job that never started kept the attempt its claim counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_claimed_ahead_keeps_its_lease_while_it_waits() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Sleep(1_000)).await;
    dispatch(&d, &key, "b", Act::Sleep(10)).await;
    // Expired leases are taken away every 20 ms: "b" waits about 1 s for the
    // slot "a" holds, three times its lease.
    let reclaimer = spawn_reclaimer(&d);
    let w = builder(&d)
        .lease(ms(300))
        .concurrency(1)
        .prefetch(1)
        .stop_when_empty(true)
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    reclaimer.abort();
    assert_eq!(
        probe(&key).tags(),
        ["a", "b"],
        "a job ran twice or out of order"
    );
    assert_eq!((report.counts.processed, report.counts.lease_lost), (2, 0));
    let attempts: Vec<u32> = probe(&key).attempt_times().iter().map(|a| a.0).collect();
    assert_eq!(attempts, [1, 1], "a job was reclaimed while it waited");
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved, s.failed), (0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn after_a_limit_jobs_claimed_ahead_run_to_their_end() {
    let d = memory();
    let key = new_key();
    for i in 0..5 {
        dispatch(&d, &key, &i.to_string(), Act::Sleep(50)).await;
    }
    let w = builder(&d)
        .concurrency(1)
        .prefetch(4)
        .max_jobs(Some(3))
        .build()
        .unwrap();
    let run = tokio::spawn(run_to_limit(w));
    wait_for("first job running", 2_000, || probe(&key).runs() == 1).await;
    tokio::time::sleep(ms(10)).await;
    assert_eq!(
        stats(&d, "default").await.reserved,
        3,
        "the budget's three jobs are claimed at once"
    );
    let report = run.await.unwrap();
    assert_eq!(report.stop_reason, StopReason::MaxJobs);
    assert_eq!(report.counts.released_on_shutdown, 0);
    assert_eq!(probe(&key).tags(), ["0", "1", "2"]);
    assert_eq!(
        (report.counts.claimed, report.counts.processed),
        (3, 3),
        "max_jobs counts jobs claimed ahead"
    );
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved), (2, 0));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_job_claimed_ahead_is_not_run() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().timeout(Duration::from_secs(60));
    dispatch_with(&d, &key, "a", Act::Sleep(500), opts).await;
    let b = dispatch(&d, &key, "b", Act::Succeed).await;
    let w = builder(&d).concurrency(1).prefetch(1).build().unwrap();
    let run = spawn_worker(w);
    wait_for("first job running", 2_000, || probe(&key).runs() == 1).await;
    tokio::time::sleep(ms(10)).await;
    assert_eq!(stats(&d, "default").await.reserved, 2);
    d.cancel(&qn("default"), &b).await.unwrap();
    tokio::time::sleep(ms(2_000)).await;
    let report = run.stop().await;
    assert_eq!(probe(&key).tags(), ["a"], "the cancelled job ran");
    assert_eq!(report.counts.processed, 1);
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved), (0, 0));
}

#[test]
fn concurrency_plus_prefetch_must_fit_one_worker() {
    let d = memory();
    let err = builder(&d)
        .concurrency(2)
        .prefetch(usize::MAX)
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        WorkerError::TooManyHeld { concurrency: 2, .. }
    ));
    assert!(
        err.to_string().contains("concurrency 2 plus prefetch"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_shows_the_prefetch() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Sleep(400)).await;
    let w = builder(&d)
        .concurrency(3)
        .prefetch(5)
        .heartbeat_interval(ms(50))
        .build()
        .unwrap();
    let run = spawn_worker(w);
    wait_for("job running", 2_000, || probe(&key).runs() == 1).await;
    tokio::time::sleep(ms(120)).await;
    let workers = d.workers().await.unwrap();
    assert_eq!(
        workers
            .iter()
            .map(|w| (w.concurrency, w.prefetch))
            .collect::<Vec<_>>(),
        [(3, 5)]
    );
    run.stop().await;
}
