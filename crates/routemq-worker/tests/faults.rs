//! Backend errors: every call is retried with backoff, never taken for "no job",
//! and no job is forgotten. A fault injector wraps the real `MemoryDriver`.

mod common;

use std::sync::atomic::Ordering;

use common::faulty::Calls;
use common::*;
use routemq_worker::StopReason;

#[tokio::test(start_paused = true)]
async fn failing_claims_are_retried_not_taken_for_an_empty_queue() {
    let (f, d) = faulty();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Succeed).await;
    f.faults.claim.store(4, Ordering::SeqCst);
    let report = run_until_empty(&d).await;
    assert_eq!(
        (report.stop_reason, report.counts.processed),
        (StopReason::Empty, 1)
    );
    assert!(Calls::get(&f.calls.claim) >= 5);
}

#[tokio::test(start_paused = true)]
async fn failing_acks_are_retried_before_the_worker_exits() {
    let (f, d) = faulty();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Succeed).await;
    f.faults.ack.store(3, Ordering::SeqCst);
    let report = run_until_empty(&d).await;
    assert_eq!(report.counts.processed, 1);
    assert_eq!(Calls::get(&f.calls.ack), 4);
    let s = stats(&d, "default").await;
    assert_eq!(
        (s.ready, s.reserved),
        (0, 0),
        "the job is acknowledged, not left reserved"
    );
    assert_eq!(probe(&key).runs(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_pile_up_into_one_batch_while_the_backend_is_down() {
    let (f, d) = faulty();
    let key = new_key();
    for i in 0..6 {
        dispatch(&d, &key, &i.to_string(), Act::Succeed).await;
    }
    f.faults.ack.store(1, Ordering::SeqCst);
    let w = builder(&d)
        .concurrency(6)
        .stop_when_empty(true)
        .build()
        .unwrap();
    assert_eq!(run_to_limit(w).await.counts.processed, 6);
    let sizes = f.calls.ack_sizes.lock().unwrap().clone();
    assert_eq!(sizes.iter().sum::<usize>(), 6, "{sizes:?}");
    assert!(sizes.len() < 6, "acks were not batched: {sizes:?}");
    assert_eq!(stats(&d, "default").await.reserved, 0);
}

#[tokio::test(start_paused = true)]
async fn failing_release_is_retried() {
    let (f, d) = faulty();
    let key = new_key();
    dispatch(&d, &key, "a", Act::FailUntil(1)).await;
    f.faults.release.store(2, Ordering::SeqCst);
    let report = run_until_empty(&d).await;
    assert_eq!(
        (
            report.counts.retried,
            report.counts.processed,
            report.counts.lease_lost
        ),
        (1, 1, 0)
    );
    assert_eq!(Calls::get(&f.calls.release), 3);
    assert_eq!(probe(&key).runs(), 2);
}

#[tokio::test(start_paused = true)]
async fn failing_fail_is_retried_until_the_job_is_stored() {
    let (f, d) = faulty();
    let key = new_key();
    let id = dispatch(&d, &key, "a", Act::Fatal).await;
    f.faults.fail.store(2, Ordering::SeqCst);
    let report = run_until_empty(&d).await;
    assert_eq!(report.counts.failed, 1);
    assert_eq!(Calls::get(&f.calls.fail), 3);
    assert_eq!(failed_jobs(&d).await[0].id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_extensions_are_retried_within_the_lease() {
    let (f, d) = faulty();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Sleep(800)).await;
    f.faults.extend.store(2, Ordering::SeqCst);
    let report = run_with_reclaimer(&d, 300).await;
    assert_eq!((report.counts.processed, report.counts.lease_lost), (1, 0));
    assert_eq!(probe(&key).runs(), 1);
    assert!(Calls::get(&f.calls.extend) >= 4);
}

#[tokio::test(start_paused = true)]
async fn failing_waits_back_off_and_recover() {
    let (f, d) = faulty();
    let key = new_key();
    f.faults.wait.store(3, Ordering::SeqCst);
    let w = builder(&d).sleep(ms(100)).build().unwrap();
    let stats_handle = w.stats();
    let run = tokio::spawn(run_for(w, 1_000));
    tokio::time::sleep(ms(300)).await;
    dispatch(&d, &key, "a", Act::Succeed).await;
    wait_for("job ran after the outage", 1_000, || {
        stats_handle.snapshot().processed == 1
    })
    .await;
    run.await.unwrap();
    assert!(
        Calls::get(&f.calls.claim) < 30,
        "{} claims: busy loop on errors",
        Calls::get(&f.calls.claim)
    );
}
