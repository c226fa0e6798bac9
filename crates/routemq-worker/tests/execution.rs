//! Per-job behaviour: success, retries, backoff, fatal errors, the failed hook,
//! panics, timeouts, overrides, and jobs that cannot run at all.

mod common;

use std::time::Duration;

use common::*;
use routemq_core::{Backoff, JobOptions, PendingJob};
use routemq_worker::StopReason;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_job_runs_once_and_is_acked() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Succeed).await;
    let report = run_until_empty(&d).await;
    assert_eq!(report.stop_reason, StopReason::Empty);
    assert_eq!(
        (
            report.counts.processed,
            report.counts.failed,
            report.counts.retried
        ),
        (1, 0, 0)
    );
    assert_eq!(probe(&key).runs(), 1);
    let s = stats(&d, "default").await;
    assert_eq!((s.ready, s.reserved, s.delayed, s.failed), (0, 0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_job_is_retried_until_it_succeeds() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::FailUntil(2)).await;
    let report = run_until_empty(&d).await;
    assert_eq!(
        (
            report.counts.processed,
            report.counts.retried,
            report.counts.failed
        ),
        (1, 2, 0)
    );
    let attempts: Vec<u32> = probe(&key).attempt_times().iter().map(|a| a.0).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert_eq!(
        probe(&key)
            .hook_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_eq!(stats(&d, "default").await.reserved, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_tries_calls_the_hook_then_stores_the_last_error() {
    let d = memory();
    let key = new_key();
    let id = dispatch(&d, &key, "a", Act::AlwaysFail).await;
    let report = run_until_empty(&d).await;
    assert_eq!(
        (
            report.counts.processed,
            report.counts.retried,
            report.counts.failed
        ),
        (0, 2, 1)
    );
    let p = probe(&key);
    assert_eq!(p.runs(), 3);
    assert_eq!(
        *p.hook_errors.lock().unwrap(),
        vec!["always fails".to_owned()]
    );
    let failed = failed_jobs(&d).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, id);
    assert_eq!(failed[0].exception, "always fails");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fatal_error_skips_remaining_tries() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Fatal).await;
    let report = run_until_empty(&d).await;
    assert_eq!((report.counts.retried, report.counts.failed), (0, 1));
    assert_eq!(probe(&key).runs(), 1);
    assert_eq!(failed_jobs(&d).await[0].exception, "fatal problem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_waits_for_the_jobs_backoff() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().backoff(Backoff::fixed(ms(300)));
    dispatch_with(&d, &key, "a", Act::FailUntil(1), opts).await;
    let w = builder(&d).stop_when_empty(false).build().unwrap();
    let stats_handle = w.stats();
    let run = spawn_worker(w);
    wait_for("first attempt retried", 2_000, || {
        stats_handle.snapshot().retried == 1
    })
    .await;
    let s = stats(&d, "default").await;
    assert_eq!(
        (s.delayed, s.ready, s.reserved),
        (1, 0, 0),
        "the retry waits as delayed"
    );
    wait_for("second attempt done", 2_000, || probe(&key).done() == 1).await;
    let report = run.stop().await;
    assert_eq!(report.counts.processed, 1);
    let times = probe(&key).attempt_times();
    let gap = times[1].1 - times[0].1;
    assert!(
        gap >= ms(290),
        "second attempt after {gap:?}, backoff is 300 ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_overrides_the_backoff() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().max_tries(2);
    dispatch_with(&d, &key, "a", Act::RetryAfter(250), opts).await;
    let w = builder(&d).build().unwrap();
    let stats_handle = w.stats();
    let run = spawn_worker(w);
    wait_for("second attempt failed", 2_000, || {
        stats_handle.snapshot().failed == 1
    })
    .await;
    let report = run.stop().await;
    assert_eq!((report.counts.retried, report.counts.failed), (1, 1));
    let times = probe(&key).attempt_times();
    let gap = times[1].1 - times[0].1;
    assert!(
        gap >= ms(240),
        "second attempt after {gap:?}, asked for 250 ms"
    );
    assert_eq!(failed_jobs(&d).await[0].exception, "come back later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_is_a_failure_with_its_message() {
    let d = memory();
    let key = new_key();
    dispatch_with(&d, &key, "a", Act::Panic, JobOptions::new().max_tries(2)).await;
    let report = run_until_empty(&d).await;
    assert_eq!(
        (report.counts.retried, report.counts.failed),
        (1, 1),
        "a panic is retried like an error"
    );
    assert_eq!(failed_jobs(&d).await[0].exception, "panicked: boom");
    assert_eq!(
        *probe(&key).hook_errors.lock().unwrap(),
        vec!["panicked: boom".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_in_failed_hook_still_stores_the_job() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::FatalWithPanickingHook).await;
    let report = run_until_empty(&d).await;
    assert_eq!(report.counts.failed, 1);
    assert_eq!(
        probe(&key)
            .hook_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    let failed = failed_jobs(&d).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].exception, "fatal, hook panics");
}

#[tokio::test(start_paused = true)]
async fn timeout_drops_the_running_future() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().max_tries(1).timeout(ms(200));
    dispatch_with(&d, &key, "a", Act::Tick(10), opts).await;
    let report = run_until_empty(&d).await;
    assert_eq!((report.counts.failed, report.counts.timed_out), (1, 1));
    let p = probe(&key);
    let ticks = p.ticks();
    assert!(ticks >= 5, "the job ran before its timeout ({ticks} ticks)");
    // The clock is paused: 10 ms ticks in a 200 ms timeout are exactly 20 or 21.
    assert!(ticks <= 21, "the job ran past its timeout ({ticks} ticks)");
    tokio::time::sleep(ms(200)).await;
    assert_eq!(p.ticks(), ticks, "the job kept running after its timeout");
    assert_eq!(p.running(), 0);
    assert_eq!(failed_jobs(&d).await[0].exception, "timed out after 200ms");
    assert_eq!(
        *p.hook_errors.lock().unwrap(),
        vec!["timed out after 200ms".to_owned()]
    );
}

#[tokio::test(start_paused = true)]
async fn timeout_is_retried_while_tries_remain() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().max_tries(2).timeout(ms(100));
    dispatch_with(&d, &key, "a", Act::Tick(10), opts).await;
    let report = run_until_empty(&d).await;
    assert_eq!(
        (
            report.counts.retried,
            report.counts.failed,
            report.counts.timed_out
        ),
        (1, 1, 2)
    );
    assert_eq!(probe(&key).runs(), 2);
}

#[tokio::test(start_paused = true)]
async fn timeout_and_tries_overrides_replace_the_jobs_own() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new()
        .max_tries(5)
        .timeout(Duration::from_secs(60));
    dispatch_with(&d, &key, "a", Act::Tick(10), opts).await;
    let w = builder(&d)
        .timeout_override(Some(ms(150)))
        .tries_override(Some(1))
        .stop_when_empty(true)
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    assert_eq!((report.counts.retried, report.counts.failed), (0, 1));
    assert_eq!(failed_jobs(&d).await[0].exception, "timed out after 150ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_job_goes_to_failed_store_naming_it() {
    let d = memory();
    let id = dispatch_raw(&d, "nobody.knows", br#"{"x":1}"#).await;
    let report = run_until_empty(&d).await;
    assert_eq!((report.counts.failed, report.counts.retried), (1, 0));
    let failed = failed_jobs(&d).await;
    assert_eq!(failed[0].id, id);
    let reason = &failed[0].exception;
    assert!(
        reason.contains("\"nobody.knows\"") && reason.contains("test.scripted"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_payload_goes_to_failed_store() {
    let d = memory();
    let id = routemq_core::JobId::generate();
    d.push(PendingJob {
        id: id.clone(),
        queue: qn("default"),
        max_tries: 3,
        payload: b"\x00\x01 not an envelope".to_vec(),
        available_at: None,
        group: None,
    })
    .await
    .unwrap();
    let report = run_until_empty(&d).await;
    assert_eq!((report.counts.failed, report.counts.retried), (1, 0));
    let failed = failed_jobs(&d).await;
    assert_eq!(failed[0].id, id);
    assert_eq!(
        failed[0].payload, b"\x00\x01 not an envelope",
        "payload kept byte for byte"
    );
    assert!(
        failed[0].exception.contains("job envelope"),
        "{}",
        failed[0].exception
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_that_does_not_fit_the_type_goes_to_failed_store() {
    let d = memory();
    dispatch_raw(&d, "test.scripted", br#"{"wrong":true}"#).await;
    let report = run_until_empty(&d).await;
    assert_eq!(report.counts.failed, 1);
    let reason = &failed_jobs(&d).await[0].exception;
    assert!(reason.contains("job data of \"test.scripted\""), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_jobs_run_too() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().codec(routemq_core::Codec::MsgPack);
    dispatch_with(&d, &key, "a", Act::Succeed, opts).await;
    let report = run_until_empty(&d).await;
    assert_eq!(report.counts.processed, 1);
    assert_eq!(probe(&key).done(), 1);
}

#[tokio::test(start_paused = true)]
async fn zero_timeout_means_no_limit() {
    let d = memory();
    let key = new_key();
    let opts = JobOptions::new().timeout(Duration::ZERO);
    dispatch_with(&d, &key, "a", Act::Sleep(100), opts).await;
    let report = run_until_empty(&d).await;
    assert_eq!((report.counts.processed, report.counts.timed_out), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn ack_follows_success_within_milliseconds() {
    let d = memory();
    let key = new_key();
    dispatch(&d, &key, "a", Act::Succeed).await;
    let w = builder(&d).sleep(Duration::from_secs(3)).build().unwrap();
    let run = tokio::spawn(run_for(w, 500));
    wait_for("job done", 2_000, || probe(&key).done() == 1).await;
    let done = tokio::time::Instant::now();
    loop {
        let s = stats(&d, "default").await;
        if s.reserved == 0 {
            break;
        }
        assert!(
            done.elapsed() < ms(50),
            "ack still pending {:?} after success",
            done.elapsed()
        );
        tokio::time::sleep(ms(1)).await;
    }
    assert_eq!(run.await.unwrap().counts.processed, 1);
}
