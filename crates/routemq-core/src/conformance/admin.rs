//! Rules of [`QueueAdmin`](crate::QueueAdmin): stats, clear, the queue listing,
//! and pausing and resuming a queue.

use std::time::{Duration, SystemTime};

use crate::{Driver, QueueName, ReclaimReport};

use super::fixture::{
    assert_counts, assert_nothing_claimable, claim, claim_one, expect_lease_lost, fail_new, ids,
    ok, push, push_at, queue, sleep_until, stats, LONG_LEASE, SHORT_LEASE, WAKE_SLACK,
};
use super::DriverFactory;

/// Stats stay consistent through push, delay, claim, release, ack and fail, and
/// `oldest_ready_age` grows with the oldest ready job's wait.
pub async fn stats_track_each_step(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("counted");
    let qs = std::slice::from_ref(&q);
    assert_counts(d, &q, (0, 0, 0, 0), "a queue never used").await;

    push(d, &q, 1, 3).await;
    push(d, &q, 2, 3).await;
    push_at(d, &q, 3, SystemTime::now() + Duration::from_secs(60)).await;
    assert_counts(d, &q, (2, 1, 0, 0), "2 ready and 1 delayed pushed").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let s = assert_counts(d, &q, (2, 1, 0, 0), "150 ms later").await;
    let age = s.oldest_ready_age.expect("checked by assert_counts");
    assert!(
        age >= Duration::from_millis(140) && age < Duration::from_secs(10),
        "oldest_ready_age is {age:?} for a job ready for ~150 ms"
    );

    let first = claim(d, qs, 1, LONG_LEASE)
        .await
        .pop()
        .expect("a ready job");
    assert_counts(d, &q, (1, 1, 1, 0), "one claimed").await;
    let second = claim(d, qs, 5, LONG_LEASE)
        .await
        .pop()
        .expect("the other ready job");
    assert_counts(d, &q, (0, 1, 2, 0), "both claimed").await;
    ok(
        d.release(&first.lease, Duration::from_secs(60)).await,
        "release(60 s)",
    );
    assert_counts(d, &q, (0, 2, 1, 0), "one released with a delay").await;
    ok(d.release(&second.lease, Duration::ZERO).await, "release(0)");
    let s = assert_counts(d, &q, (1, 2, 0, 0), "one released at once").await;
    assert!(
        s.oldest_ready_age.expect("checked") < Duration::from_secs(5),
        "a job released just now is not old"
    );
    let again = claim_one(d, &q, "the released job").await;
    assert_counts(d, &q, (0, 2, 1, 0), "claimed again").await;
    ok(d.fail(&again.lease, "counted failure").await, "fail");
    assert_counts(d, &q, (0, 2, 0, 1), "after fail").await;
    fail_new(d, &q, 4, "another").await;
    assert_counts(d, &q, (0, 2, 0, 2), "after a second fail").await;
    let last = push(d, &q, 5, 3).await;
    let r = claim_one(d, &q, "the last job").await;
    assert_eq!(r.lease.job_id, last);
    ok(d.ack(&r.lease).await, "ack");
    assert_counts(d, &q, (0, 2, 0, 2), "after ack").await;
    assert_counts(d, &queue("counted_other"), (0, 0, 0, 0), "another queue").await;
}

