//! Workflows in MySQL (migration 0013): waiting rows are never claimed nor
//! counted as ready or delayed and go with a clear, only workflow jobs get the `w` token marker,
//! the migration re-runs cleanly, expired batch records are pruned, and
//! concurrent batched acks of one batch's jobs from several drivers keep the
//! counters exact.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use routemq_core::prelude::*;
use routemq_core::{BatchId, BatchPlan, ChainPlan, JobId, JobState, Lease, PendingJob, QueueName};
use routemq_mysql::MysqlDriver;

const LEASE: Duration = Duration::from_secs(60);

async fn count(held: &common::Held, sql: &str) -> u64 {
    let mut conn = common::raw(held).await;
    let n: Option<u64> = conn.query_first(sql).await.unwrap();
    n.unwrap_or(0)
}

fn batch_plan(q: &QueueName, jobs: u64, allow_failures: bool) -> (BatchPlan, [JobId; 3]) {
    let (then, catch, finally) = (
        common::job(q, 901, None),
        common::job(q, 902, None),
        common::job(q, 903, None),
    );
    let ids = [then.id.clone(), catch.id.clone(), finally.id.clone()];
    let plan = BatchPlan {
        id: BatchId::generate(),
        queue: q.clone(),
        name: "mysql test".into(),
        jobs: (0..jobs).map(|n| common::job(q, n, None)).collect(),
        then: Some(then),
        catch: Some(catch),
        finally: Some(finally),
        allow_failures,
    };
    (plan, ids)
}

