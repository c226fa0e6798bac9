//! Rules about reservations: attempts, lease expiry, ownership and acks.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use super::super::fixture::{
    assert_counts, assert_nothing_claimable, claim, claim_one, expect_lease_lost, ms_between, ok,
    push, queue, sleep_until, LONG_LEASE, SHORT_LEASE,
};
use super::super::DriverFactory;
use crate::{Driver, JobId, Lease, LeaseToken, QueueName, ReclaimReport, Reservation};

/// Claims the one job on `queue` with [`SHORT_LEASE`], waits until the lease has
/// expired and reclaims it; returns the expired reservation and the report.
async fn claim_and_expire(driver: &dyn Driver, queue: &QueueName) -> (Reservation, ReclaimReport) {
    let qs = std::slice::from_ref(queue);
    let before = SystemTime::now();
    let mut got = claim(driver, qs, 1, SHORT_LEASE).await;
    let after = SystemTime::now();
    let r = got.pop().expect("a job to claim with a short lease");
    let deadline = r.lease.expires_at;
    assert!(
        deadline + Duration::from_millis(50) >= before + SHORT_LEASE
            && deadline <= after + SHORT_LEASE + Duration::from_millis(50),
        "a claim with a {SHORT_LEASE:?} lease reported a deadline {} ms from the claim",
        ms_between(before, deadline)
    );
    let early = ok(driver.reclaim_expired(qs).await, "reclaim_expired");
    assert_eq!(
        early,
        ReclaimReport::default(),
        "reclaim_expired must leave a live lease alone"
    );
    assert_nothing_claimable(driver, queue, "while the job is leased").await;
    sleep_until(deadline + Duration::from_millis(150)).await;
    let report = ok(driver.reclaim_expired(qs).await, "reclaim_expired");
    (r, report)
}

/// `token` with its last character changed.
fn forge(token: &LeaseToken) -> LeaseToken {
    let mut t = token.0.clone();
    let last = t.pop().unwrap_or('0');
    t.push(if last == '0' { '1' } else { '0' });
    LeaseToken(t)
}

/// Attempts are counted at claim: attempt 1, release, attempt 2, release,
/// attempt 3; the payload comes back byte for byte each time.
pub async fn attempts_counted_at_claim(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("attempts");
    let pending = super::super::fixture::job(&q, 1, 3, None);
    let payload = pending.payload.clone();
    let id = super::super::fixture::push_job(d, pending).await;
    for attempt in 1..=3 {
        let r = claim_one(d, &q, "the job after a release").await;
        assert_eq!(r.lease.job_id, id);
        assert_eq!(r.lease.queue, q);
        assert_eq!(r.attempt, attempt, "attempts are counted at claim");
        assert_eq!(r.max_tries, 3, "max_tries comes back as pushed");
        assert_eq!(r.payload, payload, "the payload comes back byte for byte");
        let env = r.envelope().expect("the payload decodes");
        assert_eq!(env.id, id);
        if attempt < 3 {
            ok(d.release(&r.lease, Duration::ZERO).await, "release");
        } else {
            ok(d.ack(&r.lease).await, "ack");
        }
    }
    assert_counts(d, &q, (0, 0, 0, 0), "after the ack").await;
}

/// Attempts and max_tries keep counting past one and two digits: a job of 12
/// tries is claimed twelve times and one of 150 tries 101 times (released in
/// between), and every claim reports the attempt it is and the max_tries the
/// job was pushed with. (The Redis driver reads short counts from the bytes
/// and longer ones another way; this holds both.)
pub async fn attempts_count_past_two_digits(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    for (n, max_tries, claims) in [(1, 12u32, 12u32), (2, 150, 101)] {
        let q = queue(&format!("attempts-{max_tries}"));
        let id =
            super::super::fixture::push_job(d, super::super::fixture::job(&q, n, max_tries, None))
                .await;
        for attempt in 1..=claims {
            let r = claim_one(d, &q, "the job after a release").await;
            assert_eq!(
                (r.lease.job_id.clone(), r.attempt, r.max_tries),
                (id.clone(), attempt, max_tries),
                "claim {attempt} of a job of {max_tries} tries"
            );
            if attempt < claims {
                ok(d.release(&r.lease, Duration::ZERO).await, "release");
            } else {
                ok(d.ack(&r.lease).await, "ack");
            }
        }
        assert_counts(d, &q, (0, 0, 0, 0), "after the ack").await;
    }
}