/// `clear` removes a queue's ready, delayed and reserved jobs (and returns how
/// many), leaves its failed jobs and other queues alone, and fences holders of its
/// reservations with `LeaseLost`.
pub async fn clear_removes_jobs_and_fences_holders(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("cleared");
    let other = queue("kept");
    let qs = std::slice::from_ref(&q);
    assert_eq!(
        ok(d.clear(&q).await, "clear"),
        0,
        "clearing an unknown queue"
    );

    let failed = fail_new(d, &q, 20, "kept failure").await;
    for n in 0..6 {
        push(d, &q, n, 3).await;
    }
    let soon = SystemTime::now() + Duration::from_millis(300);
    push_at(d, &q, 10, soon).await;
    push_at(d, &q, 11, soon).await;
    push(d, &other, 0, 3).await;
    push(d, &other, 1, 3).await;
    let held = claim(d, qs, 3, LONG_LEASE).await;
    assert_eq!(held.len(), 3);
    assert_counts(d, &q, (3, 2, 3, 1), "before clear").await;

    assert_eq!(
        ok(d.clear(&q).await, "clear"),
        8,
        "3 ready + 2 delayed + 3 reserved"
    );
    assert_counts(d, &q, (0, 0, 0, 1), "after clear").await;
    assert_counts(d, &other, (2, 0, 0, 0), "another queue after clear").await;
    assert!(
        ok(d.failed_show(&failed).await, "failed_show").is_some(),
        "clear leaves the failed store alone"
    );
    let r = &held[0];
    let id = &r.lease.job_id;
    expect_lease_lost(d.ack(&r.lease).await, id, "ack after clear");
    expect_lease_lost(
        d.release(&r.lease, Duration::ZERO).await,
        id,
        "release after clear",
    );
    expect_lease_lost(
        d.fail(&held[1].lease, "x").await,
        &held[1].lease.job_id,
        "fail after clear",
    );
    expect_lease_lost(
        d.extend_lease(&held[2].lease, LONG_LEASE).await,
        &held[2].lease.job_id,
        "extend_lease after clear",
    );
    let outcome = ok(
        d.ack_batch(&[held[2].lease.clone()]).await,
        "ack_batch after clear",
    );
    assert_eq!(
        (outcome.acked, outcome.lost.len()),
        (0, 1),
        "ack_batch after clear"
    );
    assert!(
        ok(d.failed_show(&held[1].lease.job_id).await, "failed_show").is_none(),
        "a fenced fail stores nothing"
    );

    sleep_until(soon + Duration::from_millis(100)).await;
    assert_nothing_claimable(d, &q, "after the cleared delayed jobs' due time").await;
    assert_counts(
        d,
        &q,
        (0, 0, 0, 1),
        "after the cleared delayed jobs' due time",
    )
    .await;
    let fresh = push(d, &q, 30, 3).await;
    assert_eq!(
        claim_one(d, &q, "a job pushed after clear")
            .await
            .lease
            .job_id,
        fresh
    );
}

/// `queues` lists, sorted by name, every queue that holds or held jobs: ready,
/// delayed, reserved or failed.
pub async fn queues_lists_known_queues(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    assert!(
        ok(d.queues().await, "queues").is_empty(),
        "a fresh store has no queues"
    );
    push(d, &queue("q_ready"), 1, 3).await;
    push_at(
        d,
        &queue("a_delayed"),
        2,
        SystemTime::now() + Duration::from_secs(60),
    )
    .await;
    push(d, &queue("m_reserved"), 3, 3).await;
    claim_one(d, &queue("m_reserved"), "the job to hold").await;
    fail_new(d, &queue("f_failed"), 4, "failed").await;
    let names: Vec<String> = ok(d.queues().await, "queues")
        .iter()
        .map(|q| q.to_string())
        .collect();
    assert_eq!(names, ["a_delayed", "f_failed", "m_reserved", "q_ready"]);
}

/// Pauses `queue`, checking the return value (`expect_new`: it was not paused) and
/// that `stats` and `paused` show it.
async fn pause_checked(d: &dyn Driver, q: &QueueName, expect_new: bool, what: &str) {
    assert_eq!(
        ok(d.pause(q).await, "pause"),
        expect_new,
        "{what}: pause({q}) returns true only when the queue was not paused"
    );
    assert!(stats(d, q).await.paused, "{what}: stats({q}).paused");
    assert!(
        ok(d.paused().await, "paused").contains(q),
        "{what}: paused() lists {q}"
    );
}

/// Resumes `queue`, checking the return value and that it no longer shows paused.
async fn resume_checked(d: &dyn Driver, q: &QueueName, expect_was: bool, what: &str) {
    assert_eq!(
        ok(d.resume(q).await, "resume"),
        expect_was,
        "{what}: resume({q}) returns true only when the queue was paused"
    );
    assert!(!stats(d, q).await.paused, "{what}: stats({q}).paused");
    assert!(
        !ok(d.paused().await, "paused").contains(q),
        "{what}: paused() must not list {q}"
    );
}

