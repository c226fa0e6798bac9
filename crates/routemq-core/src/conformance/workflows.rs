//! Rules of [`Workflows`](crate::Workflows): chain links and batch callbacks
//! wait until the settlement that releases them, in the same atomic step;
//! batch counters are exact under concurrent settlements and every callback is
//! released at most once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::{
    BatchId, BatchInfo, BatchPlan, ChainPlan, Driver, DriverError, JobId, JobState, Lease,
    PendingJob, QueueName,
};

use super::fixture::{
    assert_counts, assert_nothing_claimable, claim, claim_one, job, ok, queue, LONG_LEASE,
    SHORT_LEASE,
};
use super::DriverFactory;

async fn state_of(d: &dyn Driver, q: &QueueName, id: &JobId) -> Option<JobState> {
    ok(d.job_status(q, id).await, "job_status").map(|s| s.state)
}

/// Claims everything claimable on `q` now; returns the reservations' leases.
async fn claim_all(d: &dyn Driver, q: &QueueName) -> Vec<Lease> {
    claim(d, std::slice::from_ref(q), 1000, LONG_LEASE)
        .await
        .into_iter()
        .map(|r| r.lease)
        .collect()
}

fn ids_of(leases: &[Lease]) -> HashSet<JobId> {
    leases.iter().map(|l| l.job_id.clone()).collect()
}

fn plan(q: &QueueName, jobs: usize, allow_failures: bool) -> (BatchPlan, [JobId; 3]) {
    let cb = |n| job(q, n, 3, None);
    let (then, catch, finally) = (cb(901), cb(902), cb(903));
    let ids = [then.id.clone(), catch.id.clone(), finally.id.clone()];
    let plan = BatchPlan {
        id: BatchId::generate(),
        queue: q.clone(),
        name: "conformance".into(),
        jobs: (0..jobs).map(|n| job(q, n as u64, 1, None)).collect(),
        then: Some(then),
        catch: Some(catch),
        finally: Some(finally),
        allow_failures,
    };
    (plan, ids)
}

async fn batch_info(d: &dyn Driver, id: &BatchId) -> BatchInfo {
    ok(d.batch(id).await, "batch").unwrap_or_else(|| panic!("batch {id} must be known"))
}

fn counts(b: &BatchInfo) -> (u64, u64, u64, u64, u64) {
    (b.total, b.pending, b.succeeded, b.failed, b.cancelled)
}

/// A chain runs its links one after another: only the first is claimable, each
/// ack (plain, batched, kept) releases the next; the last one's ack removes the
/// catch job; waiting links are reported as waiting and not counted as ready.
pub async fn workflow_chain_runs_links_in_order(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("flow_chain");
    let links: Vec<PendingJob> = (0..3).map(|n| job(&q, n, 3, None)).collect();
    let want: Vec<JobId> = links.iter().map(|j| j.id.clone()).collect();
    let catch = job(&q, 99, 3, None);
    let catch_id = catch.id.clone();
    let ids = ok(
        d.push_chain(ChainPlan {
            queue: q.clone(),
            links,
            catch: Some(catch),
        })
        .await,
        "push_chain",
    );
    assert_eq!(ids, want, "push_chain returns the links' ids in order");
    assert_counts(d, &q, (1, 0, 0, 0), "only the first link is ready").await;
    assert_eq!(state_of(d, &q, &ids[1]).await, Some(JobState::Waiting));
    assert_eq!(state_of(d, &q, &catch_id).await, Some(JobState::Waiting));

    let first = claim_all(d, &q).await;
    assert_eq!(ids_of(&first), HashSet::from([ids[0].clone()]));
    assert_nothing_claimable(d, &q, "link 2 waits for link 1").await;
    ok(d.ack(&first[0]).await, "ack");
    let second = claim_all(d, &q).await;
    assert_eq!(
        ids_of(&second),
        HashSet::from([ids[1].clone()]),
        "link 2 follows link 1's ack"
    );
    let acked = ok(d.ack_batch(&second).await, "ack_batch");
    assert_eq!(acked.acked, 1);
    let third = claim_all(d, &q).await;
    assert_eq!(
        ids_of(&third),
        HashSet::from([ids[2].clone()]),
        "link 3 follows a batched ack"
    );
    ok(
        d.ack_and_keep(&third[0], None, Duration::from_secs(60))
            .await,
        "ack_and_keep",
    );
    assert_nothing_claimable(d, &q, "a chain that succeeded").await;
    assert_eq!(
        state_of(d, &q, &catch_id).await,
        None,
        "the catch job of a chain that succeeded is removed"
    );
    assert_counts(d, &q, (0, 0, 0, 0), "the chain is done").await;
}