/// Waiting links and callbacks: never claimed, neither ready nor delayed in
/// stats, reported waiting, stored with the flag and the sentinel due time.
#[tokio::test(flavor = "multi_thread")]
async fn waiting_rows_are_never_claimed_nor_counted() {
    let held = common::fresh().await;
    let q = common::q("wf_wait");
    let links: Vec<PendingJob> = (0..3).map(|n| common::job(&q, n, None)).collect();
    let ids = held
        .push_chain(ChainPlan {
            queue: q.clone(),
            links,
            catch: Some(common::job(&q, 99, None)),
        })
        .await
        .unwrap();
    let (plan, [then, ..]) = batch_plan(&q, 0, true);
    // An empty batch finishes at once: then and finally released, catch gone.
    let info = held.push_batch(plan).await.unwrap();
    assert!(info.finished_at_ms.is_some());
    let (plan, _) = batch_plan(&q, 2, true);
    held.push_batch(plan).await.unwrap();

    let stats = held.stats(&q).await.unwrap();
    // The first link, two batch jobs, then and finally of the empty batch.
    assert_eq!((stats.ready, stats.delayed, stats.reserved), (5, 0, 0));
    assert_eq!(
        count(
            &held,
            "SELECT COUNT(*) FROM queue_jobs WHERE waiting = 1 AND reserved_at IS NULL \
             AND available_at = '9999-12-31 00:00:00'"
        )
        .await,
        6,
        "2 links, 1 chain catch, 3 callbacks of the running batch"
    );
    let got = held
        .claim(std::slice::from_ref(&q), 100, LEASE)
        .await
        .unwrap();
    assert_eq!(got.len(), 5, "waiting rows are never claimed");
    assert!(got.iter().all(|r| r.lease.job_id != ids[1]));
    assert!(got.iter().any(|r| r.lease.job_id == then));
    let status = held.job_status(&q, &ids[2]).await.unwrap().unwrap();
    assert_eq!(status.state, JobState::Waiting);
    assert_eq!(status.due_at_ms, None);
    let stats = held.stats(&q).await.unwrap();
    assert_eq!((stats.ready, stats.delayed, stats.reserved), (0, 0, 5));

    // clear takes the waiting rows and the queue's batch records with it.
    assert_eq!(held.clear(&q).await.unwrap(), 11);
    for table in ["queue_jobs", "queue_batches", "queue_batch_jobs"] {
        assert_eq!(
            count(&held, &format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
}

/// Only chain links and batch jobs get the `w` marker; callbacks, the last
/// link without a catch and plain jobs do not (their settlements pay nothing).
#[tokio::test(flavor = "multi_thread")]
async fn only_workflow_jobs_get_marked_tokens() {
    let held = common::fresh().await;
    let q = common::q("wf_mark");
    let plain = held.push(common::job(&q, 1, None)).await.unwrap();
    let single = held
        .push_chain(ChainPlan {
            queue: q.clone(),
            links: vec![common::job(&q, 2, None)],
            catch: None,
        })
        .await
        .unwrap();
    let chain = held
        .push_chain(ChainPlan {
            queue: q.clone(),
            links: vec![common::job(&q, 3, None), common::job(&q, 4, None)],
            catch: None,
        })
        .await
        .unwrap();
    let (plan, _) = batch_plan(&q, 1, true);
    let batch_job = plan.jobs[0].id.clone();
    held.push_batch(plan).await.unwrap();
    let got = held
        .claim(std::slice::from_ref(&q), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(got.len(), 4);
    for r in &got {
        let marked = r.lease.token.0.split_once('.').unwrap().1.contains('w');
        let want = r.lease.job_id == chain[0] || r.lease.job_id == batch_job;
        assert_eq!(marked, want, "{:?} {}", r.lease.job_id, r.lease.token.0);
        assert!(r.lease.job_id != single[0] || !marked);
        assert!(r.lease.job_id != plain || !marked);
    }
    let leases: Vec<Lease> = got.into_iter().map(|r| r.lease).collect();
    let acked = held.ack_batch(&leases).await.unwrap();
    assert_eq!(acked.acked, 4);
    // The chain's second link and the batch's then and finally follow.
    let next = held
        .claim(std::slice::from_ref(&q), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(next.len(), 3);
    assert!(next.iter().any(|r| r.lease.job_id == chain[1]));
}

/// A crash between migration 0013's statements and its record: running it
/// again finds the columns and tables there and records it as applied.
#[tokio::test(flavor = "multi_thread")]
async fn the_workflow_migration_runs_again_after_a_crash() {
    let held = common::fresh().await;
    let mut conn = common::raw(&held).await;
    conn.query_drop("DELETE FROM routemq_migrations WHERE version = 13")
        .await
        .unwrap();
    drop(conn);
    let report = held.driver.migrate().await.unwrap();
    assert_eq!(report.applied, vec![13]);
    assert!(held.driver.migrate().await.unwrap().applied.is_empty());
    assert_eq!(
        count(
            &held,
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() \
             AND table_name = 'queue_jobs' AND column_name IN ('waiting', 'flow_next', 'flow_catch', 'batch_id')"
        )
        .await,
        4
    );
}

/// Batch records past their expiry go (with their memberships) at the next
/// reclaim_expired; kept ones stay.
#[tokio::test(flavor = "multi_thread")]
async fn expired_batches_are_pruned() {
    let held = common::fresh().await;
    let q = common::q("wf_prune");
    let (plan, _) = batch_plan(&q, 3, true);
    let old = plan.id.clone();
    held.push_batch(plan).await.unwrap();
    let got = held
        .claim(std::slice::from_ref(&q), 10, LEASE)
        .await
        .unwrap();
    let leases: Vec<Lease> = got.into_iter().map(|r| r.lease).collect();
    held.ack_batch(&leases).await.unwrap();
    let (plan, _) = batch_plan(&q, 1, true);
    let kept = plan.id.clone();
    held.push_batch(plan).await.unwrap();
    assert!(held
        .batch(&old)
        .await
        .unwrap()
        .unwrap()
        .finished_at_ms
        .is_some());
    assert_eq!(
        count(&held, "SELECT COUNT(*) FROM queue_batch_jobs").await,
        4
    );

    let mut conn = common::raw(&held).await;
    conn.exec_drop(
        "UPDATE queue_batches SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE id = ?",
        (old.as_str(),),
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(held.batch(&old).await.unwrap(), None, "expired: not read");
    held.reclaim_expired(std::slice::from_ref(&q))
        .await
        .unwrap();
    assert_eq!(count(&held, "SELECT COUNT(*) FROM queue_batches").await, 1);
    assert_eq!(
        count(&held, "SELECT COUNT(*) FROM queue_batch_jobs").await,
        1
    );
    let listed: Vec<BatchId> = held
        .batches()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(listed, vec![kept]);
}

/// One batch's jobs settled by batched acks from 16 tasks over 4 drivers (4
/// pools, as 4 processes would): exact counters, then and finally once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_batched_acks_keep_exact_counters() {
    let held = common::fresh().await;
    let q = common::q("wf_many");
    const JOBS: u64 = 1500;
    let (plan, [then, catch, finally]) = batch_plan(&q, JOBS, false);
    let id = plan.id.clone();
    held.push_batch(plan).await.unwrap();
    let mut drivers = vec![held.driver.clone()];
    for _ in 0..3 {
        drivers.push(
            MysqlDriver::connect(held.driver.config().clone())
                .await
                .unwrap(),
        );
    }
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (d, q) = (drivers[t % 4].clone(), q.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut idle = 0;
            loop {
                let got = d.claim(std::slice::from_ref(&q), 4, LEASE).await.unwrap();
                if got.is_empty() {
                    idle += 1;
                    if idle > 3 {
                        break seen;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                idle = 0;
                let leases: Vec<Lease> = got.into_iter().map(|r| r.lease).collect();
                seen.extend(leases.iter().map(|l| l.job_id.clone()));
                let out = d.ack_batch(&leases).await.unwrap();
                assert_eq!(out.acked, leases.len(), "{:?}", out.lost);
            }
        }));
    }
    let mut claimed: Vec<JobId> = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let info = held.batch(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            info.total,
            info.pending,
            info.succeeded,
            info.failed,
            info.cancelled
        ),
        (JOBS, 0, JOBS, 0, 0),
        "{info:?}"
    );
    assert!(info.finished_at_ms.is_some());
    let unique: HashSet<&JobId> = claimed.iter().collect();
    assert_eq!(unique.len(), claimed.len(), "no job handed out twice");
    assert_eq!(
        claimed.len() as u64,
        JOBS + 2,
        "every job, then and finally"
    );
    assert_eq!(claimed.iter().filter(|c| **c == then).count(), 1);
    assert_eq!(claimed.iter().filter(|c| **c == finally).count(), 1);
    assert!(!claimed.contains(&catch));
    assert_eq!(held.job_status(&q, &catch).await.unwrap(), None);
}
