//! The driver's sessions run in UTC whatever a session would default to, so
//! producers and workers whose connections start in different time zones (a
//! server default, a proxy's or the URL's `setup`) agree on when a job is due.

mod common;

use std::time::{Duration, SystemTime};

use common::{job, q};
use routemq_core::prelude::*;
use routemq_mysql::mysql_async::prelude::Queryable;
use routemq_mysql::mysql_async::OptsBuilder;
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_testkit::mysql::MysqlSchema;

const LEASE: Duration = Duration::from_secs(60);

/// A driver over `url` whose connections start in time zone `zone` (as they
/// would on a server whose default is `zone`).
async fn driver_in(url: &str, zone: &str) -> MysqlDriver {
    let mut config = MysqlConfig::from_url(url).unwrap();
    config.opts = OptsBuilder::from_opts(config.opts)
        .setup(vec![format!("SET time_zone = '{zone}'")])
        .into();
    MysqlDriver::connect(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn producer_and_worker_in_other_time_zones_agree_on_due_times() {
    let schema = MysqlSchema::create()
        .await
        .expect("a MySQL/MariaDB for tests");
    // Twelve hours apart: without the driver's pin, a row written by one is
    // twelve hours off for the other.
    let producer = driver_in(schema.url(), "+05:00").await;
    let worker = driver_in(schema.url(), "-07:00").await;
    producer.migrate().await.unwrap();

    for d in [&producer, &worker] {
        let mut c = d.pool().get_conn().await.unwrap();
        let zone: Option<String> = c.query_first("SELECT @@session.time_zone").await.unwrap();
        assert_eq!(zone.as_deref(), Some("+00:00"));
    }

    let queue = q("tz");
    let due = SystemTime::now() + Duration::from_secs(2);
    producer.push(job(&queue, 1, None)).await.unwrap();
    producer.push(job(&queue, 2, Some(due))).await.unwrap();

    // Stored in UTC: the delayed row is due about 2 s after UTC_TIMESTAMP(),
    // which no session time zone affects.
    let mut c = worker.pool().get_conn().await.unwrap();
    let ahead: Vec<i64> = c
        .query(
            "SELECT TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), available_at)
             FROM queue_jobs ORDER BY id",
        )
        .await
        .unwrap();
    assert_eq!(ahead.len(), 2);
    assert!(ahead[0] <= 0, "the job for now is due now: {ahead:?}");
    assert!(
        (1_000_000..=2_000_000).contains(&ahead[1]),
        "the delayed job is due in ~2 s: {ahead:?}"
    );
    drop(c);

    let now = worker
        .claim(std::slice::from_ref(&queue), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(now.len(), 1, "only the job for now is claimable at once");
    let stats = worker.stats(&queue).await.unwrap();
    assert_eq!((stats.ready, stats.delayed), (0, 1), "{stats:?}");

    tokio::time::sleep(
        due.duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_add(Duration::from_millis(100)),
    )
    .await;
    let later = worker
        .claim(std::slice::from_ref(&queue), 10, LEASE)
        .await
        .unwrap();
    assert_eq!(later.len(), 1, "the delayed job is claimable once due");
    let expires = later[0].lease.expires_at.duration_since(SystemTime::now());
    let left = expires.expect("the lease ends in the future");
    assert!(
        left > Duration::from_secs(55) && left <= LEASE + Duration::from_secs(1),
        "the lease deadline is read back in UTC too: {left:?}"
    );
}
