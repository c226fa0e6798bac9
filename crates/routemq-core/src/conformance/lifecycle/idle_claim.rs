//! Rules of `wait_and_claim`, an idle worker's wait and the claim after it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::super::fixture::{
    assert_counts, ms_between, ok, push, queue, LATE_SLACK, LONG_LEASE, WAKE_SLACK,
};
use super::super::DriverFactory;
use crate::{Driver, QueueName, Reservation};

/// The timeout of the waits that a push or `stop` must end: far longer than any
/// bound checked.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts `wait_and_claim` of up to `max` jobs on `queue` in a task; returns it
/// and the instant it returned.
fn start(
    driver: &Arc<dyn Driver>,
    queue: &QueueName,
    max: usize,
    timeout: Duration,
    stop: &CancellationToken,
) -> tokio::task::JoinHandle<(Vec<Reservation>, SystemTime)> {
    let (driver, queue, stop) = (driver.clone(), queue.clone(), stop.clone());
    tokio::spawn(async move {
        let got = ok(
            driver
                .wait_and_claim(
                    std::slice::from_ref(&queue),
                    max,
                    LONG_LEASE,
                    timeout,
                    &stop,
                )
                .await,
            "wait_and_claim",
        );
        (got, SystemTime::now())
    })
}

/// Waiting workers get a job pushed while they wait within a few ms of the push,
/// exactly one of them (leased, attempt 1); the others keep waiting until
/// `stop`, which ends their wait at once with nothing claimed.
pub async fn wait_and_claim_gets_a_pushed_job_once(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let q = queue("idle_claim");
    let stop = CancellationToken::new();
    let waiters: Vec<_> = (0..3)
        .map(|_| start(&driver, &q, 4, WAIT_TIMEOUT, &stop))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        waiters.iter().all(|w| !w.is_finished()),
        "wait_and_claim returned on an empty queue before its timeout or a push"
    );
    let pushed_at = SystemTime::now();
    let id = push(driver.as_ref(), &q, 1, 3).await;
    let deadline = Instant::now() + WAKE_SLACK + LATE_SLACK;
    while !waiters.iter().any(|w| w.is_finished()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Whoever did not get the job is still waiting: stop them.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopped_at = SystemTime::now();
    stop.cancel();
    let mut got = Vec::new();
    for w in waiters {
        let (jobs, at) = w.await.expect("a waiter does not panic");
        if jobs.is_empty() {
            let took = ms_between(stopped_at, at);
            assert!(
                took <= WAKE_SLACK.as_millis() as i64,
                "wait_and_claim returned {took} ms after stop fired"
            );
        } else {
            let took = ms_between(pushed_at, at);
            assert!(
                took <= WAKE_SLACK.as_millis() as i64,
                "a waiting worker got a pushed job only {took} ms after the push"
            );
        }
        got.extend(jobs);
    }
    assert_eq!(got.len(), 1, "one pushed job, three waiters: {got:?}");
    assert_eq!(got[0].lease.job_id, id);
    assert_eq!(got[0].attempt, 1, "the first claim of a job is attempt 1");
    assert_counts(
        driver.as_ref(),
        &q,
        (0, 0, 1, 0),
        "the job claimed by a waiter",
    )
    .await;
}

/// With jobs ready, `wait_and_claim` claims at once (up to `max`); on an empty
/// queue it returns nothing around its timeout, neither much before nor after;
/// a `stop` that fired before the call claims nothing, even with jobs ready.
pub async fn wait_and_claim_claims_ready_jobs_and_keeps_its_timeout(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let q = queue("idle_claim_ready");
    for n in 1..=3 {
        push(driver.as_ref(), &q, n, 3).await;
    }
    let stopped = CancellationToken::new();
    stopped.cancel();
    let (got, _) = start(&driver, &q, 2, WAIT_TIMEOUT, &stopped)
        .await
        .expect("no panic");
    assert!(got.is_empty(), "a stopped wait_and_claim claimed {got:?}");
    assert_counts(
        driver.as_ref(),
        &q,
        (3, 0, 0, 0),
        "a stopped wait_and_claim",
    )
    .await;

    let started = SystemTime::now();
    let stop = CancellationToken::new();
    let (got, at) = start(&driver, &q, 2, WAIT_TIMEOUT, &stop)
        .await
        .expect("no panic");
    assert_eq!(got.len(), 2, "three jobs ready, max 2: {got:?}");
    assert!(
        ms_between(started, at) <= WAKE_SLACK.as_millis() as i64,
        "wait_and_claim waited with jobs ready"
    );
    assert_counts(driver.as_ref(), &q, (1, 0, 2, 0), "two of three claimed").await;

    let empty = queue("idle_claim_empty");
    let timeout = Duration::from_millis(400);
    let started = SystemTime::now();
    let (got, at) = start(&driver, &empty, 2, timeout, &stop)
        .await
        .expect("no panic");
    assert!(got.is_empty(), "an empty queue gave {got:?}");
    let took = ms_between(started, at);
    assert!(
        took >= 200,
        "wait_and_claim on an empty queue returned after {took} ms, well before its 400 ms timeout: an idle worker would spin"
    );
    assert!(
        took <= (timeout + WAKE_SLACK).as_millis() as i64,
        "wait_and_claim on an empty queue returned {took} ms after it began, long past its 400 ms timeout"
    );
}
