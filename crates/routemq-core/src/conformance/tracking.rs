//! Rules of [`JobTracking`](crate::JobTracking): a job's status through its
//! states, run records fenced by the lease and gone with the job, kept results
//! that expire, and cancellation of waiting and running jobs (never run again,
//! never counted as failed).

use std::time::{Duration, SystemTime};

use crate::{
    CancelOutcome, Driver, GroupKey, JobId, JobState, JobStatus, Lease, LeaseToken, Progress,
    QueueName, RunReport, UniqueKey, UniqueScope, Uniqueness,
};

use super::fixture::{
    assert_counts, assert_nothing_claimable, claim, claim_one, job, ok, push, push_at, push_job,
    queue, LONG_LEASE, SHORT_LEASE,
};
use super::DriverFactory;

/// The status of `id`, which must be known.
async fn status(d: &dyn Driver, q: &QueueName, id: &JobId, step: &str) -> JobStatus {
    match ok(d.job_status(q, id).await, "job_status") {
        Some(s) => {
            assert_eq!((&s.id, &s.queue), (id, q), "{step}: status of another job");
            s
        }
        None => panic!("{step}: job_status must know job {id} of {q}"),
    }
}

/// Asserts the state of `id`.
async fn assert_state(d: &dyn Driver, q: &QueueName, id: &JobId, want: JobState, step: &str) {
    let s = status(d, q, id, step).await;
    assert_eq!(s.state, want, "{step}: state of {id}, got {s:?}");
}

fn report(lease: &Lease, worker: &str, percent: f32, error: Option<&str>) -> RunReport {
    RunReport {
        lease: lease.clone(),
        worker: worker.to_owned(),
        progress: Some(Progress::new(percent, &format!("{percent} done"))),
        error: error.map(str::to_owned),
    }
}

fn stale(lease: &Lease) -> Lease {
    Lease {
        token: LeaseToken::random(),
        ..lease.clone()
    }
}

/// Status follows a job: delayed (with its due time), ready, running (lease,
/// attempts), then gone after a plain ack, or succeeded with its result after
/// `ack_and_keep`; unknown ids and other queues know nothing.
pub async fn tracking_status_follows_a_job(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("track_status");
    let due = SystemTime::now() + Duration::from_millis(300);
    let later = push_at(d, &q, 1, due).await;
    let s = status(d, &q, &later, "a delayed job").await;
    assert_eq!(s.state, JobState::Delayed, "a delayed job: {s:?}");
    let due_ms = crate::unix_ms(due);
    assert!(
        s.due_at_ms.is_some_and(|at| (at - due_ms).abs() <= 5),
        "a delayed job reports its due time {due_ms}, got {:?}",
        s.due_at_ms
    );
    assert_eq!((s.attempts, s.max_tries), (0, 3), "a new job's attempts");

    let now = push(d, &q, 2, 3).await;
    assert_state(d, &q, &now, JobState::Ready, "a ready job").await;
    let other = queue("track_status_other");
    assert_eq!(
        ok(d.job_status(&other, &now).await, "job_status"),
        None,
        "a job is known only on its own queue"
    );
    assert_eq!(
        ok(d.job_status(&q, &JobId::generate()).await, "job_status"),
        None,
        "an unknown id is None"
    );

    let r = claim_one(d, &q, "claim the ready job").await;
    assert_eq!(r.lease.job_id, now);
    let s = status(d, &q, &now, "a running job").await;
    assert_eq!(s.state, JobState::Running, "a running job: {s:?}");
    assert_eq!(s.attempts, 1, "attempts are counted at claim");
    let until = s.lease_until_ms.expect("a running job reports its lease");
    // The claim's deadline may be computed on the client and the stored one
    // on the server: allow for the clock reads between them.
    assert!(
        (until - crate::unix_ms(r.lease.expires_at)).abs() <= 100,
        "lease_until_ms {until} is the lease's deadline {:?}",
        r.lease.expires_at
    );
    assert!(!s.cancel_requested && s.worker.is_none() && s.progress.is_none());

    ok(d.ack(&r.lease).await, "ack");
    assert_eq!(
        ok(d.job_status(&q, &now).await, "job_status"),
        None,
        "a plain ack keeps no record"
    );

    tokio::time::sleep(Duration::from_millis(350)).await;
    let r = claim_one(d, &q, "claim the job once due").await;
    assert_eq!(r.lease.job_id, later);
    let result = br#"{"total":42}"#;
    ok(
        d.ack_and_keep(&r.lease, Some(result), Duration::from_secs(60))
            .await,
        "ack_and_keep",
    );
    let s = status(d, &q, &later, "a kept success").await;
    assert_eq!(s.state, JobState::Succeeded, "kept success: {s:?}");
    assert_eq!((s.attempts, s.max_tries), (1, 3), "kept success: {s:?}");
    assert!(s.has_result && s.finished_at_ms.is_some(), "kept: {s:?}");
    assert_eq!(
        ok(d.job_result(&q, &later).await, "job_result").as_deref(),
        Some(&result[..]),
        "the kept result reads back byte for byte"
    );
    assert_counts(d, &q, (0, 0, 0, 0), "after both jobs finished").await;
    super::fixture::expect_lease_lost(
        d.ack_and_keep(&r.lease, None, Duration::from_secs(60))
            .await,
        &later,
        "ack_and_keep of an acked job",
    );
}

