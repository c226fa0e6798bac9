//! Building blocks shared by the rules: jobs to push, checked driver calls and the
//! timing tolerances every rule uses.

use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use crate::{
    unix_ms, Backoff, Codec, Driver, DriverError, Envelope, JobId, PendingJob, QueueName,
    QueueStats, Reservation,
};

/// A lease long enough never to expire during a rule.
pub(super) const LONG_LEASE: Duration = Duration::from_secs(60);
/// A lease a rule waits out on purpose.
pub(super) const SHORT_LEASE: Duration = Duration::from_millis(400);
/// How much earlier than its due time a job may be seen (millisecond rounding,
/// client/server clock reading order).
pub(super) const EARLY_SLACK: Duration = Duration::from_millis(5);
/// How long after its due time a claim may still miss a job.
pub(super) const LATE_SLACK: Duration = Duration::from_millis(100);
/// How long after a push or a due time `wait_for_jobs` may take to return.
pub(super) const WAKE_SLACK: Duration = Duration::from_millis(500);
/// Pause between two polls of `claim`.
pub(super) const POLL: Duration = Duration::from_millis(10);

/// A validated queue name; panics on a bad literal (a bug in the suite).
pub(super) fn queue(name: &str) -> QueueName {
    QueueName::new(name).expect("the suite's queue names are valid")
}

/// An envelope for test job number `n` (JSON data `{"n":n}`).
pub(super) fn envelope(queue: &QueueName, n: u64, max_tries: u32) -> Envelope {
    Envelope {
        id: JobId::generate(),
        name: "conformance.job".into(),
        queue: queue.clone(),
        codec: Codec::Json,
        data: format!("{{\"n\":{n}}}").into_bytes(),
        encryption: None,
        max_tries,
        timeout: Duration::from_secs(30),
        backoff: Backoff::fixed(Duration::from_secs(1)),
        created_at_ms: unix_ms(SystemTime::now()),
        trace: Default::default(),
        keep_result: None,
    }
}

/// A pending job built from [`envelope`], claimable at `at` (`None` = now).
pub(super) fn job(queue: &QueueName, n: u64, max_tries: u32, at: Option<SystemTime>) -> PendingJob {
    PendingJob::new(&envelope(queue, n, max_tries), at).expect("a JSON envelope encodes")
}

/// Unwraps a driver result, naming the call that failed.
pub(super) fn ok<T>(res: Result<T, DriverError>, call: &str) -> T {
    match res {
        Ok(v) => v,
        Err(e) => panic!("{call} failed: {e}"),
    }
}

/// Pushes `job`, checking that the driver returns its id.
pub(super) async fn push_job(driver: &dyn Driver, job: PendingJob) -> JobId {
    let expected = job.id.clone();
    let id = ok(driver.push(job).await, "push");
    assert_eq!(id, expected, "push must return the pushed job's id");
    id
}

/// Pushes a job claimable now.
pub(super) async fn push(driver: &dyn Driver, queue: &QueueName, n: u64, max_tries: u32) -> JobId {
    push_job(driver, job(queue, n, max_tries, None)).await
}

/// Pushes a job claimable at `at`.
pub(super) async fn push_at(
    driver: &dyn Driver,
    queue: &QueueName,
    n: u64,
    at: SystemTime,
) -> JobId {
    push_job(driver, job(queue, n, 3, Some(at))).await
}

/// Claims up to `max` jobs from `queues` with `lease`.
pub(super) async fn claim(
    driver: &dyn Driver,
    queues: &[QueueName],
    max: usize,
    lease: Duration,
) -> Vec<Reservation> {
    let got = ok(driver.claim(queues, max, lease).await, "claim");
    assert!(
        got.len() <= max,
        "claim(max = {max}) returned {} reservations",
        got.len()
    );
    got
}

/// Claims exactly one job from `queue`, panicking with `what` when there is none.
pub(super) async fn claim_one(driver: &dyn Driver, queue: &QueueName, what: &str) -> Reservation {
    let mut got = claim(driver, std::slice::from_ref(queue), 1, LONG_LEASE).await;
    assert_eq!(
        got.len(),
        1,
        "{what}: expected one claimable job on {queue}"
    );
    got.remove(0)
}

