//! The claim cursor (`src/claim_cursor.rs`): claims scan past the last job they
//! took, yet a job that appears behind that point (its push committed after
//! newer jobs were claimed, or another claimer gave it back) is still claimed:
//! at once when the queue has nothing newer, and within the look-behind period
//! while newer jobs keep every claim full. Each rule runs twice: on a plain
//! queue (claim_select.sql) and on a queue with a per-group cap but no grouped
//! jobs, whose claims scan its ungrouped jobs (claim_select_ungrouped.sql).

mod common;

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::TxOpts;
use routemq_core::prelude::*;
use routemq_core::JobId;

const LEASE: Duration = Duration::from_secs(30);

/// The driver's look-behind period (`claim_cursor::LOOK_BEHIND_EVERY`).
const LOOK_BEHIND_EVERY: Duration = Duration::from_millis(500);

/// Puts a per-group cap on `q` when `ungrouped_scan`, so its claims take the
/// ungrouped scan.
async fn controls(
    d: &routemq_mysql::MysqlDriver,
    q: &routemq_core::QueueName,
    ungrouped_scan: bool,
) {
    if ungrouped_scan {
        d.set_group_concurrency(q, 5).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_commit_behind_the_cursor_is_claimed_when_nothing_newer_waits() {
    late_commit(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_commit_behind_the_ungrouped_scans_cursor_is_claimed() {
    late_commit(true).await;
}

async fn late_commit(ungrouped_scan: bool) {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("late");
    let qs = std::slice::from_ref(&q);
    controls(d, &q, ungrouped_scan).await;
    let mut conn = d.pool().get_conn().await.unwrap();
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    // Stored (and timed) first, committed last.
    let late = d.push_in(&mut tx, common::job(&q, 0, None)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let newer: Vec<_> = (1..=3).map(|n| common::job(&q, n, None)).collect();
    let newer_ids: Vec<JobId> = d.push_bulk(newer).await.unwrap();
    let got = d.claim(qs, 3, LEASE).await.unwrap();
    let got_ids: Vec<JobId> = got.iter().map(|r| r.lease.job_id.clone()).collect();
    assert_eq!(got_ids, newer_ids, "the uncommitted job is invisible");
    tx.commit().await.unwrap();

    // The scan past the cursor finds nothing, so the claim looks behind it.
    let got = d.claim(qs, 10, LEASE).await.unwrap();
    let got_ids: Vec<JobId> = got.iter().map(|r| r.lease.job_id.clone()).collect();
    assert_eq!(got_ids, vec![late]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_behind_the_cursor_of_a_busy_queue_waits_at_most_the_look_behind_period() {
    busy_queue(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_behind_the_ungrouped_scans_cursor_waits_at_most_the_look_behind_period() {
    busy_queue(true).await;
}

async fn busy_queue(ungrouped_scan: bool) {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("busy");
    let qs = std::slice::from_ref(&q);
    controls(d, &q, ungrouped_scan).await;
    let mut conn = d.pool().get_conn().await.unwrap();
    let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
    let late = d.push_in(&mut tx, common::job(&q, 0, None)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    d.push_bulk((1..=1000).map(|n| common::job(&q, n, None)).collect())
        .await
        .unwrap();
    let first = d.claim(qs, 10, LEASE).await.unwrap();
    assert_eq!(first.len(), 10);
    let looked_behind = tokio::time::Instant::now();
    tx.commit().await.unwrap();

    // Claims of 10 stay full from newer jobs; the late job comes within the
    // period (measured from the first claim, the last look from the head).
    let mut seen = std::collections::HashSet::new();
    for r in first {
        assert!(seen.insert(r.lease.job_id));
    }
    let found = loop {
        let got = d.claim(qs, 10, LEASE).await.unwrap();
        assert_eq!(got.len(), 10, "1,000 newer jobs keep every claim full");
        for r in &got {
            assert!(seen.insert(r.lease.job_id.clone()), "claimed twice");
        }
        if let Some(r) = got.iter().find(|r| r.lease.job_id == late) {
            break (looked_behind.elapsed(), r.attempt);
        }
        assert!(
            looked_behind.elapsed() < LOOK_BEHIND_EVERY + Duration::from_secs(5),
            "the late job was not claimed"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert!(
        found.0 >= LOOK_BEHIND_EVERY - Duration::from_millis(50),
        "claimed after {:?}: a scan from the head came early, so this test shows nothing",
        found.0
    );
    assert_eq!(found.1, 1, "first attempt");

    // Every job exactly once.
    loop {
        let got = d.claim(qs, 50, LEASE).await.unwrap();
        if got.is_empty() {
            break;
        }
        for r in got {
            assert!(seen.insert(r.lease.job_id.clone()), "claimed twice");
        }
    }
    assert_eq!(seen.len(), 1001);
    let ready: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM queue_jobs WHERE queue = ? AND reserved_at IS NULL",
            (q.as_str(),),
        )
        .await
        .unwrap();
    assert_eq!(ready, Some(0));
}
