//! Rules of [`QueueAdmin`](crate::QueueAdmin): stats, clear and the queue listing.

use std::time::{Duration, SystemTime};

use super::fixture::{
    assert_counts, assert_nothing_claimable, claim, claim_one, expect_lease_lost, fail_new, ok,
    push, push_at, queue, sleep_until, LONG_LEASE,
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