/// A link that fails for good (fail, or a reclaim out of tries) releases the
/// catch job and leaves the later links waiting and visible; a cancelled link
/// releases nothing; clear removes waiting jobs.
pub async fn workflow_chain_failure_runs_catch_and_keeps_the_rest(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("flow_chain_fail");
    let chain = |max_tries: u32| {
        let links: Vec<PendingJob> = (0..3).map(|n| job(&q, n, max_tries, None)).collect();
        ChainPlan {
            queue: q.clone(),
            links,
            catch: Some(job(&q, 99, 3, None)),
        }
    };
    let plan = chain(3);
    let catch_id = plan.catch.as_ref().map(|c| c.id.clone()).expect("catch");
    let ids = ok(d.push_chain(plan).await, "push_chain");
    let r = claim_one(d, &q, "link 1").await;
    ok(d.ack(&r.lease).await, "ack");
    let r = claim_one(d, &q, "link 2").await;
    assert_eq!(r.lease.job_id, ids[1]);
    ok(d.fail(&r.lease, "boom").await, "fail");
    let got = claim_all(d, &q).await;
    assert_eq!(
        ids_of(&got),
        HashSet::from([catch_id]),
        "the catch job runs after a failure"
    );
    ok(d.ack(&got[0]).await, "ack");
    assert_eq!(
        state_of(d, &q, &ids[2]).await,
        Some(JobState::Waiting),
        "the links after a failure stay, unrun and visible"
    );

    // Out of tries by a reclaim.
    let plan = chain(1);
    let catch_id = plan.catch.as_ref().map(|c| c.id.clone()).expect("catch");
    let ids2 = ok(d.push_chain(plan).await, "push_chain");
    let got = claim(d, std::slice::from_ref(&q), 10, SHORT_LEASE).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].lease.job_id, ids2[0]);
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(200)).await;
    ok(
        d.reclaim_expired(std::slice::from_ref(&q)).await,
        "reclaim_expired",
    );
    let got = claim_all(d, &q).await;
    assert_eq!(
        ids_of(&got),
        HashSet::from([catch_id]),
        "a link failed by a reclaim releases the catch job"
    );
    ok(d.ack(&got[0]).await, "ack");

    // A cancelled link releases nothing.
    let plan = chain(3);
    let ids3 = ok(d.push_chain(plan).await, "push_chain");
    let r = claim_one(d, &q, "link 1 of the third chain").await;
    ok(d.cancel(&q, &ids3[0]).await, "cancel");
    ok(d.ack_cancelled(&r.lease).await, "ack_cancelled");
    assert_nothing_claimable(d, &q, "a cancelled link releases nothing").await;
    assert_eq!(state_of(d, &q, &ids3[1]).await, Some(JobState::Waiting));
    ok(d.cancel(&q, &ids3[1]).await, "cancel of a waiting link");
    assert_eq!(state_of(d, &q, &ids3[1]).await, Some(JobState::Cancelled));

    let cleared = ok(d.clear(&q).await, "clear");
    assert!(
        cleared >= 4,
        "clear removes the waiting jobs too, removed {cleared}"
    );
    for id in [&ids[2], &ids2[1], &ids3[2]] {
        assert_eq!(state_of(d, &q, id).await, None, "{id} was cleared");
    }
}

