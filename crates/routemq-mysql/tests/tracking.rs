//! Job tracking in MySQL (migration 0012): the migration re-runs cleanly, a
//! cancel request turns a release or a reclaim into a cancelled record, kept
//! records expire and are pruned in chunks, a cancelled grouped job leaves the
//! other groups flowing, and run records never outlive their reservation.

mod common;

use std::time::Duration;

use mysql_async::prelude::Queryable;
use routemq_core::prelude::*;
use routemq_core::{
    CancelOutcome, DriverError, FailedQuery, GroupKey, JobState, Progress, RunReport, UniqueKey,
    UniqueScope, Uniqueness,
};

const LEASE: Duration = Duration::from_secs(30);

async fn count(held: &common::Held, sql: &str) -> u64 {
    let mut conn = common::raw(held).await;
    let n: Option<u64> = conn.query_first(sql).await.unwrap();
    n.unwrap_or(0)
}

/// A crash between migration 0012's statements and its record: running it again
/// finds the columns and the index there ("duplicate column", "duplicate key
/// name") and records it as applied.
#[tokio::test(flavor = "multi_thread")]
async fn the_tracking_migration_runs_again_after_a_crash() {
    let held = common::fresh().await;
    let mut conn = common::raw(&held).await;
    conn.query_drop("DELETE FROM routemq_migrations WHERE version = 12")
        .await
        .unwrap();
    drop(conn);
    let report = held.driver.migrate().await.unwrap();
    assert_eq!(report.applied, vec![12]);
    let again = held.driver.migrate().await.unwrap();
    assert!(again.applied.is_empty());
    assert_eq!(
        count(
            &held,
            "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() \
             AND table_name = 'queue_jobs' AND index_name = 'queue_jobs_uuid_index'"
        )
        .await,
        1
    );
}

/// job_status's lookup by (queue, uuid) uses queue_jobs_uuid_index.
#[tokio::test(flavor = "multi_thread")]
async fn status_lookups_use_the_uuid_index() {
    let held = common::fresh().await;
    let q = common::q("tix");
    let mut last = None;
    for n in 0..200 {
        last = Some(held.push(common::job(&q, n, None)).await.unwrap());
    }
    let mut conn = common::raw(&held).await;
    conn.query_drop("ANALYZE TABLE queue_jobs").await.unwrap();
    let rows: Vec<mysql_async::Row> = conn
        .exec(
            "EXPLAIN SELECT id FROM queue_jobs WHERE queue = 'tix' AND uuid = ?",
            (last.unwrap().as_str(),),
        )
        .await
        .unwrap();
    // A table (MariaDB, MySQL 8.0) or a tree (MySQL 9's default format): either
    // names the index it uses.
    let text: String = rows
        .iter()
        .flat_map(|r| r.clone().unwrap())
        .map(|v| match v {
            mysql_async::Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("queue_jobs_uuid_index"), "{text}");
}

/// A released job with a cancel request is recorded cancelled and deleted (the
/// release is Ok), whether the release counts the attempt or not; a stale
/// release is still LeaseLost.
#[tokio::test(flavor = "multi_thread")]
async fn a_release_of_a_flagged_job_cancels_it() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("trel");
    let qs = std::slice::from_ref(&q);
    for uncounted in [false, true] {
        let id = d.push(common::job(&q, 1, None)).await.unwrap();
        let r = d.claim(qs, 1, LEASE).await.unwrap().remove(0);
        assert_eq!(d.cancel(&q, &id).await.unwrap(), CancelOutcome::Requested);
        let st = d.job_status(&q, &id).await.unwrap().unwrap();
        assert_eq!((st.state, st.cancel_requested), (JobState::Running, true));
        let flagged = d
            .cancel_requests(std::slice::from_ref(&r.lease))
            .await
            .unwrap();
        assert_eq!(flagged, vec![id.clone()]);
        if uncounted {
            d.release_uncounted(&r.lease, Duration::ZERO).await.unwrap();
        } else {
            d.release(&r.lease, Duration::ZERO).await.unwrap();
        }
        let st = d.job_status(&q, &id).await.unwrap().unwrap();
        assert_eq!(st.state, JobState::Cancelled);
        assert!(st.finished_at_ms.is_some());
        assert!(d.claim(qs, 1, LEASE).await.unwrap().is_empty());
        let err = d.release(&r.lease, Duration::ZERO).await.unwrap_err();
        assert!(matches!(err, DriverError::LeaseLost { .. }), "{err}");
        assert_eq!(
            d.cancel(&q, &id).await.unwrap(),
            CancelOutcome::AlreadyFinished(JobState::Cancelled)
        );
    }
    assert!(d
        .failed_list(&FailedQuery::default())
        .await
        .unwrap()
        .is_empty());
}

