//! Rules about the failed store.

use std::time::{Duration, SystemTime};

use super::fixture::{
    assert_counts, assert_nothing_claimable, claim_one, expect_lease_lost, fail_new, ms_between,
    ok, push, push_job, queue,
};
use super::DriverFactory;
use crate::{Driver, FailedQuery, JobId, PendingJob, QueueName};

/// Lists failed jobs with `queue`, `offset` and `limit`; returns their ids.
async fn list(
    driver: &dyn Driver,
    queue: Option<&QueueName>,
    offset: usize,
    limit: usize,
) -> Vec<JobId> {
    let query = FailedQuery {
        queue: queue.cloned(),
        offset,
        limit,
    };
    ok(driver.failed_list(&query).await, "failed_list")
        .into_iter()
        .map(|f| f.id)
        .collect()
}

/// Fails one new job on `queue`, then waits a few ms so that failure times differ.
async fn fail_spaced(driver: &dyn Driver, queue: &QueueName, n: u64) -> JobId {
    let id = fail_new(driver, queue, n, "spaced failure").await;
    tokio::time::sleep(Duration::from_millis(3)).await;
    id
}

/// `fail` moves the job to the failed store with the error text, queue,
/// connection name, payload and a recent `failed_at`; the job is no longer
/// claimable and its lease is spent.
pub async fn fail_records_the_error(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("failing");
    let id = push(d, &q, 7, 3).await;
    let r = claim_one(d, &q, "the pushed job").await;
    let error = "boom: disk on fire\nsecond line \u{1F525} with 'quotes' and \"double\"";
    let before = SystemTime::now();
    ok(d.fail(&r.lease, error).await, "fail");
    let after = SystemTime::now();

    let f = ok(d.failed_show(&id).await, "failed_show").expect("the failed job is stored");
    assert_eq!(f.id, id);
    assert_eq!(f.exception, error, "the error text is stored exactly");
    assert_eq!(f.queue, q.as_str());
    assert_eq!(f.connection, d.connection_name());
    assert_eq!(f.payload, r.payload, "the payload is stored byte for byte");
    let slack = Duration::from_secs(1);
    assert!(
        f.failed_at + slack >= before && f.failed_at <= after + slack,
        "failed_at is {} ms away from the fail call",
        ms_between(before, f.failed_at)
    );
    assert_nothing_claimable(d, &q, "after fail").await;
    assert_counts(d, &q, (0, 0, 0, 1), "after fail").await;
    expect_lease_lost(d.fail(&r.lease, "again").await, &id, "a second fail");
    expect_lease_lost(d.ack(&r.lease).await, &id, "ack after fail");
    let listed = ok(d.failed_list(&FailedQuery::default()).await, "failed_list");
    assert_eq!(listed, vec![f], "failed_list shows what failed_show shows");
}

/// `failed_list` is newest first, filters by queue and pages with offset/limit.
pub async fn failed_list_newest_first_filtered_and_paged(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let a = queue("failed_a");
    let b = queue("failed_b");
    assert!(
        list(d, None, 0, 100).await.is_empty(),
        "a fresh failed store is empty"
    );

    let mut all = Vec::new();
    for n in 0..8 {
        let q = if n % 3 == 1 { &b } else { &a };
        all.push((q.clone(), fail_spaced(d, q, n).await));
    }
    all.reverse(); // newest first
    let newest: Vec<JobId> = all.iter().map(|(_, id)| id.clone()).collect();
    let of = |q: &QueueName| -> Vec<JobId> {
        all.iter()
            .filter(|(x, _)| x == q)
            .map(|(_, id)| id.clone())
            .collect()
    };

    assert_eq!(list(d, None, 0, 100).await, newest, "all, newest first");
    assert_eq!(list(d, Some(&a), 0, 100).await, of(&a), "queue filter a");
    assert_eq!(list(d, Some(&b), 0, 100).await, of(&b), "queue filter b");
    assert_eq!(list(d, None, 1, 3).await, newest[1..4], "offset 1, limit 3");
    assert_eq!(
        list(d, None, 6, 10).await,
        newest[6..],
        "offset 6, limit 10"
    );
    assert_eq!(
        list(d, Some(&a), 2, 2).await,
        of(&a)[2..4],
        "queue a, offset 2, limit 2"
    );
    assert_eq!(
        list(d, Some(&b), 1, 5).await,
        of(&b)[1..],
        "queue b, offset 1, limit 5"
    );
    assert!(list(d, None, 8, 10).await.is_empty(), "offset past the end");
    assert!(
        list(d, None, 0, 0).await.is_empty(),
        "limit 0 returns nothing"
    );
    assert!(
        list(d, Some(&queue("failed_none")), 0, 10).await.is_empty(),
        "a queue with no failed jobs"
    );
}