/// A paused queue gives `claim` nothing while other queues of the same call still
/// deliver in priority order; pushes to it are stored (and delayed jobs become
/// due); pausing twice is idempotent; after `resume` its jobs are claimed in FIFO
/// order. `stats` and `paused` show the state, and the return values of `pause`
/// and `resume` say whether anything changed.
pub async fn paused_queue_is_not_claimed_and_resume_restores_it(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let a = queue("paused_a");
    let b = queue("paused_b");
    let both = [a.clone(), b.clone()];
    assert!(ok(d.paused().await, "paused").is_empty(), "a fresh store");
    assert!(!stats(d, &a).await.paused, "a queue never paused");
    assert!(
        !ok(d.resume(&a).await, "resume"),
        "resuming a queue that is not paused returns false"
    );

    let mut a_jobs = vec![push(d, &a, 1, 3).await, push(d, &a, 2, 3).await];
    let b_jobs = vec![push(d, &b, 1, 3).await, push(d, &b, 2, 3).await];
    pause_checked(d, &a, true, "first pause").await;
    pause_checked(d, &a, false, "second pause").await;
    assert!(!stats(d, &b).await.paused, "pausing a leaves b running");
    assert_eq!(
        ok(d.paused().await, "paused"),
        vec![a.clone()],
        "only a is paused"
    );

    let got = claim(d, &both, 10, LONG_LEASE).await;
    assert_eq!(
        ids(&got),
        b_jobs,
        "claim over [a, b] with a paused must return b's jobs only, in order"
    );
    assert!(got.iter().all(|r| r.lease.queue == b));
    assert_nothing_claimable(d, &a, "a paused queue").await;

    a_jobs.push(push(d, &a, 3, 3).await);
    let due = SystemTime::now() + Duration::from_millis(200);
    a_jobs.push(push_at(d, &a, 4, due).await);
    sleep_until(due + Duration::from_millis(100)).await;
    assert_nothing_claimable(d, &a, "a paused queue after a push and a due time").await;
    let s = stats(d, &a).await;
    assert_eq!(
        (s.ready, s.delayed, s.reserved, s.paused),
        (4, 0, 0, true),
        "stats of the paused queue: pushes are stored, the delayed job is due"
    );
    assert!(
        claim(d, &both, 10, LONG_LEASE).await.is_empty(),
        "claim over [a, b]: a paused, b drained"
    );

    resume_checked(d, &a, true, "resume").await;
    resume_checked(d, &a, false, "second resume").await;
    let got = claim(d, &both, 10, LONG_LEASE).await;
    assert_eq!(
        ids(&got),
        a_jobs,
        "after resume a's jobs come in FIFO order"
    );
    for r in &got {
        ok(d.ack(&r.lease).await, "ack");
    }

    pause_checked(d, &b, true, "pausing a queue with nothing in it").await;
    let late = push(d, &b, 3, 3).await;
    assert_nothing_claimable(d, &b, "b paused while empty, then pushed to").await;
    resume_checked(d, &b, true, "resume b").await;
    assert_eq!(claim_one(d, &b, "b resumed").await.lease.job_id, late);
}

