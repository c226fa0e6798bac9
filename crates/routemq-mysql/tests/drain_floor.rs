//! The `mysql-throughput` example's floor procedure (`examples/drain_floor.sql`)
//! keeps the guarantee its header states, on the server the tests run on: it
//! drains the ready rows of its queue above `after` and stops, and leaves every
//! other row alone (an earlier row of the queue, a delayed row between the
//! drained ones, another queue's rows), as the driver's claim would.

mod common;

use std::time::{Duration, SystemTime};

use mysql_async::prelude::Queryable;
use routemq_core::prelude::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_floor_drains_only_the_ready_rows_of_its_queue_above_after() {
    let held = common::fresh().await;
    let d = &held.driver;
    let (q, other) = (common::q("floor"), common::q("floor-other"));
    let later = SystemTime::now() + Duration::from_secs(86_400);

    d.push(common::job(&q, 0, None)).await.unwrap();
    let mut c = common::raw(&held).await;
    let after: u64 = c
        .query_first("SELECT COALESCE(MAX(id), 0) FROM queue_jobs")
        .await
        .unwrap()
        .unwrap();
    // 50 ready rows with two delayed ones among them, then another queue's.
    let mut jobs: Vec<_> = (1..=50).map(|n| common::job(&q, n, None)).collect();
    jobs.insert(10, common::job(&q, 100, Some(later)));
    jobs.insert(30, common::job(&q, 101, Some(later)));
    d.push_bulk(jobs).await.unwrap();
    d.push_bulk((0..3).map(|n| common::job(&other, n, None)).collect())
        .await
        .unwrap();

    c.query_drop(include_str!("../examples/drain_floor.sql"))
        .await
        .unwrap();
    // 7 a claim: the last round is a partial one, then one that locks none.
    c.exec_drop(
        "CALL routemq_bench_drain_floor(?, ?, ?)",
        (q.as_str(), after, 7u64),
    )
    .await
    .unwrap();
    c.query_drop("DROP PROCEDURE routemq_bench_drain_floor")
        .await
        .unwrap();

    let counts: Vec<(String, u64, u64)> = c
        .query(
            "SELECT queue, COUNT(*), COUNT(reserved_at) FROM queue_jobs \
             GROUP BY queue ORDER BY queue",
        )
        .await
        .unwrap();
    assert_eq!(
        counts,
        vec![("floor".to_owned(), 3, 0), ("floor-other".to_owned(), 3, 0)],
        "left: the earlier row and the two delayed ones of `floor`, all of `floor-other`, none reserved"
    );
    let delayed: u64 = c
        .exec_first(
            "SELECT COUNT(*) FROM queue_jobs WHERE queue = ? AND id > ? AND available_at > NOW(6)",
            (q.as_str(), after),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delayed, 2, "the delayed rows between the drained ones stay");
}