/// A batch counts each settlement (ack, final fail) and releases `catch` at the
/// first failure and `finally` once nothing is pending; `then` only when all
/// succeeded; callbacks not released are removed.
pub async fn workflow_batch_counts_and_releases_callbacks(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("flow_batch");
    let (p, [then, catch, finally]) = plan(&q, 4, true);
    let id = p.id.clone();
    let info = ok(d.push_batch(p).await, "push_batch");
    assert_eq!(counts(&info), (4, 4, 0, 0, 0));
    assert_eq!(
        (info.name.as_str(), info.allow_failures),
        ("conformance", true)
    );
    assert_counts(
        d,
        &q,
        (4, 0, 0, 0),
        "the batch's jobs are ready, callbacks wait",
    )
    .await;
    let got = claim_all(d, &q).await;
    assert_eq!(got.len(), 4, "only the batch's jobs are claimable");
    ok(d.fail(&got[0], "boom").await, "fail");
    assert_eq!(counts(&batch_info(d, &id).await), (4, 3, 0, 1, 0));
    let released = claim_all(d, &q).await;
    assert_eq!(
        ids_of(&released),
        HashSet::from([catch.clone()]),
        "catch at the first failure"
    );
    ok(d.ack(&released[0]).await, "ack");
    ok(d.ack(&got[1]).await, "ack");
    let outcome = ok(d.ack_batch(&got[2..]).await, "ack_batch");
    assert_eq!(outcome.acked, 2);
    let info = batch_info(d, &id).await;
    assert_eq!(counts(&info), (4, 0, 3, 1, 0));
    assert!(
        info.finished_at_ms.is_some() && !info.cancelled_batch,
        "{info:?}"
    );
    let released = claim_all(d, &q).await;
    assert_eq!(
        ids_of(&released),
        HashSet::from([finally.clone()]),
        "finally once nothing is pending; then only when all succeeded"
    );
    assert_eq!(
        state_of(d, &q, &then).await,
        None,
        "an unreleased then is removed"
    );
    ok(d.ack(&released[0]).await, "ack");
    assert_counts(d, &q, (0, 0, 0, 1), "the batch is done").await;
    match d.add_to_batch(&id, vec![job(&q, 7, 1, None)]).await {
        Err(DriverError::InvalidArgument(m)) => {
            assert!(m.contains(id.as_str()), "the refusal names the batch: {m}")
        }
        other => panic!("adding to a finished batch must be refused, got {other:?}"),
    }
}

/// A batch whose jobs all succeed runs `then` and `finally`; jobs added while
/// it runs count; without `allow_failures` the first failure cancels the jobs
/// not started and `then` never runs.
pub async fn workflow_batch_then_add_and_failure_policy(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("flow_batch_then");
    let (p, [then, catch, finally]) = plan(&q, 2, false);
    let id = p.id.clone();
    ok(d.push_batch(p).await, "push_batch");
    let first = claim_all(d, &q).await;
    let info = ok(
        d.add_to_batch(&id, vec![job(&q, 5, 1, None)]).await,
        "add_to_batch",
    );
    assert_eq!(counts(&info), (3, 3, 0, 0, 0), "added jobs count");
    ok(d.ack_batch(&first).await, "ack_batch");
    assert_eq!(counts(&batch_info(d, &id).await), (3, 1, 2, 0, 0));
    let added = claim_all(d, &q).await;
    assert_eq!(added.len(), 1, "the added job runs");
    ok(d.ack(&added[0]).await, "ack");
    let released = claim_all(d, &q).await;
    assert_eq!(ids_of(&released), HashSet::from([then, finally]));
    assert_eq!(
        state_of(d, &q, &catch).await,
        None,
        "an unreleased catch is removed"
    );
    ok(d.ack_batch(&released).await, "ack_batch");

    // Without allow_failures: the first failure cancels the jobs not started.
    let (p, [then, catch, finally]) = plan(&q, 5, false);
    let id = p.id.clone();
    ok(d.push_batch(p).await, "push_batch");
    let running = claim(d, std::slice::from_ref(&q), 2, LONG_LEASE).await;
    assert_eq!(running.len(), 2);
    ok(d.fail(&running[0].lease, "boom").await, "fail");
    let info = batch_info(d, &id).await;
    assert!(info.cancelled_batch, "{info:?}");
    assert_eq!(
        counts(&info),
        (5, 1, 0, 1, 3),
        "the 3 jobs not started are cancelled"
    );
    let released = claim_all(d, &q).await;
    assert_eq!(
        ids_of(&released),
        HashSet::from([catch]),
        "only catch so far"
    );
    ok(
        d.ack(&running[1].lease).await,
        "the running job still finishes",
    );
    let info = batch_info(d, &id).await;
    assert_eq!(counts(&info), (5, 0, 1, 1, 3));
    let last = claim_all(d, &q).await;
    assert_eq!(ids_of(&last), HashSet::from([finally]));
    assert_eq!(state_of(d, &q, &then).await, None);
}

