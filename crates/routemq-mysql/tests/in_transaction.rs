//! `push_in` / `push_bulk_in`: jobs stored with the caller's own transaction are
//! seen by workers only once it commits, never after a rollback, and are then
//! claimed once like any job (grouped and delayed ones included).

mod common;

use std::time::{Duration, SystemTime};

use mysql_async::prelude::Queryable;
use mysql_async::TxOpts;
use routemq_core::prelude::*;
use routemq_core::{DriverError, GroupKey, JobId};

#[tokio::test(flavor = "multi_thread")]
async fn jobs_of_a_transaction_appear_on_commit_only() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("orders");
    let qs = std::slice::from_ref(&q);
    let lease = Duration::from_secs(30);
    let mut conn = d.pool().get_conn().await.unwrap();
    conn.query_drop("CREATE TABLE orders (id INT PRIMARY KEY)")
        .await
        .unwrap();

    // Rolled back: neither the order nor its job.
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    tx.exec_drop("INSERT INTO orders (id) VALUES (?)", (1,))
        .await
        .unwrap();
    d.push_in(&mut tx, common::job(&q, 1, None)).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(d.claim(qs, 10, lease).await.unwrap().is_empty());
    assert_eq!(d.stats(&q).await.unwrap().ready, 0);

    // Before the commit nobody sees it; after, it is claimed once.
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    tx.exec_drop("INSERT INTO orders (id) VALUES (?)", (2,))
        .await
        .unwrap();
    let id = d.push_in(&mut tx, common::job(&q, 2, None)).await.unwrap();
    assert!(
        d.claim(qs, 10, lease).await.unwrap().is_empty(),
        "an uncommitted job is invisible to workers"
    );
    tx.commit().await.unwrap();
    let got = d.claim(qs, 10, lease).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].lease.job_id, id);
    d.ack(&got[0].lease).await.unwrap();
    assert!(d.claim(qs, 10, lease).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bulk_in_a_transaction_keeps_groups_and_due_times() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("mixed");
    let qs = std::slice::from_ref(&q);
    let lease = Duration::from_secs(30);
    let g = GroupKey::new("tenant-1").unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    let jobs = vec![
        common::job(&q, 1, None),
        common::job(&q, 2, None).in_group(Some(g.clone())),
        common::job(&q, 3, Some(later)),
    ];
    let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
    let mut conn = d.pool().get_conn().await.unwrap();
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    assert_eq!(d.push_bulk_in(&mut tx, jobs).await.unwrap(), ids);
    tx.commit().await.unwrap();
    let s = d.stats(&q).await.unwrap();
    assert_eq!((s.ready, s.delayed), (2, 1), "{s:?}");
    let got = d.claim(qs, 10, lease).await.unwrap();
    let mut seen: Vec<(JobId, Option<GroupKey>)> = got
        .iter()
        .map(|r| (r.lease.job_id.clone(), r.group.clone()))
        .collect();
    seen.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let mut expect = vec![(ids[0].clone(), None), (ids[1].clone(), Some(g))];
    expect.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    assert_eq!(seen, expect, "the grouped job keeps its group");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_job_is_refused_before_anything_is_written() {
    let held = common::fresh_with(|c| c.max_payload_bytes = 1024).await;
    let d = &held.driver;
    let q = common::q("big");
    let mut big = common::job(&q, 1, None);
    big.payload = vec![b'x'; 2048];
    let mut conn = d.pool().get_conn().await.unwrap();
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    let err = d
        .push_bulk_in(&mut tx, vec![common::job(&q, 0, None), big])
        .await
        .unwrap_err();
    assert!(
        matches!(err, DriverError::PayloadTooLarge { .. }),
        "{err:?}"
    );
    tx.commit().await.unwrap();
    assert_eq!(d.stats(&q).await.unwrap().ready, 0, "nothing of the batch");
}
