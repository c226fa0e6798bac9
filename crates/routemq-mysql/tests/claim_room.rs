//! claim_room (migration 0015): every waiting row holds 48 bytes that its claim
//! gives up in the same UPDATE that sets reserved_at, lease_until and owner, so
//! the claimed row is no longer than the waiting one and InnoDB rewrites it in
//! place; every way back to waiting gives the room back.

mod common;

use std::time::Duration;

use routemq_core::prelude::*;
use routemq_core::{Lease, QueueName};
use routemq_mysql::mysql_async::prelude::Queryable;

const LEASE: Duration = Duration::from_secs(30);

/// The job's (LENGTH(claim_room), LENGTH(owner)); NULL columns as None.
async fn room_and_owner(held: &common::Held, job: &str) -> (Option<u64>, Option<u64>) {
    let mut c = common::raw(held).await;
    c.exec_first(
        "SELECT LENGTH(claim_room), LENGTH(owner) FROM queue_jobs WHERE uuid = ?",
        (job,),
    )
    .await
    .unwrap()
    .expect("the job's row")
}

async fn claim_one(held: &common::Held, q: &QueueName, lease: Duration) -> Lease {
    let got = held.claim(std::slice::from_ref(q), 1, lease).await.unwrap();
    assert_eq!(got.len(), 1, "one job claimed");
    got.into_iter().next().unwrap().lease
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_takes_the_room_that_its_columns_fill_and_a_release_gives_it_back() {
    let held = common::fresh().await;
    let q = common::q("room");
    let single = held.push(common::job(&q, 0, None)).await.unwrap();
    let bulk = held
        .push_bulk((1..3).map(|n| common::job(&q, n, None)).collect())
        .await
        .unwrap();
    for id in std::iter::once(&single).chain(&bulk) {
        assert_eq!(
            room_and_owner(&held, id.as_str()).await,
            (Some(48), None),
            "a pushed job waits with its room"
        );
    }

    let lease = claim_one(&held, &q, LEASE).await;
    let (room, owner) = room_and_owner(&held, lease.job_id.as_str()).await;
    assert_eq!(room, None, "the claim gave the room up");
    let owner = owner.expect("the claim wrote its token");
    // reserved_at and lease_until take 8 bytes each; the token and its length
    // byte must fit in what the room and its length byte freed.
    assert!(
        16 + 1 + owner <= 48 + 1,
        "a {owner}-byte token fits the room"
    );

    held.release(&lease, Duration::ZERO).await.unwrap();
    assert_eq!(
        room_and_owner(&held, lease.job_id.as_str()).await,
        (Some(48), None),
        "a released job waits with its room again"
    );

    let lease = claim_one(&held, &q, LEASE).await;
    held.release_uncounted(&lease, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        room_and_owner(&held, lease.job_id.as_str()).await,
        (Some(48), None),
        "a job given back uncounted waits with its room again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reclaimed_reservation_waits_with_its_room_again() {
    let held = common::fresh().await;
    let q = common::q("room-reclaim");
    let id = held.push(common::job(&q, 0, None)).await.unwrap();
    let lease = claim_one(&held, &q, Duration::from_millis(1)).await;
    assert_eq!(lease.job_id, id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let report = held
        .reclaim_expired(std::slice::from_ref(&q))
        .await
        .unwrap();
    assert_eq!(report.released, 1, "{report:?}");
    assert_eq!(
        room_and_owner(&held, id.as_str()).await,
        (Some(48), None),
        "a reclaimed job waits with its room again"
    );
}
