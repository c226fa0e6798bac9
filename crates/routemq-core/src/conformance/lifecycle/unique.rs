//! Rules of unique jobs and debounce
//! ([`JobLifecycle::push_unique`](crate::JobLifecycle::push_unique)): duplicates,
//! concurrent dispatches, each scope's release point, and debounce.

use std::time::{Duration, SystemTime};

use tokio::task::JoinSet;

use super::super::fixture::{
    assert_counts, assert_nothing_claimable, claim, claim_one, claim_when_due, expect_lease_lost,
    job, ok, queue, sleep_until, LONG_LEASE, SHORT_LEASE,
};
use super::super::DriverFactory;
use crate::{
    Dispatched, Driver, JobId, PendingJob, QueueName, ReclaimReport, UniqueKey, UniqueScope,
    Uniqueness,
};

/// Uniqueness under `key` with `scope`, without debounce.
fn unique(key: &str, scope: UniqueScope) -> Uniqueness {
    Uniqueness {
        key: UniqueKey::new(key).expect("the suite's keys are valid"),
        scope,
        debounce: None,
    }
}

/// `push_unique`, checked: a stored job comes back under its own id.
async fn dispatch(d: &dyn Driver, pending: PendingJob, u: &Uniqueness) -> Dispatched {
    let own = pending.id.clone();
    let got = ok(d.push_unique(pending, u).await, "push_unique");
    if !got.duplicate {
        assert_eq!(
            got.id, own,
            "a stored unique job keeps the id it was pushed with"
        );
        assert!(!got.debounced, "debounced implies duplicate: {got:?}");
    }
    got
}

/// Dispatches job `n` under `u` and asserts it was stored (the key was free).
async fn stored(d: &dyn Driver, q: &QueueName, n: u64, u: &Uniqueness, what: &str) -> JobId {
    let got = dispatch(d, job(q, n, 3, None), u).await;
    assert!(!got.duplicate, "{what}: the key {} should be free", u.key);
    got.id
}

/// Dispatches job `n` under `u` and asserts it was a duplicate of `holder`.
async fn duplicate(
    d: &dyn Driver,
    q: &QueueName,
    n: u64,
    u: &Uniqueness,
    holder: &JobId,
    what: &str,
) {
    let got = dispatch(d, job(q, n, 3, None), u).await;
    assert!(
        got.duplicate && !got.debounced,
        "{what}: the key {} should be held by {holder}, got {got:?}",
        u.key
    );
    assert_eq!(
        &got.id, holder,
        "{what}: a duplicate returns the holder's id"
    );
}

/// A duplicate returns the holder's id, stores nothing and leaves the holder's
/// data alone; other keys, and the same key on another queue, are free.
pub async fn unique_duplicate_returns_the_existing_id(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("unique_dup");
    let other = queue("unique_dup_other");
    let u = unique("report:42", UniqueScope::UntilFinished);
    let first = job(&q, 1, 3, None);
    let payload = first.payload.clone();
    let id = dispatch(d, first, &u).await;
    assert!(!id.duplicate, "the first dispatch of a key stores the job");
    duplicate(d, &q, 2, &u, &id.id, "the same key again").await;
    duplicate(d, &q, 3, &u, &id.id, "and again").await;
    assert_counts(
        d,
        &q,
        (1, 0, 0, 0),
        "one job for three dispatches of one key",
    )
    .await;
    let another = stored(
        d,
        &q,
        4,
        &unique("report:43", UniqueScope::UntilFinished),
        "another key",
    )
    .await;
    assert_ne!(another, id.id);
    stored(d, &other, 5, &u, "the same key on another queue").await;
    let r = claim_one(d, &q, "the first job").await;
    assert_eq!(r.lease.job_id, id.id, "the holder is the first job");
    assert_eq!(
        r.payload, payload,
        "a duplicate leaves the holder's data alone"
    );
    assert_counts(d, &other, (1, 0, 0, 0), "the other queue").await;
}

/// 32 concurrent dispatches of one key store exactly one job; every one returns
/// its id and 31 say duplicate.
pub async fn unique_concurrent_dispatches_store_one_job(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let q = queue("unique_race");
    let u = unique("race", UniqueScope::UntilFinished);
    let mut tasks = JoinSet::new();
    for n in 0..32 {
        let (d, q, u) = (driver.clone(), q.clone(), u.clone());
        tasks.spawn(async move { ok(d.push_unique(job(&q, n, 3, None), &u).await, "push_unique") });
    }
    let mut got = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        got.push(joined.expect("a dispatch task panicked"));
    }
    let stored: Vec<_> = got.iter().filter(|g| !g.duplicate).collect();
    assert_eq!(
        stored.len(),
        1,
        "exactly one of 32 dispatches stores the job: {got:?}"
    );
    let id = &stored[0].id;
    assert!(
        got.iter().all(|g| &g.id == id),
        "every dispatch returns the one job's id: {got:?}"
    );
    assert_counts(
        driver.as_ref(),
        &q,
        (1, 0, 0, 0),
        "after 32 concurrent dispatches",
    )
    .await;
}

