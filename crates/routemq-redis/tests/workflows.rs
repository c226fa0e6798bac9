//! Chains and batches in Redis, beyond the conformance rules: only workflow jobs
//! carry a workflow tail and a `w` token (a plain job's claim and ack are
//! unchanged), `clear` removes waiting jobs and batch keys, a batch whose last
//! job is reclaimed out of tries still finishes, finished batches expire, the
//! settling scripts that are not the worker's usual path (cancel, release of a
//! flagged job) count, a batch cancel keeps the ready list's order, and every
//! workflow key stays in its queue's hash tag.

mod common;

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use common::{job, job_at, job_meta, queue, setup, Setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_core::{
    BatchId, BatchInfo, BatchPlan, CancelOutcome, ChainPlan, DriverError, JobId, JobState, Lease,
    PendingJob, QueueName, BATCH_KEPT_FOR,
};
use routemq_redis::KeyMode;

const LEASE: Duration = Duration::from_secs(30);

/// The queue's key base in plain mode (`{prefix}:queue:{name}`).
fn base(s: &Setup, q: &str) -> String {
    format!("{}:queue:{q}", s.target.prefix)
}

async fn meta_of(s: &Setup, q: &str, id: &JobId) -> Option<String> {
    job_meta(&s.raw, &format!("{}:jobs", base(s, q)), id.as_str()).await
}

async fn claim_all(d: &dyn Driver, q: &QueueName, lease: Duration) -> Vec<Lease> {
    d.claim(std::slice::from_ref(q), 1000, lease)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.lease)
        .collect()
}

fn ids_of(leases: &[Lease]) -> HashSet<JobId> {
    leases.iter().map(|l| l.job_id.clone()).collect()
}

fn batch_plan(name: &str, jobs: Vec<PendingJob>, allow_failures: bool) -> BatchPlan {
    BatchPlan {
        id: BatchId::generate(),
        queue: queue(name),
        name: "test".into(),
        jobs,
        then: Some(job(name, 901, 1)),
        catch: Some(job(name, 902, 1)),
        finally: Some(job(name, 903, 1)),
        allow_failures,
    }
}

fn counts(b: &BatchInfo) -> (u64, u64, u64, u64, u64) {
    (b.total, b.pending, b.succeeded, b.failed, b.cancelled)
}

async fn state_of(d: &dyn Driver, q: &QueueName, id: &JobId) -> Option<JobState> {
    d.job_status(q, id).await.unwrap().map(|s| s.state)
}

#[tokio::test]
async fn only_workflow_jobs_are_marked_and_a_plain_ack_is_unchanged() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "wf_marks";
    let q = queue(name);
    let plain = d.push(job(name, 0, 3)).await.unwrap();
    let links = vec![job(name, 1, 3), job(name, 2, 3)];
    let ids = d
        .push_chain(ChainPlan {
            queue: q.clone(),
            links,
            catch: None,
        })
        .await
        .unwrap();
    let batch = batch_plan(name, vec![job(name, 3, 3)], true);
    let batch_job = batch.jobs[0].id.clone();
    let batch_id = batch.id.clone();
    d.push_batch(batch).await.unwrap();

    let plain_meta = meta_of(&s, name, &plain).await.unwrap();
    assert_eq!(plain_meta.split('|').count(), 3, "no tail: {plain_meta}");
    let link_meta = meta_of(&s, name, &ids[0]).await.unwrap();
    assert!(
        link_meta.ends_with(&format!("|w|c|{}|", ids[1])),
        "{link_meta}"
    );
    let last_meta = meta_of(&s, name, &ids[1]).await.unwrap();
    assert_eq!(
        last_meta.split('|').count(),
        3,
        "the last link of a chain without catch needs no tail: {last_meta}"
    );
    let job_meta = meta_of(&s, name, &batch_job).await.unwrap();
    assert!(
        job_meta.ends_with(&format!("|w|b|{batch_id}")),
        "{job_meta}"
    );

    let got = claim_all(d, &q, LEASE).await;
    assert_eq!(got.len(), 3, "the plain job, link 1 and the batch job");
    for l in &got {
        let marked = l.token.0.ends_with('w');
        assert_eq!(
            marked,
            l.job_id != plain,
            "token {} of {}",
            l.token.0,
            l.job_id
        );
    }
    assert_eq!(d.ack_batch(&got).await.unwrap().acked, 3);
    let mut conn = s.raw.clone();
    let waiting: Vec<String> = conn
        .smembers(format!("{}:waiting", base(&s, name)))
        .await
        .unwrap();
    assert_eq!(
        waiting,
        Vec::<String>::new(),
        "link 2, then and finally released, catch removed"
    );
    let next = claim_all(d, &q, LEASE).await;
    assert!(ids_of(&next).contains(&ids[1]), "link 2 follows");
    assert_eq!(next.len(), 3, "link 2, then and finally");
    for l in &next {
        assert!(
            !l.token.0.ends_with('w'),
            "the last link (no catch) and callbacks are plain"
        );
    }
}

