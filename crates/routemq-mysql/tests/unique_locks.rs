//! Uniqueness locks in MySQL: jobs without uniqueness are not marked (their acks
//! never touch queue_unique_locks), lock rows name their job, and no row
//! outlives its job on any path.

mod common;

use std::time::Duration;

use mysql_async::prelude::Queryable;
use routemq_core::prelude::*;
use routemq_core::{UniqueKey, UniqueScope, Uniqueness};

fn unique(key: &str, scope: UniqueScope) -> Uniqueness {
    Uniqueness {
        key: UniqueKey::new(key).unwrap(),
        scope,
        debounce: None,
    }
}

async fn locks(d: &routemq_mysql::MysqlDriver) -> Vec<(String, Vec<u8>, u64)> {
    let mut conn = d.pool().get_conn().await.unwrap();
    conn.query("SELECT queue, unique_key, job_id FROM queue_unique_locks ORDER BY unique_key")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn lock_rows_name_their_job_and_go_with_it() {
    let held = common::fresh().await;
    let d = &held.driver;
    let q = common::q("uq");
    let qs = std::slice::from_ref(&q);
    let lease = Duration::from_secs(30);

    d.push(common::job(&q, 0, None)).await.unwrap();
    let plain = d.claim(qs, 1, lease).await.unwrap().remove(0);
    assert!(
        !plain.lease.token.0.ends_with('u'),
        "{:?}",
        plain.lease.token
    );
    d.ack(&plain.lease).await.unwrap();

    let f = unique("report:42", UniqueScope::UntilFinished);
    d.push_unique(common::job(&q, 1, None), &f).await.unwrap();
    let rows = locks(d).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_slice()),
        ("uq", &b"report:42"[..])
    );
    let r = d.claim(qs, 1, lease).await.unwrap().remove(0);
    assert!(
        r.lease.token.0.ends_with('u'),
        "a lock holder's token is marked"
    );
    let outcome = d.ack_batch(std::slice::from_ref(&r.lease)).await.unwrap();
    assert_eq!(outcome.acked, 1);
    assert!(locks(d).await.is_empty(), "ack_batch released the lock");

    d.push_unique(
        common::job(&q, 2, None),
        &unique("s", UniqueScope::UntilStarted),
    )
    .await
    .unwrap();
    let r = d.claim(qs, 1, lease).await.unwrap().remove(0);
    assert!(
        locks(d).await.is_empty(),
        "an until-started lock goes at claim"
    );
    d.ack(&r.lease).await.unwrap();
    d.push_unique(common::job(&q, 3, None), &f).await.unwrap();
    let r = d.claim(qs, 1, lease).await.unwrap().remove(0);
    d.fail(&r.lease, "boom").await.unwrap();
    assert!(locks(d).await.is_empty(), "fail released the lock");
    d.push_unique(common::job(&q, 4, None), &f).await.unwrap();
    d.push_unique(
        common::job(&q, 5, None),
        &unique("long", UniqueScope::For(Duration::from_secs(600))),
    )
    .await
    .unwrap();
    assert_eq!(locks(d).await.len(), 2);
    d.clear(&q).await.unwrap();
    assert!(locks(d).await.is_empty(), "clear released the locks");
}