/// An expired lease is reclaimed by `reclaim_expired` (not before it expires) and
/// the job is claimable again with the next attempt number.
pub async fn expired_lease_is_reclaimed(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("expiring");
    let id = push(d, &q, 1, 3).await;
    let (first, report) = claim_and_expire(d, &q).await;
    assert_eq!(
        report,
        ReclaimReport {
            released: 1,
            failed: 0
        },
        "one expired reservation with tries left"
    );
    assert_counts(d, &q, (1, 0, 0, 0), "after reclaiming").await;
    let again = claim_one(d, &q, "the reclaimed job").await;
    assert_eq!(again.lease.job_id, id);
    assert_eq!(
        again.attempt,
        first.attempt + 1,
        "the reclaimed job's next attempt"
    );
    assert_ne!(
        again.lease.token, first.lease.token,
        "a new claim gets a new token"
    );
    ok(d.ack(&again.lease).await, "ack by the new owner");
    assert_counts(d, &q, (0, 0, 0, 0), "after the ack").await;
}

/// An expired lease on the last allowed attempt sends the job to the failed store,
/// with an exception that mentions the lease.
pub async fn expired_lease_without_tries_left_fails(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("expiring_last");
    let pending = super::super::fixture::job(&q, 1, 1, None);
    let payload = pending.payload.clone();
    let id = super::super::fixture::push_job(d, pending).await;
    let (r, report) = claim_and_expire(d, &q).await;
    assert_eq!(r.attempt, 1);
    assert_eq!(
        report,
        ReclaimReport {
            released: 0,
            failed: 1
        },
        "one expired reservation with no tries left"
    );
    assert_nothing_claimable(d, &q, "after the job failed").await;
    assert_counts(d, &q, (0, 0, 0, 1), "after the job failed").await;
    let failed =
        ok(d.failed_show(&id).await, "failed_show").expect("the job is in the failed store");
    assert_eq!(failed.id, id);
    assert_eq!(failed.queue, q.as_str());
    assert_eq!(
        failed.payload, payload,
        "the failed store keeps the payload"
    );
    assert!(
        failed.exception.to_lowercase().contains("lease"),
        "the exception must say the lease expired: {:?}",
        failed.exception
    );
    expect_lease_lost(d.ack(&r.lease).await, &id, "ack after the job failed");
}

/// A stale owner (whose lease expired and whose job was reclaimed and claimed by
/// someone else) gets `LeaseLost` from every mutating call, and the new owner's
/// reservation is left exactly as it was.
pub async fn stale_owner_gets_lease_lost_everywhere(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("stale");
    let id = push(d, &q, 1, 5).await;
    let (stale, report) = claim_and_expire(d, &q).await;
    assert_eq!(report.released, 1);
    let owner = claim_one(d, &q, "the reclaimed job").await;
    assert_eq!(owner.attempt, 2);
    // A token of the same shape as the owner's with its last character changed,
    // so a driver that encodes routing data in tokens can still parse it.
    let forged = Lease {
        token: forge(&owner.lease.token),
        ..owner.lease.clone()
    };

    let (q_ref, id_ref) = (&q, &id);
    let owner_intact = move |step: &'static str| async move {
        assert_counts(d, q_ref, (0, 0, 1, 0), step).await;
        assert!(
            ok(d.failed_show(id_ref).await, "failed_show").is_none(),
            "{step}: the job must not be in the failed store"
        );
    };

    for lease in [&stale.lease, &forged] {
        expect_lease_lost(d.ack(lease).await, &id, "ack");
        owner_intact("after a stale ack").await;
        let outcome = ok(d.ack_batch(std::slice::from_ref(lease)).await, "ack_batch");
        assert_eq!(outcome.acked, 0, "ack_batch by a stale owner acks nothing");
        assert_eq!(
            outcome.lost,
            vec![id.clone()],
            "ack_batch reports the lost lease"
        );
        owner_intact("after a stale ack_batch").await;
        expect_lease_lost(d.release(lease, Duration::ZERO).await, &id, "release");
        expect_lease_lost(
            d.release(lease, Duration::from_secs(5)).await,
            &id,
            "release(5 s)",
        );
        owner_intact("after a stale release").await;
        expect_lease_lost(d.fail(lease, "stale failure").await, &id, "fail");
        owner_intact("after a stale fail").await;
        expect_lease_lost(d.extend_lease(lease, LONG_LEASE).await, &id, "extend_lease");
        owner_intact("after a stale extend_lease").await;
    }

    let extended = ok(
        d.extend_lease(&owner.lease, LONG_LEASE).await,
        "extend_lease by the owner",
    );
    assert!(
        extended > SystemTime::now(),
        "the owner's extended deadline is ahead"
    );
    let outcome = ok(
        d.ack_batch(&[stale.lease.clone(), owner.lease.clone()])
            .await,
        "ack_batch",
    );
    assert_eq!(outcome.acked, 1, "ack_batch acks the owner's lease");
    assert_eq!(outcome.lost, vec![id.clone()], "and reports the stale one");
    assert_counts(d, &q, (0, 0, 0, 0), "after the owner's ack").await;
    expect_lease_lost(d.ack(&owner.lease).await, &id, "a second ack");
}