#[tokio::test]
async fn clear_removes_waiting_jobs_and_batch_keys() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "wf_clear";
    let q = queue(name);
    let b = base(&s, name);
    d.push_chain(ChainPlan {
        queue: q.clone(),
        links: vec![job(name, 1, 3), job(name, 2, 3)],
        catch: Some(job(name, 3, 3)),
    })
    .await
    .unwrap();
    let plan = batch_plan(name, vec![job(name, 4, 3), job(name, 5, 3)], true);
    let id = plan.id.clone();
    d.push_batch(plan).await.unwrap();
    let mut conn = s.raw.clone();
    for key in [
        format!("{b}:waiting"),
        format!("{b}:batches"),
        format!("{b}:batch:{id}"),
        format!("{b}:batch:{id}:jobs"),
    ] {
        let there: bool = conn.exists(&key).await.unwrap();
        assert!(there, "{key} exists before the clear");
    }
    // 1 ready link + 2 waiting + 2 batch jobs + 3 callbacks.
    assert_eq!(d.clear(&q).await.unwrap(), 8);
    let mut left: Vec<String> = conn.keys(format!("{b}*")).await.unwrap();
    // Wake-up tokens are not jobs: clear leaves them, as for any queue; and
    // the set of job buckets, whose names leave it by sweep (job_buckets.rs).
    left.retain(|k| !k.ends_with(":notify") && !k.ends_with(":jobs:buckets"));
    assert_eq!(left, Vec::<String>::new(), "nothing of the queue is left");
    assert_eq!(
        d.batch(&id).await.unwrap(),
        None,
        "a cleared batch is unknown"
    );
    assert!(d.batches().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_batch_whose_last_job_is_reclaimed_out_of_tries_finishes_and_expires() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "wf_reclaim";
    let q = queue(name);
    let b = base(&s, name);
    let plan = batch_plan(name, vec![job(name, 1, 1), job(name, 2, 1)], true);
    let [then, catch, finally] =
        [&plan.then, &plan.catch, &plan.finally].map(|j| j.as_ref().map(|j| j.id.clone()).unwrap());
    let id = plan.id.clone();
    d.push_batch(plan).await.unwrap();
    let mut conn = s.raw.clone();
    let ttl: i64 = conn.pttl(format!("{b}:batch:{id}")).await.unwrap();
    assert_eq!(ttl, -1, "a running batch does not expire");

    let got = claim_all(d, &q, LEASE).await;
    assert_eq!(got.len(), 2);
    d.ack(&got[0]).await.unwrap();
    // The second one's worker dies; its lease expires on its only try.
    let mut conn2 = s.raw.clone();
    let _: () = conn2
        .zadd(
            format!("{b}:reserved"),
            format!("{}|{}", got[1].job_id, got[1].token.0),
            1,
        )
        .await
        .unwrap();
    let report = d.reclaim_expired(std::slice::from_ref(&q)).await.unwrap();
    assert_eq!(report.failed, 1);
    let info = d.batch(&id).await.unwrap().unwrap();
    assert_eq!(counts(&info), (2, 0, 1, 1, 0));
    assert!(info.finished_at_ms.is_some(), "{info:?}");
    let released = claim_all(d, &q, LEASE).await;
    assert_eq!(ids_of(&released), HashSet::from([catch, finally]));
    assert_eq!(state_of(d, &q, &then).await, None, "then is removed");

    let kept = BATCH_KEPT_FOR.as_millis() as i64;
    let ttl: i64 = conn.pttl(format!("{b}:batch:{id}")).await.unwrap();
    assert!(ttl > kept - 10_000 && ttl <= kept, "pttl {ttl}");
    let score: f64 = conn
        .zscore(format!("{b}:batches"), id.as_str())
        .await
        .unwrap();
    let now = routemq_core::unix_ms(SystemTime::now()) as f64;
    assert!(
        (score - now - kept as f64).abs() < 10_000.0,
        "index score {score}"
    );
    let index: Option<String> = conn
        .hget(format!("{}:batches", s.target.prefix), id.as_str())
        .await
        .unwrap();
    assert!(index.is_some_and(|v| v.starts_with(&format!("{name}|"))));
}