/// `UntilStarted`: the key is free once the job is claimed; the old job's ack
/// does not release the new holder's lock.
pub async fn unique_until_started_releases_at_claim(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("unique_started");
    let u = unique("started", UniqueScope::UntilStarted);
    let first = stored(d, &q, 1, &u, "first dispatch").await;
    duplicate(d, &q, 2, &u, &first, "before the claim").await;
    let running = claim_one(d, &q, "the first job").await;
    assert_eq!(running.lease.job_id, first);
    let second = stored(d, &q, 3, &u, "while the first job runs").await;
    assert_ne!(second, first);
    ok(d.ack(&running.lease).await, "ack of the first job");
    duplicate(d, &q, 4, &u, &second, "after the first job's ack").await;
    assert_counts(d, &q, (1, 0, 0, 0), "the second job waits").await;
}

/// `UntilFinished`: the key stays held while the job runs and through a retry
/// (`release`), and is free after its ack.
pub async fn unique_until_finished_holds_until_ack(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("unique_finished");
    let u = unique("finished", UniqueScope::UntilFinished);
    let id = stored(d, &q, 1, &u, "first dispatch").await;
    let r = claim_one(d, &q, "the job").await;
    duplicate(d, &q, 2, &u, &id, "while it runs").await;
    ok(
        d.release(&r.lease, Duration::ZERO).await,
        "release (a retry)",
    );
    duplicate(d, &q, 3, &u, &id, "after a retry").await;
    let r = claim_one(d, &q, "the retried job").await;
    assert_eq!((r.lease.job_id.clone(), r.attempt), (id.clone(), 2));
    ok(d.ack(&r.lease).await, "ack");
    let next = stored(d, &q, 4, &u, "after the ack").await;
    assert_ne!(next, id);
    let outcome = ok(
        d.ack_batch(&[claim_one(d, &q, "the next job").await.lease])
            .await,
        "ack_batch",
    );
    assert_eq!(outcome.acked, 1);
    stored(d, &q, 5, &u, "after an ack_batch").await;
}

/// `UntilFinished`: the key is free once the job fails for good; a failed job
/// retried from the failed store runs without a lock.
pub async fn unique_until_finished_releases_on_final_fail(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("unique_failed");
    let u = unique("failing", UniqueScope::UntilFinished);
    let id = stored(d, &q, 1, &u, "first dispatch").await;
    let r = claim_one(d, &q, "the job").await;
    ok(d.fail(&r.lease, "for good").await, "fail");
    let next = stored(d, &q, 2, &u, "after the job failed").await;
    assert!(
        ok(d.failed_retry(&id).await, "failed_retry"),
        "the failed job is retried"
    );
    duplicate(d, &q, 3, &u, &next, "after a failed job was retried").await;
    assert_counts(d, &q, (2, 0, 0, 0), "the retried job and the new one").await;
}

/// A reclaimed lease with tries left keeps the key (the job still exists and
/// will run); a reclaim that fails the job, out of tries, releases it.
pub async fn unique_lock_follows_a_reclaimed_lease(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("unique_reclaim");
    let qs = std::slice::from_ref(&q);
    let u = unique("reclaimed", UniqueScope::UntilFinished);
    let got = dispatch(d, job(&q, 1, 2, None), &u).await;
    assert!(!got.duplicate);
    for attempt in 1..=2u32 {
        let r = claim(d, qs, 1, SHORT_LEASE)
            .await
            .pop()
            .expect("the unique job");
        assert_eq!(
            (r.lease.job_id.clone(), r.attempt),
            (got.id.clone(), attempt)
        );
        sleep_until(r.lease.expires_at + Duration::from_millis(150)).await;
        let report = ok(d.reclaim_expired(qs).await, "reclaim_expired");
        if attempt == 1 {
            assert_eq!(
                report,
                ReclaimReport {
                    released: 1,
                    failed: 0
                }
            );
            duplicate(d, &q, 2, &u, &got.id, "after a reclaim with tries left").await;
        } else {
            assert_eq!(
                report,
                ReclaimReport {
                    released: 0,
                    failed: 1
                }
            );
            expect_lease_lost(
                d.ack(&r.lease).await,
                &got.id,
                "ack after the reclaim failed the job",
            );
        }
    }
    stored(d, &q, 3, &u, "after the reclaim failed the job").await;
}

/// `clear` releases the keys of the jobs it deletes, waiting or running.
pub async fn unique_lock_released_by_clear(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("unique_clear");
    let waiting = unique("waiting", UniqueScope::UntilFinished);
    let running = unique("running", UniqueScope::For(LONG_LEASE));
    let later = SystemTime::now() + Duration::from_secs(60);
    assert!(
        !dispatch(d, job(&q, 1, 3, Some(later)), &waiting)
            .await
            .duplicate
    );
    let held = stored(d, &q, 2, &running, "the job to run").await;
    let r = claim(d, std::slice::from_ref(&q), 1, LONG_LEASE)
        .await
        .pop()
        .expect("ready job");
    assert_eq!(r.lease.job_id, held);
    assert_eq!(ok(d.clear(&q).await, "clear"), 2);
    stored(d, &q, 3, &waiting, "a waiting job's key after clear").await;
    let holder = stored(d, &q, 4, &running, "a running job's key after clear").await;
    expect_lease_lost(d.ack(&r.lease).await, &held, "ack after clear");
    duplicate(
        d,
        &q,
        5,
        &running,
        &holder,
        "the cleared job's ack leaves the new lock",
    )
    .await;
}