/// `extend_lease` moves the deadline: the job is not reclaimed past its original
/// deadline and its owner can still ack it.
pub async fn extend_lease_prevents_reclaim(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("extended");
    let qs = std::slice::from_ref(&q);
    let id = push(d, &q, 1, 3).await;
    let r = claim(d, qs, 1, SHORT_LEASE)
        .await
        .pop()
        .expect("the pushed job");
    tokio::time::sleep(Duration::from_millis(150)).await;
    let extend_for = Duration::from_millis(1500);
    let before = SystemTime::now();
    let deadline = ok(d.extend_lease(&r.lease, extend_for).await, "extend_lease");
    let after = SystemTime::now();
    assert!(
        deadline + Duration::from_millis(50) >= before + extend_for
            && deadline <= after + extend_for + Duration::from_millis(50),
        "extend_lease(1.5 s) returned a deadline {} ms ahead",
        ms_between(before, deadline)
    );
    sleep_until(r.lease.expires_at + Duration::from_millis(200)).await;
    let report = ok(d.reclaim_expired(qs).await, "reclaim_expired");
    assert_eq!(
        report,
        ReclaimReport::default(),
        "an extended lease is not reclaimed"
    );
    assert_nothing_claimable(d, &q, "past the original deadline of an extended lease").await;
    assert_counts(d, &q, (0, 0, 1, 0), "past the original deadline").await;
    ok(
        d.ack(&r.lease).await,
        "ack by the owner of the extended lease",
    );
    assert_counts(d, &q, (0, 0, 0, 0), "after the ack").await;
    expect_lease_lost(
        d.extend_lease(&r.lease, extend_for).await,
        &id,
        "extend_lease after ack",
    );
}

/// `ack_batch` acks 500 leases from two queues at once; acking them again reports
/// every one lost.
pub async fn ack_batch_of_many(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let a = queue("batched");
    let b = queue("batched_too");
    let both = [a.clone(), b.clone()];
    let jobs: Vec<_> = (0..500)
        .map(|n| super::super::fixture::job(if n % 5 == 0 { &b } else { &a }, n, 3, None))
        .collect();
    let pushed: HashSet<JobId> = ok(d.push_bulk(jobs).await, "push_bulk")
        .into_iter()
        .collect();
    let mut leases = Vec::new();
    while leases.len() < pushed.len() {
        let batch = claim(d, &both, 150, LONG_LEASE).await;
        assert!(
            !batch.is_empty(),
            "claim stopped before 500 jobs were claimed"
        );
        leases.extend(batch.into_iter().map(|r| r.lease));
    }
    assert_counts(d, &a, (0, 0, 400, 0), "400 claimed from the first queue").await;
    assert_counts(d, &b, (0, 0, 100, 0), "100 claimed from the second queue").await;

    let none = ok(d.ack_batch(&[]).await, "ack_batch(empty)");
    assert_eq!(
        (none.acked, none.lost.len()),
        (0, 0),
        "ack_batch of nothing"
    );

    let outcome = ok(d.ack_batch(&leases).await, "ack_batch(500)");
    assert_eq!(outcome.acked, 500, "every lease acked");
    assert!(outcome.lost.is_empty(), "no lease lost: {:?}", outcome.lost);
    assert_counts(d, &a, (0, 0, 0, 0), "after ack_batch").await;
    assert_counts(d, &b, (0, 0, 0, 0), "after ack_batch").await;

    let again = ok(d.ack_batch(&leases).await, "ack_batch again");
    assert_eq!(again.acked, 0, "nothing left to ack");
    let lost: HashSet<JobId> = again.lost.into_iter().collect();
    assert_eq!(lost, pushed, "every lease is reported lost the second time");
}