#[tokio::test]
async fn cancels_and_flagged_releases_count_in_the_batch() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "wf_cancel";
    let q = queue(name);
    let later = SystemTime::now() + Duration::from_secs(3600);
    let jobs = vec![
        job(name, 1, 3),
        job(name, 2, 3),
        job_at(name, 3, 3, Some(later)),
    ];
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
    let plan = batch_plan(name, jobs, true);
    let id = plan.id.clone();
    let then = plan.then.as_ref().unwrap().id.clone();
    let finally = plan.finally.as_ref().unwrap().id.clone();
    d.push_batch(plan).await.unwrap();
    assert_eq!(state_of(d, &q, &ids[2]).await, Some(JobState::Delayed));
    assert_eq!(state_of(d, &q, &then).await, Some(JobState::Waiting));

    // A delayed batch job cancelled: counted cancelled.
    assert_eq!(d.cancel(&q, &ids[2]).await.unwrap(), CancelOutcome::Removed);
    assert_eq!(
        counts(&d.batch(&id).await.unwrap().unwrap()),
        (3, 2, 0, 0, 1)
    );
    // A waiting callback cancelled: removed, never released.
    assert_eq!(d.cancel(&q, &then).await.unwrap(), CancelOutcome::Removed);
    assert_eq!(state_of(d, &q, &then).await, Some(JobState::Cancelled));

    let got = claim_all(d, &q, LEASE).await;
    assert_eq!(got.len(), 2);
    // A retry changes no counter.
    d.release(&got[0], Duration::ZERO).await.unwrap();
    assert_eq!(
        counts(&d.batch(&id).await.unwrap().unwrap()),
        (3, 2, 0, 0, 1)
    );
    let again = claim_all(d, &q, LEASE).await;
    assert_eq!(again.len(), 1);
    // Flagged while running, then given back: cancelled.
    assert_eq!(
        d.cancel(&q, &again[0].job_id).await.unwrap(),
        CancelOutcome::Requested
    );
    d.release(&again[0], Duration::ZERO).await.unwrap();
    assert_eq!(
        counts(&d.batch(&id).await.unwrap().unwrap()),
        (3, 1, 0, 0, 2)
    );
    assert_eq!(
        d.cancel(&q, &got[1].job_id).await.unwrap(),
        CancelOutcome::Requested
    );
    d.ack_cancelled(&got[1]).await.unwrap();
    let info = d.batch(&id).await.unwrap().unwrap();
    assert_eq!(counts(&info), (3, 0, 0, 0, 3));
    assert!(info.finished_at_ms.is_some());
    let released = claim_all(d, &q, LEASE).await;
    assert_eq!(ids_of(&released), HashSet::from([finally]));

    // Adding to a finished, a cancelled or an unknown batch is refused, naming it.
    let refused = |r: Result<BatchInfo, DriverError>, why: &str, id: &BatchId| match r {
        Err(DriverError::InvalidArgument(m)) => {
            assert!(m.contains(id.as_str()) && m.contains(why), "{m}")
        }
        other => panic!("expected a refusal ({why}), got {other:?}"),
    };
    refused(
        d.add_to_batch(&id, vec![job(name, 9, 1)]).await,
        "has finished",
        &id,
    );
    let plan = batch_plan(name, vec![job(name, 10, 1)], true);
    let running_id = plan.id.clone();
    d.push_batch(plan).await.unwrap();
    let running = claim_all(d, &q, LEASE).await;
    d.cancel_batch(&running_id).await.unwrap().unwrap();
    refused(
        d.add_to_batch(&running_id, vec![job(name, 11, 1)]).await,
        "was cancelled",
        &running_id,
    );
    let unknown = BatchId::generate();
    refused(
        d.add_to_batch(&unknown, vec![job(name, 12, 1)]).await,
        "is unknown",
        &unknown,
    );
    d.ack_batch(&running).await.unwrap();
}