/// Settlements from many claimers at once keep the counters exact and release
/// each callback exactly once; a cancelled batch removes its jobs not started;
/// `batches` lists kept batches newest first.
pub async fn workflow_batch_is_exact_under_concurrency_and_cancel(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: Arc<dyn Driver> = Arc::clone(&d);
    let q = queue("flow_batch_many");
    let (p, [then, _catch, finally]) = plan(&q, 200, true);
    let id = p.id.clone();
    ok(d.push_batch(p).await, "push_batch");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (d, q) = (d.clone(), q.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let got = ok(
                    d.claim(std::slice::from_ref(&q), 7, LONG_LEASE).await,
                    "claim",
                );
                if got.is_empty() {
                    break seen;
                }
                let leases: Vec<Lease> = got.into_iter().map(|r| r.lease).collect();
                seen.extend(leases.iter().map(|l| l.job_id.clone()));
                ok(d.ack_batch(&leases).await, "ack_batch");
            }
        }));
    }
    let mut claimed: Vec<JobId> = Vec::new();
    for t in tasks {
        claimed.extend(t.await.expect("claimer task"));
    }
    // Callbacks released at the end may have been claimed by the last claimers.
    claimed.extend(claim_all(&*d, &q).await.into_iter().map(|l| l.job_id));
    let info = batch_info(&*d, &id).await;
    assert_eq!(counts(&info), (200, 0, 200, 0, 0), "{info:?}");
    let callbacks: Vec<&JobId> = claimed
        .iter()
        .filter(|c| **c == then || **c == finally)
        .collect();
    assert_eq!(
        callbacks.len(),
        2,
        "then and finally exactly once each: {callbacks:?}"
    );

    let (p, _) = plan(&q, 10, true);
    let cancelled_id = p.id.clone();
    ok(d.push_batch(p).await, "push_batch");
    let running = claim(&*d, std::slice::from_ref(&q), 2, LONG_LEASE).await;
    let info = ok(d.cancel_batch(&cancelled_id).await, "cancel_batch").expect("known batch");
    assert!(info.cancelled_batch);
    assert_eq!(
        counts(&info),
        (10, 2, 0, 0, 8),
        "jobs not started are cancelled"
    );
    let again = ok(d.cancel_batch(&cancelled_id).await, "cancel_batch").expect("known");
    assert_eq!(
        counts(&again),
        counts(&info),
        "cancelling twice changes nothing"
    );
    assert!(
        claim_all(&*d, &q).await.is_empty(),
        "a cancelled batch's jobs are not run"
    );
    let leases: Vec<Lease> = running.into_iter().map(|r| r.lease).collect();
    ok(d.ack_batch(&leases).await, "ack_batch");
    let info = batch_info(&*d, &cancelled_id).await;
    assert_eq!(counts(&info), (10, 0, 2, 0, 8));
    assert!(info.finished_at_ms.is_some());
    let finally_only = claim_all(&*d, &q).await;
    assert_eq!(
        finally_only.len(),
        1,
        "a cancelled batch still runs finally"
    );
    ok(d.ack_batch(&finally_only).await, "ack_batch");
    assert_eq!(
        ok(d.cancel_batch(&BatchId::generate()).await, "cancel_batch"),
        None
    );

    let listed: Vec<BatchId> = ok(d.batches().await, "batches")
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(listed, vec![cancelled_id, id], "batches newest first");
    assert_counts(&*d, &q, (0, 0, 0, 0), "all settled").await;
}