/// An expired lease of a flagged job is recorded cancelled by the reclaim, even
/// on its last try (never failed), and its uniqueness lock is released; other
/// expired jobs are reclaimed as before in the same batch.
#[tokio::test(flavor = "multi_thread")]
async fn a_reclaim_of_a_flagged_job_cancels_it_even_out_of_tries() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("trec");
    let qs = std::slice::from_ref(&q);
    let mut last_try = common::job(&q, 1, None);
    last_try.max_tries = 1;
    let unique = Uniqueness {
        key: UniqueKey::new("k").unwrap(),
        scope: UniqueScope::UntilFinished,
        debounce: None,
    };
    let flagged = d.push_unique(last_try, &unique).await.unwrap().id;
    let other = d.push(common::job(&q, 2, None)).await.unwrap();
    let short = Duration::from_millis(200);
    let claimed = d.claim(qs, 2, short).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(
        d.cancel(&q, &flagged).await.unwrap(),
        CancelOutcome::Requested
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let report = d.reclaim_expired(qs).await.unwrap();
    assert_eq!((report.released, report.failed), (1, 0));
    let st = d.job_status(&q, &flagged).await.unwrap().unwrap();
    assert_eq!(
        (st.state, st.attempts, st.max_tries),
        (JobState::Cancelled, 1, 1)
    );
    assert_eq!(
        d.job_status(&q, &other).await.unwrap().unwrap().state,
        JobState::Ready
    );
    assert!(d
        .failed_list(&FailedQuery::default())
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        count(&held, "SELECT COUNT(*) FROM queue_unique_locks").await,
        0
    );
}

/// Kept records read as gone once expired, and reclaim_expired deletes expired
/// ones in chunks (an index range each) while leaving live ones.
#[tokio::test(flavor = "multi_thread")]
async fn records_expire_and_are_pruned() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("texp");
    let qs = std::slice::from_ref(&q);
    let id = d.push(common::job(&q, 1, None)).await.unwrap();
    let r = d.claim(qs, 1, LEASE).await.unwrap().remove(0);
    d.ack_and_keep(&r.lease, Some(b"{\"ok\":1}"), Duration::from_millis(300))
        .await
        .unwrap();
    let st = d.job_status(&q, &id).await.unwrap().unwrap();
    assert_eq!((st.state, st.has_result), (JobState::Succeeded, true));
    assert_eq!(
        d.job_result(&q, &id).await.unwrap().as_deref(),
        Some(&b"{\"ok\":1}"[..])
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(d.job_status(&q, &id).await.unwrap().is_none());
    assert!(d.job_result(&q, &id).await.unwrap().is_none());
    assert_eq!(
        d.cancel(&q, &id).await.unwrap(),
        CancelOutcome::NotFound,
        "an expired record is forgotten"
    );

    // 2,500 more expired records and one live one.
    let mut conn = common::raw(&held).await;
    conn.query_drop(
        "INSERT INTO queue_job_records (queue, uuid, state, expires_at)
         SELECT 'texp', CONCAT('old-', a.n * 100 + b.n * 10 + c.n + d.n * 1000), 'succeeded',
                NOW(6) - INTERVAL 1 SECOND
         FROM (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
               UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7
               UNION ALL SELECT 8 UNION ALL SELECT 9) AS a,
              (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
               UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7
               UNION ALL SELECT 8 UNION ALL SELECT 9) AS b,
              (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
               UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7
               UNION ALL SELECT 8 UNION ALL SELECT 9) AS c,
              (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2) AS d
         WHERE a.n * 100 + b.n * 10 + c.n + d.n * 1000 < 2500",
    )
    .await
    .unwrap();
    conn.query_drop(
        "INSERT INTO queue_job_records (queue, uuid, state, expires_at)
         VALUES ('texp', 'live', 'cancelled', NOW(6) + INTERVAL 1 HOUR)",
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(
        count(&held, "SELECT COUNT(*) FROM queue_job_records").await,
        2502
    );
    d.reclaim_expired(qs).await.unwrap();
    assert_eq!(
        count(&held, "SELECT COUNT(*) FROM queue_job_records").await,
        1,
        "every expired record pruned, the live one kept"
    );
    let live = routemq_core::JobId::from_string("live".to_owned());
    assert_eq!(
        d.job_status(&q, &live).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
}

/// A malformed record is an error naming what is wrong, not a status.
#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_record_is_an_error() {
    let held = common::fresh().await;
    let q = common::q("tbad");
    let mut conn = common::raw(&held).await;
    conn.query_drop(
        "INSERT INTO queue_job_records (queue, uuid, state, expires_at)
         VALUES ('tbad', 'j1', 'exploded', NOW(6) + INTERVAL 1 HOUR)",
    )
    .await
    .unwrap();
    drop(conn);
    let id = routemq_core::JobId::from_string("j1".to_owned());
    let err = held.job_status(&q, &id).await.unwrap_err();
    assert!(matches!(err, DriverError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("exploded"), "{err}");
}

/// Cancelling a waiting grouped job removes it; the other groups' and the
/// ungrouped jobs are still claimed, and the emptied lane leaves the rotation.
#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_grouped_job_keeps_the_other_groups_flowing() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("tgrp");
    let qs = std::slice::from_ref(&q);
    let a = GroupKey::new("a").unwrap();
    let b = GroupKey::new("b").unwrap();
    let ja = d
        .push(common::job(&q, 1, None).in_group(Some(a.clone())))
        .await
        .unwrap();
    let jb1 = d
        .push(common::job(&q, 2, None).in_group(Some(b.clone())))
        .await
        .unwrap();
    let jb2 = d
        .push(common::job(&q, 3, None).in_group(Some(b.clone())))
        .await
        .unwrap();
    let plain = d.push(common::job(&q, 4, None)).await.unwrap();
    assert_eq!(d.cancel(&q, &ja).await.unwrap(), CancelOutcome::Removed);
    assert_eq!(
        d.job_status(&q, &ja).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    let mut got = Vec::new();
    for _ in 0..5 {
        for r in d.claim(qs, 10, LEASE).await.unwrap() {
            got.push(r.lease.job_id.clone());
            d.ack(&r.lease).await.unwrap();
        }
    }
    got.sort();
    let mut want = vec![jb1, jb2, plain];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        count(
            &held,
            "SELECT COUNT(*) FROM queue_groups WHERE queue = 'tgrp' AND group_key = 'a'"
        )
        .await,
        0,
        "the cancelled job's lane left the rotation"
    );
}

/// A cancelled waiting job releases its uniqueness lock, so the key is free.
#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_unique_job_frees_its_key() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("tuq");
    let unique = Uniqueness {
        key: UniqueKey::new("k").unwrap(),
        scope: UniqueScope::UntilFinished,
        debounce: None,
    };
    let first = d
        .push_unique(common::job(&q, 1, None), &unique)
        .await
        .unwrap();
    assert_eq!(
        d.cancel(&q, &first.id).await.unwrap(),
        CancelOutcome::Removed
    );
    assert_eq!(
        count(&held, "SELECT COUNT(*) FROM queue_unique_locks").await,
        0
    );
    let second = d
        .push_unique(common::job(&q, 2, None), &unique)
        .await
        .unwrap();
    assert!(!second.duplicate);
}