#[tokio::test]
async fn a_batch_cancel_keeps_the_other_ready_jobs_in_order() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "wf_order";
    let mut plain = Vec::new();
    let plan = batch_plan(name, (0..40).map(|n| job(name, n, 1)).collect(), false);
    let id = plan.id.clone();
    plain.push(d.push(job(name, 100, 1)).await.unwrap());
    d.push_batch(plan).await.unwrap();
    plain.push(d.push(job(name, 101, 1)).await.unwrap());
    let more = (0..20).map(|n| job(name, 200 + n, 1)).collect::<Vec<_>>();
    let added = d.add_to_batch(&id, more).await.unwrap();
    assert_eq!(counts(&added), (60, 60, 0, 0, 0));
    plain.push(d.push(job(name, 102, 1)).await.unwrap());

    let info = d.cancel_batch(&id).await.unwrap().unwrap();
    assert_eq!(counts(&info), (60, 0, 0, 0, 60));
    assert!(info.cancelled_batch && info.finished_at_ms.is_some());
    let mut conn = s.raw.clone();
    let ready: Vec<String> = conn.lrange(base(&s, name), 0, -1).await.unwrap();
    let want: Vec<String> = plain.iter().map(|i| i.to_string()).collect();
    assert_eq!(ready[..3], want[..], "plain jobs keep their order");
    assert_eq!(ready.len(), 4, "and finally follows them");
    let gone: usize = conn
        .scard(format!("{}:batch:{id}:jobs", base(&s, name)))
        .await
        .unwrap();
    assert_eq!(gone, 0);
}

#[tokio::test]
async fn a_stale_index_entry_is_skipped_and_dropped() {
    let s = setup(KeyMode::Plain).await;
    let d: &dyn Driver = &s.driver;
    let name = "wf_index";
    let mut conn = s.raw.clone();
    let index = format!("{}:batches", s.target.prefix);
    let old = routemq_core::unix_ms(SystemTime::now()) - 3_600_000;
    let young = routemq_core::unix_ms(SystemTime::now());
    let _: () = conn
        .hset(&index, "gone-old", format!("{name}|{old}"))
        .await
        .unwrap();
    let _: () = conn
        .hset(&index, "gone-young", format!("{name}|{young}"))
        .await
        .unwrap();
    let plan = batch_plan(name, vec![job(name, 1, 1)], true);
    let id = plan.id.clone();
    d.push_batch(plan).await.unwrap();
    let listed: Vec<BatchId> = d
        .batches()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(listed, vec![id]);
    let left: Vec<String> = conn.hkeys(&index).await.unwrap();
    let left: HashSet<String> = left.into_iter().collect();
    assert!(!left.contains("gone-old"), "{left:?}");
    assert!(
        left.contains("gone-young"),
        "a young entry may be a batch being stored"
    );
    assert_eq!(
        d.batch(&BatchId::from_string("gone-old")).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn cluster_mode_keeps_workflow_keys_in_the_queue_slot() {
    let s = setup(KeyMode::Cluster).await;
    let d: &dyn Driver = &s.driver;
    let name = "wf_cluster";
    let q = queue(name);
    d.push_chain(ChainPlan {
        queue: q.clone(),
        links: vec![job(name, 1, 3), job(name, 2, 3)],
        catch: Some(job(name, 3, 3)),
    })
    .await
    .unwrap();
    let plan = batch_plan(name, vec![job(name, 4, 3)], false);
    let id = plan.id.clone();
    d.push_batch(plan).await.unwrap();
    let got = claim_all(d, &q, LEASE).await;
    assert_eq!(got.len(), 2);
    d.fail(&got[1], "boom").await.unwrap();
    d.ack(&got[0]).await.unwrap();
    let mut conn = s.raw.clone();
    let keys: Vec<String> = conn
        .keys(format!("{}:queue:*", s.target.prefix))
        .await
        .unwrap();
    assert!(keys.iter().any(|k| k.contains(":batch:")), "{keys:?}");
    for key in keys {
        assert!(key.contains(&format!("{{{name}}}")), "{key}");
    }
    let info = d.batch(&id).await.unwrap().unwrap();
    assert_eq!(counts(&info), (1, 0, 0, 1, 0));
}