/// Asserts that nothing is claimable on `queue`.
pub(super) async fn assert_nothing_claimable(driver: &dyn Driver, queue: &QueueName, what: &str) {
    let got = claim(driver, std::slice::from_ref(queue), 10, LONG_LEASE).await;
    assert!(
        got.is_empty(),
        "{what}: nothing should be claimable on {queue}, got {:?}",
        ids(&got)
    );
}

/// The job ids of `reservations`, in order.
pub(super) fn ids(reservations: &[Reservation]) -> Vec<JobId> {
    reservations
        .iter()
        .map(|r| r.lease.job_id.clone())
        .collect()
}

/// The stats of `queue`.
pub(super) async fn stats(driver: &dyn Driver, queue: &QueueName) -> QueueStats {
    let s = ok(driver.stats(queue).await, "stats");
    assert_eq!(
        s.queue,
        queue.as_str(),
        "stats must name the queue asked for"
    );
    s
}

/// Asserts the four counts of `queue` after `step`, and that `oldest_ready_age` is
/// present exactly when something is ready.
pub(super) async fn assert_counts(
    driver: &dyn Driver,
    queue: &QueueName,
    (ready, delayed, reserved, failed): (u64, u64, u64, u64),
    step: &str,
) -> QueueStats {
    let s = stats(driver, queue).await;
    let got = (s.ready, s.delayed, s.reserved, s.failed);
    assert_eq!(
        got,
        (ready, delayed, reserved, failed),
        "{step}: stats of {queue} as (ready, delayed, reserved, failed)"
    );
    assert_eq!(
        s.oldest_ready_age.is_some(),
        ready > 0,
        "{step}: oldest_ready_age must be Some exactly when ready > 0, got {:?}",
        s.oldest_ready_age
    );
    s
}

/// Asserts that `res` is `LeaseLost` for `id`.
pub(super) fn expect_lease_lost<T: Debug>(res: Result<T, DriverError>, id: &JobId, call: &str) {
    match res {
        Err(DriverError::LeaseLost { job_id }) => {
            assert_eq!(&job_id, id, "{call}: LeaseLost names the wrong job")
        }
        other => panic!("{call} by a stale owner must fail with LeaseLost, got {other:?}"),
    }
}

/// Milliseconds from `a` to `b` (negative when `b` is earlier).
pub(super) fn ms_between(a: SystemTime, b: SystemTime) -> i64 {
    unix_ms(b) - unix_ms(a)
}

/// Sleeps until the wall clock reaches `t`.
pub(super) async fn sleep_until(t: SystemTime) {
    if let Ok(d) = t.duration_since(SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
}

/// Polls `claim` on `queue` until the one job there is claimed, checking that it
/// is not claimable before `due` and is claimable by `due + LATE_SLACK`.
pub(super) async fn claim_when_due(
    driver: &dyn Driver,
    queue: &QueueName,
    due: SystemTime,
    what: &str,
) -> Reservation {
    let mut probes_before_due = 0u32;
    loop {
        let started = SystemTime::now();
        let mut got = claim(driver, std::slice::from_ref(queue), 1, LONG_LEASE).await;
        let finished = SystemTime::now();
        if let Some(r) = got.pop() {
            assert!(
                finished + EARLY_SLACK >= due,
                "{what}: the job was claimable {} ms before its due time",
                ms_between(finished, due)
            );
            assert!(
                probes_before_due > 0,
                "{what}: no claim ran before the due time, so the delay was not checked \
                 (the machine stalled for the whole delay)"
            );
            return r;
        }
        if finished + EARLY_SLACK < due {
            probes_before_due += 1;
        }
        assert!(
            started < due + LATE_SLACK,
            "{what}: the job was still not claimable {} ms after its due time",
            ms_between(due, started)
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Pushes a job to `queue`, claims it and fails it with `error`; returns its id.
pub(super) async fn fail_new(driver: &dyn Driver, queue: &QueueName, n: u64, error: &str) -> JobId {
    let id = push(driver, queue, n, 3).await;
    let r = claim_one(driver, queue, "claim a job to fail").await;
    assert_eq!(r.lease.job_id, id, "the job just pushed is the one claimed");
    ok(driver.fail(&r.lease, error).await, "fail");
    id
}