/// Pausing a queue leaves its running jobs alone: a held lease can still be
/// extended, acked, released and failed; `reclaim_expired` still returns an
/// expired lease (or fails it when out of tries), and the job waits until resume.
pub async fn paused_queue_keeps_running_jobs_settleable(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("paused_running");
    let qs = std::slice::from_ref(&q);
    for n in 0..4 {
        push(d, &q, n, 3).await;
    }
    let held = claim(d, qs, 4, LONG_LEASE).await;
    assert_eq!(held.len(), 4, "four jobs to hold");
    pause_checked(d, &q, true, "pause while jobs run").await;

    ok(
        d.extend_lease(&held[0].lease, LONG_LEASE).await,
        "extend_lease while paused",
    );
    ok(d.ack(&held[0].lease).await, "ack while paused");
    ok(
        d.fail(&held[1].lease, "failed while paused").await,
        "fail while paused",
    );
    assert!(
        ok(d.failed_show(&held[1].lease.job_id).await, "failed_show").is_some(),
        "a job failed while its queue is paused is in the failed store"
    );
    ok(
        d.release(&held[2].lease, Duration::ZERO).await,
        "release while paused",
    );
    let outcome = ok(
        d.ack_batch(&[held[3].lease.clone()]).await,
        "ack_batch while paused",
    );
    assert_eq!(
        (outcome.acked, outcome.lost.len()),
        (1, 0),
        "ack_batch while paused"
    );
    assert_nothing_claimable(d, &q, "the released job of a paused queue").await;
    let s = stats(d, &q).await;
    assert_eq!(
        (s.ready, s.reserved, s.failed, s.paused),
        (1, 0, 1, true),
        "after settling every held job of a paused queue"
    );

    // An expired lease of a paused queue: taken while running, then paused.
    resume_checked(d, &q, true, "resume to take the released job").await;
    let released = claim_one(d, &q, "the released job").await;
    ok(d.ack(&released.lease).await, "ack");
    let retried = push(d, &q, 10, 3).await;
    let last = super::fixture::job(&q, 11, 1, None);
    let last = super::fixture::push_job(d, last).await;
    let short = claim(d, qs, 2, SHORT_LEASE).await;
    assert_eq!(ids(&short), vec![retried.clone(), last.clone()]);
    pause_checked(d, &q, true, "pause with short leases out").await;
    sleep_until(short[1].lease.expires_at + Duration::from_millis(150)).await;
    let report = ok(d.reclaim_expired(qs).await, "reclaim_expired while paused");
    assert_eq!(
        report,
        ReclaimReport {
            released: 1,
            failed: 1
        },
        "reclaim of a paused queue: one job with tries left, one without"
    );
    assert!(
        ok(d.failed_show(&last).await, "failed_show").is_some(),
        "the job out of tries went to the failed store"
    );
    assert_nothing_claimable(d, &q, "a reclaimed job of a paused queue").await;
    let s = stats(d, &q).await;
    assert_eq!((s.ready, s.reserved, s.paused), (1, 0, true));
    resume_checked(d, &q, true, "resume after reclaim").await;
    let again = claim_one(d, &q, "the reclaimed job after resume").await;
    assert_eq!(again.lease.job_id, retried);
    assert_eq!(again.attempt, 2, "the reclaimed job's second attempt");
}

/// `wait_for_jobs` on a paused queue with ready jobs waits (it does not return at
/// once, which would make an idle worker spin), and `resume` wakes a waiter as a
/// push does.
pub async fn paused_queue_is_not_waited_for_and_resume_wakes(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let q = queue("paused_wait");
    let qs = vec![q.clone()];
    push(driver.as_ref(), &q, 1, 3).await;
    ok(driver.pause(&q).await, "pause");
    let timeout = Duration::from_millis(400);
    let started = std::time::Instant::now();
    ok(driver.wait_for_jobs(&qs, timeout).await, "wait_for_jobs");
    let waited = started.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(50),
        "wait_for_jobs on a paused queue with a ready job returned after {waited:?} \
         (of {timeout:?}): it must ignore the paused queue's jobs, or workers spin"
    );

    let d2 = driver.clone();
    let qs2 = qs.clone();
    let waiter = tokio::spawn(async move {
        let started = std::time::Instant::now();
        ok(
            d2.wait_for_jobs(&qs2, Duration::from_secs(10)).await,
            "wait_for_jobs",
        );
        started.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiter.is_finished(),
        "the waiter returned while the queue was paused"
    );
    let resumed = std::time::Instant::now();
    assert!(
        ok(driver.resume(&q).await, "resume"),
        "resume of a paused queue"
    );
    let total = waiter.await.expect("the waiter does not panic");
    let after_resume = resumed.elapsed();
    assert!(
        total >= Duration::from_millis(250),
        "the waiter returned after {total:?}, before the resume"
    );
    assert!(
        after_resume <= WAKE_SLACK + Duration::from_millis(500),
        "the waiter returned {after_resume:?} after resume: resume must wake waiters"
    );
    assert_eq!(
        claim_one(driver.as_ref(), &q, "after resume").await.attempt,
        1
    );
}