/// `failed_show`, `failed_retry` (back to its queue, claimable at once, attempts
/// reset, gone from the failed store) and `failed_forget`; unknown ids are `None`
/// or `false`.
pub async fn failed_show_retry_and_forget(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("retrying");
    let unknown = JobId::generate();
    assert!(ok(d.failed_show(&unknown).await, "failed_show").is_none());
    assert!(
        !ok(d.failed_retry(&unknown).await, "failed_retry"),
        "retry of an unknown id"
    );
    assert!(
        !ok(d.failed_forget(&unknown).await, "failed_forget"),
        "forget of an unknown id"
    );

    // Fail on the second attempt, then retry: attempts start again at 1.
    let id = push(d, &q, 1, 3).await;
    let r1 = claim_one(d, &q, "the pushed job").await;
    ok(d.release(&r1.lease, Duration::ZERO).await, "release");
    let r2 = claim_one(d, &q, "the released job").await;
    assert_eq!(r2.attempt, 2);
    ok(d.fail(&r2.lease, "failed on attempt 2").await, "fail");
    assert_counts(d, &q, (0, 0, 0, 1), "after fail").await;

    assert!(
        ok(d.failed_retry(&id).await, "failed_retry"),
        "retry of a failed job"
    );
    assert!(
        ok(d.failed_show(&id).await, "failed_show").is_none(),
        "retried job left the failed store"
    );
    assert_counts(d, &q, (1, 0, 0, 0), "after retry").await;
    assert!(
        list(d, None, 0, 100).await.is_empty(),
        "a retried job is no longer listed as failed"
    );
    assert!(
        !ok(d.failed_retry(&id).await, "failed_retry"),
        "a second retry finds nothing"
    );
    let back = claim_one(d, &q, "the retried job is claimable at once").await;
    assert_eq!(back.lease.job_id, id);
    assert_eq!(back.attempt, 1, "retry resets attempts");
    assert_eq!(back.max_tries, 3, "retry keeps max_tries");
    assert_eq!(back.payload, r1.payload, "retry keeps the payload");
    expect_lease_lost(
        d.ack(&r2.lease).await,
        &id,
        "ack with the lease from before the retry",
    );
    ok(d.ack(&back.lease).await, "ack");

    // Forget deletes for good.
    let gone = fail_new(d, &q, 2, "to forget").await;
    assert!(
        ok(d.failed_forget(&gone).await, "failed_forget"),
        "forget of a failed job"
    );
    assert!(ok(d.failed_show(&gone).await, "failed_show").is_none());
    assert!(
        !ok(d.failed_forget(&gone).await, "failed_forget"),
        "a second forget"
    );
    assert!(
        !ok(d.failed_retry(&gone).await, "failed_retry"),
        "retry of a forgotten job"
    );
    assert_counts(d, &q, (0, 0, 0, 0), "after forget").await;
}

/// `failed_flush` deletes one queue's failed jobs or all of them, returning counts.
pub async fn failed_flush_all_and_per_queue(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let a = queue("flush_a");
    let b = queue("flush_b");
    for n in 0..3 {
        fail_new(d, &a, n, "a").await;
    }
    let mut kept = Vec::new();
    for n in 0..2 {
        kept.push(fail_new(d, &b, n, "b").await);
    }
    assert_eq!(ok(d.failed_flush(Some(&a)).await, "failed_flush(a)"), 3);
    assert!(
        list(d, Some(&a), 0, 100).await.is_empty(),
        "queue a flushed"
    );
    let mut left = list(d, None, 0, 100).await;
    left.sort();
    kept.sort();
    assert_eq!(left, kept, "queue b untouched by flushing a");
    assert_counts(d, &a, (0, 0, 0, 0), "a after flush").await;
    assert_counts(d, &b, (0, 0, 0, 2), "b after flushing a").await;
    assert_eq!(
        ok(d.failed_flush(Some(&a)).await, "failed_flush(a)"),
        0,
        "nothing left in a"
    );
    assert_eq!(ok(d.failed_flush(None).await, "failed_flush(all)"), 2);
    assert!(list(d, None, 0, 100).await.is_empty(), "everything flushed");
    assert_counts(d, &b, (0, 0, 0, 0), "b after flushing all").await;
}

/// `failed_prune` deletes failed jobs that failed before the cutoff, only those.
pub async fn failed_prune_by_cutoff(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("pruning");
    for n in 0..2 {
        fail_new(d, &q, n, "old").await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cutoff = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut newer = Vec::new();
    for n in 2..5 {
        newer.push(fail_new(d, &q, n, "new").await);
    }
    let hour = Duration::from_secs(3600);
    assert_eq!(
        ok(d.failed_prune(cutoff - hour).await, "failed_prune"),
        0,
        "nothing that old"
    );
    assert_eq!(
        ok(d.failed_prune(cutoff).await, "failed_prune"),
        2,
        "the two older ones"
    );
    let mut left = list(d, None, 0, 100).await;
    left.sort();
    newer.sort();
    assert_eq!(left, newer, "the newer failures remain");
    assert_counts(d, &q, (0, 0, 0, 3), "after pruning").await;
    assert_eq!(
        ok(
            d.failed_prune(SystemTime::now() + hour).await,
            "failed_prune"
        ),
        3
    );
    assert_counts(d, &q, (0, 0, 0, 0), "after pruning everything").await;
}

/// A foreign or corrupt payload is claimed like any job, its envelope fails to
/// decode, and it can be failed through its lease; the failed store keeps the
/// bytes exactly.
pub async fn corrupt_payload_can_be_failed(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("corrupt");
    let garbage: Vec<u8> = b"\xff\x00{not an envelope\x01\x80\xfe'\"\\"
        .iter()
        .copied()
        .chain((0..=255u8).rev())
        .collect();
    let id = push_job(
        d,
        PendingJob {
            id: JobId::generate(),
            queue: q.clone(),
            max_tries: 3,
            payload: garbage.clone(),
            available_at: None,
            group: None,
        },
    )
    .await;
    let r = claim_one(d, &q, "the corrupt job").await;
    assert_eq!(r.lease.job_id, id);
    assert_eq!(r.payload, garbage, "the payload comes back byte for byte");
    let err = r
        .envelope()
        .expect_err("garbage does not decode")
        .to_string();
    ok(d.fail(&r.lease, &err).await, "fail");
    let f = ok(d.failed_show(&id).await, "failed_show").expect("the corrupt job is stored");
    assert_eq!(
        f.payload, garbage,
        "the failed store keeps the bytes exactly"
    );
    assert_eq!(f.exception, err);
    assert_counts(d, &q, (0, 0, 0, 1), "after failing the corrupt job").await;
}