/// Kept results expire by themselves; a job that returned nothing is kept with
/// its state but no result; a stale owner's `ack_and_keep` stores nothing.
pub async fn tracking_kept_records_expire(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("track_expire");
    let a = push(d, &q, 1, 3).await;
    let b = push(d, &q, 2, 3).await;
    let c = push(d, &q, 3, 3).await;
    let rs = claim(d, std::slice::from_ref(&q), 3, LONG_LEASE).await;
    assert_eq!(rs.len(), 3);
    let keep = Duration::from_millis(400);
    ok(
        d.ack_and_keep(&rs[0].lease, Some(b"1"), keep).await,
        "ack_and_keep",
    );
    ok(
        d.ack_and_keep(&rs[1].lease, None, Duration::from_secs(60))
            .await,
        "ack_and_keep without a result",
    );
    let s = status(d, &q, &b, "kept without a result").await;
    assert_eq!(s.state, JobState::Succeeded);
    assert!(!s.has_result, "no result was given: {s:?}");
    assert_eq!(ok(d.job_result(&q, &b).await, "job_result"), None);

    super::fixture::expect_lease_lost(
        d.ack_and_keep(&stale(&rs[2].lease), Some(b"2"), keep).await,
        &c,
        "ack_and_keep by a stale owner",
    );
    assert_state(d, &q, &c, JobState::Running, "after a stale ack_and_keep").await;
    assert_eq!(ok(d.job_result(&q, &c).await, "job_result"), None);

    assert_eq!(
        ok(d.job_result(&q, &a).await, "job_result").as_deref(),
        Some(&b"1"[..])
    );
    ok(d.ack(&rs[2].lease).await, "ack");
    assert!(
        ok(d.queues().await, "queues").contains(&q),
        "a queue whose jobs are all gone but kept records stays known (job lookup by id tries the known queues)"
    );
    tokio::time::sleep(keep + Duration::from_millis(300)).await;
    assert_eq!(
        ok(d.job_status(&q, &a).await, "job_status"),
        None,
        "a kept record is gone once its retention passed"
    );
    assert_eq!(
        ok(d.job_result(&q, &a).await, "job_result"),
        None,
        "a kept result is gone once its retention passed"
    );
    assert_state(d, &q, &b, JobState::Succeeded, "a longer retention stays").await;
}

