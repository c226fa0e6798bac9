//! Rules about time: delays, delayed releases and `wait_for_jobs`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;

use super::super::fixture::{
    assert_counts, assert_nothing_claimable, claim, claim_one, claim_when_due, ms_between, ok,
    push, push_at, queue, EARLY_SLACK, LONG_LEASE, WAKE_SLACK,
};
use super::super::DriverFactory;
use crate::{Driver, JobId, QueueName};

/// The timeout given to `wait_for_jobs`: far longer than any bound checked.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A job dispatched with a 300 ms delay is not claimable before its due time (and
/// in particular not at ~200 ms) and is claimable within 100 ms after it.
pub async fn delay_precision(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("delayed");
    let due = SystemTime::now() + Duration::from_millis(300);
    let id = push_at(d, &q, 1, due).await;
    assert_counts(d, &q, (0, 1, 0, 0), "a job delayed by 300 ms").await;
    let r = claim_when_due(d, &q, due, "a job delayed by 300 ms").await;
    assert_eq!(r.lease.job_id, id);
    assert_eq!(r.attempt, 1, "a delayed job's first claim is attempt 1");
    assert_counts(d, &q, (0, 0, 1, 0), "the delayed job claimed").await;

    let past = push_at(d, &q, 2, SystemTime::now() - Duration::from_secs(3600)).await;
    assert_counts(d, &q, (1, 0, 1, 0), "a job due an hour ago").await;
    let r = claim_one(d, &q, "a job due in the past is claimable at once").await;
    assert_eq!(r.lease.job_id, past);
}

/// What a waiting worker saw.
struct Woken {
    job: JobId,
    claimed_at: SystemTime,
    waits: u32,
}

/// Claims one job from `queue` the way a worker does: claim, and when there is
/// nothing, `wait_for_jobs` and claim again. Signals `ready` before its first wait.
async fn wait_then_claim(
    driver: Arc<dyn Driver>,
    queue: QueueName,
    ready: oneshot::Sender<()>,
) -> Woken {
    let qs = std::slice::from_ref(&queue);
    let started = SystemTime::now();
    let mut ready = Some(ready);
    let mut waits = 0;
    loop {
        let got = claim(driver.as_ref(), qs, 1, LONG_LEASE).await;
        if let Some(r) = got.into_iter().next() {
            return Woken {
                job: r.lease.job_id,
                claimed_at: SystemTime::now(),
                waits,
            };
        }
        assert!(
            SystemTime::now() < started + WAIT_TIMEOUT,
            "no job arrived within {WAIT_TIMEOUT:?}"
        );
        if let Some(tx) = ready.take() {
            let _ = tx.send(());
        }
        ok(
            driver.wait_for_jobs(qs, WAIT_TIMEOUT).await,
            "wait_for_jobs",
        );
        waits += 1;
    }
}

/// Starts a waiting worker on `queue` and returns once it is waiting.
async fn start_waiter(
    driver: &Arc<dyn Driver>,
    queue: &QueueName,
) -> tokio::task::JoinHandle<Woken> {
    let (tx, rx) = oneshot::channel();
    let waiter = tokio::spawn(wait_then_claim(driver.clone(), queue.clone(), tx));
    rx.await.expect("the waiter reaches wait_for_jobs");
    // Give it time to be inside wait_for_jobs.
    tokio::time::sleep(Duration::from_millis(200)).await;
    waiter
}

/// `wait_for_jobs` returns promptly (well under its timeout) after another task
/// pushes a job, and does not spin while there is nothing to do.
pub async fn wait_for_jobs_wakes_on_push(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let q = queue("waiting");
    let waiter = start_waiter(&driver, &q).await;
    let pushed_at = SystemTime::now();
    let id = push(driver.as_ref(), &q, 1, 3).await;
    let woken = waiter.await.expect("the waiter does not panic");
    assert_eq!(woken.job, id);
    let took = ms_between(pushed_at, woken.claimed_at);
    assert!(
        took <= WAKE_SLACK.as_millis() as i64,
        "a waiting worker got a pushed job only {took} ms after the push \
         (wait_for_jobs should return within a few ms of a push)"
    );
    assert!(
        woken.waits <= 40,
        "wait_for_jobs returned {} times in ~200 ms with nothing to do: it must wait, not spin",
        woken.waits
    );
}

/// `wait_for_jobs` returns around a delayed job's due time, whether the job was
/// delayed before the wait began or pushed (delayed) while it was waiting.
pub async fn wait_for_jobs_returns_around_due_time(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let q = queue("waiting_delayed");

    for pushed_during_wait in [false, true] {
        let what = if pushed_during_wait {
            "a job delayed by 300 ms pushed while waiting"
        } else {
            "a job delayed by 500 ms pushed before waiting"
        };
        let (waiter, due, id) = if pushed_during_wait {
            let waiter = start_waiter(&driver, &q).await;
            let due = SystemTime::now() + Duration::from_millis(300);
            let id = push_at(driver.as_ref(), &q, 2, due).await;
            (waiter, due, id)
        } else {
            let due = SystemTime::now() + Duration::from_millis(500);
            let id = push_at(driver.as_ref(), &q, 1, due).await;
            let (tx, _rx) = oneshot::channel();
            let waiter = tokio::spawn(wait_then_claim(driver.clone(), q.clone(), tx));
            (waiter, due, id)
        };
        let woken = waiter.await.expect("the waiter does not panic");
        assert_eq!(woken.job, id, "{what}");
        assert!(
            woken.claimed_at + EARLY_SLACK >= due,
            "{what}: claimed {} ms before its due time",
            ms_between(woken.claimed_at, due)
        );
        let late = ms_between(due, woken.claimed_at);
        assert!(
            late <= WAKE_SLACK.as_millis() as i64,
            "{what}: a waiting worker got it {late} ms after its due time \
             (wait_for_jobs should return around the due time)"
        );
    }
}

/// `release` with a delay: not claimable before the delay has passed, claimable
/// soon after, with the attempt count kept.
pub async fn release_with_delay(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("released");
    let id = push(d, &q, 1, 3).await;
    let r = claim_one(d, &q, "the pushed job").await;
    let due = SystemTime::now() + Duration::from_millis(300);
    ok(
        d.release(&r.lease, Duration::from_millis(300)).await,
        "release(300 ms)",
    );
    assert_nothing_claimable(d, &q, "right after release(300 ms)").await;
    assert_counts(d, &q, (0, 1, 0, 0), "after release(300 ms)").await;
    let again = claim_when_due(d, &q, due, "a job released with a 300 ms delay").await;
    assert_eq!(again.lease.job_id, id);
    assert_eq!(again.attempt, 2, "the claim after a release is attempt 2");
    assert_eq!(again.payload, r.payload, "release keeps the payload");
    ok(d.ack(&again.lease).await, "ack");
    assert_counts(d, &q, (0, 0, 0, 0), "after ack").await;
}