/// `For(d)`: the key is free after `d` even while its job exists (the old job's
/// ack then leaves the new holder's lock alone), and at once when its job is
/// acked before `d`.
pub async fn unique_for_duration_expires_and_goes_with_its_job(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("unique_for");
    let short = unique("short", UniqueScope::For(Duration::from_millis(600)));
    let started = SystemTime::now();
    let first = stored(d, &q, 1, &short, "first dispatch").await;
    let r = claim_one(d, &q, "the first job").await;
    if SystemTime::now() < started + Duration::from_millis(450) {
        duplicate(d, &q, 2, &short, &first, "within the duration").await;
    }
    sleep_until(started + Duration::from_millis(750)).await;
    let second = stored(
        d,
        &q,
        3,
        &short,
        "after the duration, the first job still running",
    )
    .await;
    ok(d.ack(&r.lease).await, "ack of the first job");
    duplicate(d, &q, 4, &short, &second, "after the first job's ack").await;

    let long = unique("long", UniqueScope::For(Duration::from_secs(600)));
    let held = stored(d, &q, 5, &long, "a long lock").await;
    let r = claim(d, std::slice::from_ref(&q), 2, LONG_LEASE).await;
    let r = r
        .into_iter()
        .find(|r| r.lease.job_id == held)
        .expect("the long lock's job");
    ok(d.ack(&r.lease).await, "ack");
    stored(d, &q, 6, &long, "a long lock after its job's ack").await;
}

/// Debounce: a dispatch that finds the key held by a job never claimed gives it
/// the new data, tries and due time (keeping its id), from the delayed set or
/// the ready list; once the job has started, an `UntilStarted` dispatch stores a
/// new job and an `UntilFinished` one is a plain duplicate.
pub async fn unique_debounce_replaces_data_and_pushes_due_time(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("unique_debounce");
    let quiet = Duration::from_millis(300);
    let u = Uniqueness {
        debounce: Some(quiet),
        ..unique("debounced", UniqueScope::UntilStarted)
    };
    let first = dispatch(d, job(&q, 1, 3, Some(SystemTime::now() + quiet)), &u).await;
    assert!(!first.duplicate);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let due = SystemTime::now() + quiet;
    let newer = job(&q, 2, 5, Some(due));
    let payload = newer.payload.clone();
    let again = dispatch(d, newer, &u).await;
    assert_eq!(
        (again.id.clone(), again.duplicate, again.debounced),
        (first.id.clone(), true, true),
        "a dispatch during the quiet time debounces the waiting job"
    );
    assert_counts(d, &q, (0, 1, 0, 0), "one delayed job after the debounce").await;
    let r = claim_when_due(d, &q, due, "the debounced job").await;
    assert_eq!(r.lease.job_id, first.id, "the debounced job keeps its id");
    assert_eq!(r.payload, payload, "the debounced job has the newest data");
    assert_eq!(
        (r.attempt, r.max_tries),
        (1, 5),
        "and the newest dispatch's tries"
    );
    let after = dispatch(d, job(&q, 3, 3, Some(SystemTime::now() + LONG_LEASE)), &u).await;
    assert!(
        !after.duplicate,
        "once the job started, a dispatch stores a new job"
    );

    // A holder already due (in the ready list) is moved back to the delayed set.
    let ready = Uniqueness {
        debounce: Some(quiet),
        ..unique("ready", UniqueScope::UntilFinished)
    };
    let held = dispatch(d, job(&q, 4, 3, None), &ready).await;
    let pushed = dispatch(
        d,
        job(&q, 5, 3, Some(SystemTime::now() + LONG_LEASE)),
        &ready,
    )
    .await;
    assert_eq!(
        (pushed.id.clone(), pushed.debounced),
        (held.id.clone(), true)
    );
    let s = super::super::fixture::stats(d, &q).await;
    assert_eq!(
        (s.ready, s.delayed),
        (0, 2),
        "the due holder was pushed out: {s:?}"
    );

    // Started under UntilFinished: a plain duplicate, the running data kept.
    let f = Uniqueness {
        debounce: Some(quiet),
        ..unique("finishing", UniqueScope::UntilFinished)
    };
    let running = dispatch(d, job(&q, 6, 3, None), &f).await;
    let r = claim_one(d, &q, "the until-finished job").await;
    assert_eq!(r.lease.job_id, running.id);
    let late = dispatch(d, job(&q, 7, 3, None), &f).await;
    assert_eq!(
        (late.id, late.duplicate, late.debounced),
        (running.id, true, false),
        "a started until-finished holder is not debounced"
    );
    assert_nothing_claimable(d, &q, "nothing new was stored").await;
}