/// Run records are written only for the current lease, show the worker and
/// progress while the job runs, leave only the error once the job is given back,
/// and go with the job.
pub async fn tracking_run_records_are_fenced_and_go_with_the_job(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("track_runs");
    let id = push(d, &q, 1, 3).await;
    let r = claim_one(d, &q, "claim").await;
    ok(
        d.record_runs(&[report(&r.lease, "worker-a", 40.0, None)])
            .await,
        "record_runs",
    );
    ok(
        d.record_runs(&[report(&stale(&r.lease), "intruder", 90.0, None)])
            .await,
        "record_runs of a stale lease is skipped, not an error",
    );
    let s = status(d, &q, &id, "a running job with a report").await;
    assert_eq!(s.worker.as_deref(), Some("worker-a"), "{s:?}");
    let p = s.progress.clone().expect("progress is shown");
    assert_eq!((p.percent, p.message.as_str()), (40.0, "40 done"));

    // The report with the attempt's error, then a retry.
    ok(
        d.record_runs(&[report(&r.lease, "worker-a", 60.0, Some("smtp said no"))])
            .await,
        "record_runs",
    );
    ok(d.release(&r.lease, Duration::ZERO).await, "release");
    let s = status(d, &q, &id, "a job waiting for its retry").await;
    assert_eq!(s.state, JobState::Ready, "{s:?}");
    assert_eq!(s.last_error.as_deref(), Some("smtp said no"), "{s:?}");
    assert!(
        s.worker.is_none() && s.progress.is_none(),
        "a waiting job shows no worker or progress of its old attempt: {s:?}"
    );

    let r2 = claim_one(d, &q, "claim the retry").await;
    let s = status(d, &q, &id, "the retry before its first report").await;
    assert_eq!((s.state, s.attempts), (JobState::Running, 2), "{s:?}");
    assert!(
        s.worker.is_none() && s.progress.is_none(),
        "the old attempt's report is not the new one's: {s:?}"
    );
    ok(
        d.record_runs(&[
            report(&r2.lease, "worker-b", 10.0, None),
            report(&r.lease, "worker-a", 99.0, None),
        ])
        .await,
        "record_runs with one stale report",
    );
    let s = status(d, &q, &id, "the retry reported").await;
    assert_eq!(s.worker.as_deref(), Some("worker-b"), "{s:?}");
    assert_eq!(s.progress.map(|p| p.percent), Some(10.0));
    ok(d.fail(&r2.lease, "gave up").await, "fail");
    assert_eq!(
        ok(d.job_status(&q, &id).await, "job_status"),
        None,
        "a failed job is reported by the failed store, not here"
    );

    // Many reports in one call, across queues.
    let q2 = queue("track_runs_two");
    let ids = [push(d, &q, 2, 3).await, push(d, &q2, 3, 3).await];
    let leases = [
        claim_one(d, &q, "claim").await.lease,
        claim_one(d, &q2, "claim").await.lease,
    ];
    let reports: Vec<RunReport> = leases
        .iter()
        .map(|l| report(l, "worker-c", 75.5, None))
        .collect();
    ok(d.record_runs(&reports).await, "record_runs across queues");
    for (l, id) in leases.iter().zip(&ids) {
        let s = status(d, &l.queue, id, "batch report").await;
        assert_eq!(s.progress.map(|p| p.percent), Some(75.5), "{id}");
        ok(d.ack(l).await, "ack");
    }
    assert_counts(d, &q, (0, 0, 0, 1), "every job settled").await;
}

/// Cancelling waiting jobs (ready, delayed, grouped, unique) removes them,
/// records them as cancelled and frees their lock; other jobs and groups go on.
pub async fn tracking_cancel_removes_waiting_jobs(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("track_cancel_wait");
    let ready = push(d, &q, 1, 3).await;
    let keep = push(d, &q, 2, 3).await;
    let delayed = push_at(d, &q, 3, SystemTime::now() + Duration::from_secs(60)).await;
    let g = GroupKey::new("tenant-1").expect("valid group");
    let grouped_jobs = [
        job(&q, 4, 3, None).in_group(Some(g.clone())),
        job(&q, 5, 3, None).in_group(Some(g.clone())),
    ];
    let gid: Vec<JobId> = grouped_jobs.iter().map(|j| j.id.clone()).collect();
    for j in grouped_jobs {
        push_job(d, j).await;
    }
    let u = Uniqueness {
        key: UniqueKey::new("report-7").expect("valid key"),
        scope: UniqueScope::UntilFinished,
        debounce: None,
    };
    let held = ok(d.push_unique(job(&q, 6, 3, None), &u).await, "push_unique").id;
    assert_counts(d, &q, (5, 1, 0, 0), "before the cancels").await;

    for (id, what) in [
        (&ready, "a ready job"),
        (&delayed, "a delayed job"),
        (&gid[0], "a grouped job"),
        (&held, "a unique job"),
    ] {
        assert_eq!(
            ok(d.cancel(&q, id).await, "cancel"),
            CancelOutcome::Removed,
            "cancel of {what}"
        );
        let s = status(d, &q, id, what).await;
        assert_eq!(s.state, JobState::Cancelled, "{what}: {s:?}");
        assert!(s.finished_at_ms.is_some(), "{what}: {s:?}");
        assert_eq!(
            ok(d.cancel(&q, id).await, "cancel"),
            CancelOutcome::AlreadyFinished(JobState::Cancelled),
            "a second cancel of {what}"
        );
    }
    assert_eq!(
        ok(d.cancel(&q, &JobId::generate()).await, "cancel"),
        CancelOutcome::NotFound
    );
    assert_eq!(
        ok(
            d.cancel(&queue("track_cancel_other"), &keep).await,
            "cancel"
        ),
        CancelOutcome::NotFound,
        "a job is cancelled only on its own queue"
    );
    assert_counts(d, &q, (2, 0, 0, 0), "after the cancels").await;

    let again = ok(d.push_unique(job(&q, 7, 3, None), &u).await, "push_unique");
    assert!(
        !again.duplicate,
        "a cancelled job's uniqueness lock is released"
    );
    let mut got: Vec<JobId> = claim(d, std::slice::from_ref(&q), 10, LONG_LEASE)
        .await
        .into_iter()
        .map(|r| r.lease.job_id)
        .collect();
    got.sort();
    let mut want = vec![keep, gid[1].clone(), again.id];
    want.sort();
    assert_eq!(got, want, "exactly the jobs not cancelled are claimed");
    assert_nothing_claimable(d, &q, "after claiming the rest").await;
}

