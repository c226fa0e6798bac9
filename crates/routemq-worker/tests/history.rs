//! The worker's throughput history: per queue and minute, succeeded jobs,
//! jobs failed for good and retried attempts reach the store's history, by the
//! periodic flush and by the last flush at shutdown; a failed write keeps its
//! counts for the next one.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use common::faulty::Calls;
use common::*;
use routemq_core::{unix_minute, Driver, HistoryCounts, JobOptions, UnixMinute};
use routemq_worker::WorkerError;

/// The sum of `queue`'s history over `[from, to]`.
async fn history_sum(
    driver: &Arc<dyn Driver>,
    queue: &str,
    from: UnixMinute,
    to: UnixMinute,
) -> HistoryCounts {
    let mut sum = HistoryCounts::default();
    for m in driver.history(&qn(queue), from, to).await.unwrap() {
        assert!(
            (from..=to).contains(&m.minute),
            "minute {} outside the range",
            m.minute
        );
        sum.add(m.counts);
    }
    sum
}

fn counts(processed: u64, failed: u64, retried: u64) -> HistoryCounts {
    HistoryCounts {
        processed,
        failed,
        retried,
    }
}

/// Pushes a mix of jobs on `default`; returns the history they must produce.
///
/// 4 succeed (one of them keeping its result: `ack_and_keep`), 3 fail once
/// then succeed, 2 fail on each of their 3 tries, 1 fails fatally:
/// processed 4 + 3, failed 2 + 1, retried 3 + 2 × 2.
async fn dispatch_mix(driver: &Arc<dyn Driver>, key: &str) -> HistoryCounts {
    for i in 0..3 {
        dispatch(driver, key, &format!("ok{i}"), Act::Succeed).await;
    }
    dispatch_with(
        driver,
        key,
        "kept",
        Act::Succeed,
        JobOptions::new().keep_result(Duration::from_secs(60)),
    )
    .await;
    for i in 0..3 {
        dispatch(driver, key, &format!("flaky{i}"), Act::FailUntil(1)).await;
    }
    for i in 0..2 {
        dispatch(driver, key, &format!("bad{i}"), Act::AlwaysFail).await;
    }
    dispatch(driver, key, "fatal", Act::Fatal).await;
    counts(7, 3, 7)
}

/// Polls the history until it sums to `want` (failing after `within_ms`).
async fn wait_for_history(
    driver: &Arc<dyn Driver>,
    from: UnixMinute,
    want: HistoryCounts,
    within_ms: u64,
) {
    let until = Instant::now() + ms(within_ms);
    loop {
        let to = unix_minute(SystemTime::now()) + 1;
        let got = history_sum(driver, "default", from, to).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < until,
            "the history still sums to {got:?}, not {want:?}"
        );
        tokio::time::sleep(ms(20)).await;
    }
}

#[tokio::test]
async fn periodic_flush_writes_exact_counts() {
    let d = memory();
    let key = new_key();
    let start = unix_minute(SystemTime::now()) - 1;
    let want = dispatch_mix(&d, &key).await;
    let w = builder(&d)
        .concurrency(4)
        .history_flush(ms(50))
        .build()
        .unwrap();
    let stats = w.stats();
    let running = spawn_worker(w);
    // Written by the periodic flush while the worker still runs.
    wait_for_history(&d, start, want, 10_000).await;
    let report = running.stop().await;
    let s = report.counts;
    assert_eq!(
        (s.processed, s.failed, s.retried),
        (want.processed, want.failed, want.retried),
        "the worker's own counts agree"
    );
    assert_eq!(stats.snapshot().processed, want.processed);
    let end = unix_minute(SystemTime::now()) + 1;
    assert_eq!(
        history_sum(&d, "default", start, end).await,
        want,
        "the last flush at shutdown adds nothing twice"
    );
    assert_eq!(
        history_sum(&d, "other", start, end).await,
        HistoryCounts::default(),
        "counts go to the job's queue only"
    );
}

#[tokio::test]
async fn shutdown_flush_writes_what_was_counted() {
    let d = memory();
    let key = new_key();
    let start = unix_minute(SystemTime::now()) - 1;
    let want = dispatch_mix(&d, &key).await;
    // The periodic flush never comes: only the last one at shutdown writes.
    let w = builder(&d)
        .concurrency(2)
        .history_flush(Duration::from_secs(3600))
        .stop_when_empty(true)
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(report.counts.processed, want.processed);
    let end = unix_minute(SystemTime::now()) + 1;
    assert_eq!(history_sum(&d, "default", start, end).await, want);
}

#[tokio::test]
async fn shutdown_flush_after_a_shutdown_request() {
    let d = memory();
    let key = new_key();
    let start = unix_minute(SystemTime::now()) - 1;
    let want = dispatch_mix(&d, &key).await;
    let w = builder(&d)
        .concurrency(2)
        .history_flush(Duration::from_secs(3600))
        .build()
        .unwrap();
    let stats = w.stats();
    let running = spawn_worker(w);
    wait_for("every job settled", 10_000, || {
        let s = stats.snapshot();
        (s.processed, s.failed) == (want.processed, want.failed)
    })
    .await;
    let end = unix_minute(SystemTime::now()) + 1;
    assert_eq!(
        history_sum(&d, "default", start, end).await,
        HistoryCounts::default(),
        "nothing is written before the first flush"
    );
    running.stop().await;
    assert_eq!(history_sum(&d, "default", start, end).await, want);
}

#[tokio::test]
async fn failed_flush_keeps_its_counts_for_the_next() {
    let (f, d) = faulty();
    f.faults.record_history.store(1, Ordering::SeqCst);
    let key = new_key();
    let start = unix_minute(SystemTime::now()) - 1;
    for i in 0..4 {
        dispatch(&d, &key, &format!("ok{i}"), Act::Succeed).await;
    }
    let w = builder(&d).history_flush(ms(50)).build().unwrap();
    let running = spawn_worker(w);
    wait_for_history(&d, start, counts(4, 0, 0), 10_000).await;
    assert!(
        Calls::get(&f.calls.record_history) >= 2,
        "the first write failed, a later one wrote its counts"
    );
    assert_eq!(
        f.faults.record_history.load(Ordering::SeqCst),
        0,
        "the injected fault was hit"
    );
    running.stop().await;
    let end = unix_minute(SystemTime::now()) + 1;
    assert_eq!(
        history_sum(&d, "default", start, end).await,
        counts(4, 0, 0),
        "nothing lost, nothing counted twice"
    );
}

#[tokio::test]
async fn history_can_be_turned_off() {
    let (f, d) = faulty();
    let key = new_key();
    let start = unix_minute(SystemTime::now()) - 1;
    dispatch(&d, &key, "ok", Act::Succeed).await;
    let w = builder(&d)
        .record_history(false)
        .history_flush(ms(10))
        .stop_when_empty(true)
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    assert_eq!(report.counts.processed, 1);
    assert_eq!(Calls::get(&f.calls.record_history), 0, "no history written");
    let end = unix_minute(SystemTime::now()) + 1;
    assert_eq!(
        history_sum(&d, "default", start, end).await,
        HistoryCounts::default()
    );
}

#[tokio::test]
async fn zero_flush_interval_is_refused() {
    let d = memory();
    let err = builder(&d)
        .history_flush(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, WorkerError::ZeroDuration(what) if what.contains("history")),
        "{err:?}"
    );
}
