//! Batch acks (`src/lease.rs`) when a statement fails: on Oracle MySQL the ack is
//! a transaction (`ack_batch_lock.sql`, then `delete_ids.sql`) that a failed
//! statement must not leave open; on MariaDB it is one autocommit
//! `DELETE … RETURNING` (`ack_batch_returning.sql`). Either way the failure is
//! returned, nothing is deleted, and the connection goes back to the pool with
//! no transaction open.

mod common;

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::TxOpts;
use routemq_core::prelude::*;
use routemq_core::{DriverError, Lease};

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_ack_that_fails_leaves_no_transaction_open() {
    // One pooled connection, so every driver call below shares it.
    let held = common::fresh_with(|c| {
        c.pool_min = 1;
        c.pool_max = 1;
        c.lock_retries = 0;
    })
    .await;
    let d = &held.driver;
    let q = common::q("acked");
    d.push_bulk((0..2).map(|n| common::job(&q, n, None)).collect())
        .await
        .unwrap();
    let got = d.claim(std::slice::from_ref(&q), 2, LEASE).await.unwrap();
    assert_eq!(got.len(), 2);
    let leases: Vec<Lease> = got.into_iter().map(|r| r.lease).collect();
    {
        let mut conn = d.pool().get_conn().await.unwrap();
        conn.query_drop("SET SESSION innodb_lock_wait_timeout = 1")
            .await
            .unwrap();
    }

    // Another session holds the second job's row, so the ack's lock waits and
    // times out.
    let mut other = mysql_async::Conn::from_url(held.url()).await.unwrap();
    let mut tx = other.start_transaction(TxOpts::default()).await.unwrap();
    let held_row: Option<u64> = tx
        .exec_first(
            "SELECT id FROM queue_jobs WHERE uuid = ? FOR UPDATE",
            (leases[1].job_id.as_str(),),
        )
        .await
        .unwrap();
    assert!(held_row.is_some());
    let err = d.ack_batch(&leases).await.unwrap_err();
    assert!(
        matches!(err, DriverError::Backend { .. }),
        "the lock-wait timeout is returned: {err:?}"
    );
    tx.rollback().await.unwrap();

    // Had the failed ack left its transaction open, this push would sit
    // uncommitted in it, unseen by any other session.
    let third = d.push(common::job(&q, 2, None)).await.unwrap();
    let seen: Option<u64> = other
        .exec_first(
            "SELECT COUNT(*) FROM queue_jobs WHERE uuid = ?",
            (third.as_str(),),
        )
        .await
        .unwrap();
    assert_eq!(seen, Some(1), "the push after the failed ack is committed");
    let left: Option<u64> = other
        .exec_first("SELECT COUNT(*) FROM queue_jobs", ())
        .await
        .unwrap();
    assert_eq!(left, Some(3), "the failed ack deleted nothing");

    let outcome = d.ack_batch(&leases).await.unwrap();
    assert_eq!((outcome.acked, outcome.lost.len()), (2, 0));
}