/// A running job's cancel is a request its worker sees; the worker's
/// `ack_cancelled` records it as cancelled (not failed); only the owner may.
pub async fn tracking_cancel_requests_reach_the_running_worker(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("track_cancel_run");
    let a = push(d, &q, 1, 3).await;
    let b = push(d, &q, 2, 3).await;
    let rs = claim(d, std::slice::from_ref(&q), 2, LONG_LEASE).await;
    let leases: Vec<Lease> = rs.iter().map(|r| r.lease.clone()).collect();
    assert!(ok(d.cancel_requests(&leases).await, "cancel_requests").is_empty());

    assert_eq!(
        ok(d.cancel(&q, &a).await, "cancel"),
        CancelOutcome::Requested
    );
    assert_eq!(
        ok(d.cancel(&q, &a).await, "cancel"),
        CancelOutcome::Requested,
        "a second cancel of a running job asks again"
    );
    let s = status(d, &q, &a, "a running job asked to stop").await;
    assert_eq!(s.state, JobState::Running);
    assert!(s.cancel_requested, "{s:?}");
    assert_eq!(
        ok(d.cancel_requests(&leases).await, "cancel_requests"),
        vec![a.clone()],
        "only the cancelled job is named"
    );
    assert!(
        ok(
            d.cancel_requests(&[stale(&leases[0])]).await,
            "cancel_requests"
        )
        .is_empty(),
        "a lease no longer current is left out"
    );
    let lease_a = leases.iter().find(|l| l.job_id == a).expect("a's lease");
    super::fixture::expect_lease_lost(
        d.ack_cancelled(&stale(lease_a)).await,
        &a,
        "ack_cancelled by a stale owner",
    );
    ok(d.ack_cancelled(lease_a).await, "ack_cancelled");
    assert_state(d, &q, &a, JobState::Cancelled, "after ack_cancelled").await;
    assert_counts(d, &q, (0, 0, 1, 0), "a cancelled job is not failed").await;
    assert_eq!(ok(d.failed_show(&a).await, "failed_show"), None);
    let lease_b = leases.iter().find(|l| l.job_id == b).expect("b's lease");
    ok(d.ack(lease_b).await, "the other job finishes normally");
    assert_counts(d, &q, (0, 0, 0, 0), "all settled").await;
}

/// A job cancelled while it runs never runs again: a release (retry) or a
/// reclaim of its expired lease records it as cancelled, even out of tries.
pub async fn tracking_cancelled_running_job_never_runs_again(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("track_cancel_again");
    let retried = push(d, &q, 1, 3).await;
    let r = claim_one(d, &q, "claim").await;
    assert_eq!(
        ok(d.cancel(&q, &retried).await, "cancel"),
        CancelOutcome::Requested
    );
    ok(
        d.release(&r.lease, Duration::ZERO).await,
        "release of a cancelled job",
    );
    assert_state(
        d,
        &q,
        &retried,
        JobState::Cancelled,
        "released after a cancel",
    )
    .await;
    assert_nothing_claimable(d, &q, "a cancelled job given back").await;

    // Its worker died: reclaim records it, whatever its tries.
    let last_try = push(d, &q, 2, 1).await;
    let more = push(d, &q, 3, 3).await;
    let rs = claim(d, std::slice::from_ref(&q), 2, SHORT_LEASE).await;
    assert_eq!(rs.len(), 2);
    for id in [&last_try, &more] {
        assert_eq!(
            ok(d.cancel(&q, id).await, "cancel"),
            CancelOutcome::Requested
        );
    }
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(200)).await;
    ok(
        d.reclaim_expired(std::slice::from_ref(&q)).await,
        "reclaim_expired",
    );
    for id in [&last_try, &more] {
        assert_state(d, &q, id, JobState::Cancelled, "reclaimed after a cancel").await;
        assert_eq!(ok(d.failed_show(id).await, "failed_show"), None, "{id}");
    }
    assert_nothing_claimable(d, &q, "cancelled jobs whose worker died").await;
    assert_counts(d, &q, (0, 0, 0, 0), "nothing left, nothing failed").await;
}