/// Run records: fenced by the owner token, shown only for the reservation that
/// wrote them; after a release the error stays and worker/progress go; a
/// reclaimed attempt's progress never shows for the next one; ack_and_keep of
/// a stale lease is LeaseLost and stores nothing.
#[tokio::test(flavor = "multi_thread")]
async fn run_records_belong_to_their_reservation() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("trun");
    let qs = std::slice::from_ref(&q);
    let id = d.push(common::job(&q, 1, None)).await.unwrap();
    let r = d
        .claim(qs, 1, Duration::from_millis(300))
        .await
        .unwrap()
        .remove(0);
    let report = |lease: &routemq_core::Lease, pct: f32, error: Option<&str>| RunReport {
        lease: lease.clone(),
        worker: "w1".into(),
        progress: Some(Progress::new(pct, "half")),
        error: error.map(str::to_owned),
    };
    d.record_runs(&[report(&r.lease, 50.0, None)])
        .await
        .unwrap();
    let st = d.job_status(&q, &id).await.unwrap().unwrap();
    assert_eq!(st.state, JobState::Running);
    assert_eq!(st.worker.as_deref(), Some("w1"));
    let p = st.progress.unwrap();
    assert_eq!((p.percent, p.message.as_str()), (50.0, "half"));
    assert!(st.lease_until_ms.is_some());

    // Reclaimed, claimed again: the old attempt's record is not current.
    tokio::time::sleep(Duration::from_millis(500)).await;
    d.reclaim_expired(qs).await.unwrap();
    let r2 = d.claim(qs, 1, LEASE).await.unwrap().remove(0);
    d.record_runs(&[report(&r.lease, 90.0, None)])
        .await
        .unwrap();
    let st = d.job_status(&q, &id).await.unwrap().unwrap();
    assert_eq!((st.state, st.attempts), (JobState::Running, 2));
    assert_eq!((st.worker, st.progress), (None, None));

    // Two reports in one call (one stale), then a release for a retry.
    d.record_runs(&[
        report(&r.lease, 10.0, Some("stale")),
        report(&r2.lease, 70.0, Some("boom")),
    ])
    .await
    .unwrap();
    d.release(&r2.lease, Duration::from_secs(60)).await.unwrap();
    let st = d.job_status(&q, &id).await.unwrap().unwrap();
    assert_eq!(st.state, JobState::Delayed);
    assert!(st.due_at_ms.is_some());
    assert_eq!(st.last_error.as_deref(), Some("boom"));
    assert_eq!((st.worker, st.progress), (None, None));

    let err = d.ack_and_keep(&r2.lease, None, LEASE).await.unwrap_err();
    assert!(matches!(err, DriverError::LeaseLost { .. }), "{err}");
    assert_eq!(
        count(&held, "SELECT COUNT(*) FROM queue_job_records").await,
        0
    );
}
