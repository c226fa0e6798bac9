//! A push of ungrouped jobs to one queue is a `MULTI`/`EXEC` of plain commands
//! per chunk of 1,000 jobs: it stores what `push.lua` stores, in order across
//! chunks, and a server error in it is returned, not dropped.

mod common;

use std::time::{Duration, SystemTime};

use common::{job, job_at, job_field_count, queue, setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_redis::KeyMode;

#[tokio::test]
async fn a_bulk_of_several_chunks_stores_every_job_in_order() {
    let mut s = setup(KeyMode::Plain).await;
    let p = s.target.prefix.clone();
    let later = SystemTime::now() + Duration::from_secs(3600);
    // 2,500 ready jobs with every 100th one delayed instead: three chunks.
    let jobs: Vec<routemq_core::PendingJob> = (0..2_500)
        .map(|n| match n % 100 {
            0 => job_at("bulk", n, 2, Some(later)),
            _ => job("bulk", n, 2),
        })
        .collect();
    let ready_ids: Vec<String> = jobs
        .iter()
        .filter(|j| j.available_at.is_none())
        .map(|j| j.id.to_string())
        .collect();
    let ids = s.driver.push_bulk(jobs).await.unwrap();
    assert_eq!(ids.len(), 2_500);

    let listed: Vec<String> = s
        .raw
        .lrange(format!("{p}:queue:bulk"), 0, -1)
        .await
        .unwrap();
    assert_eq!(listed, ready_ids, "ready ids in push order across chunks");
    let delayed: usize = s
        .raw
        .zcard(format!("{p}:queue:bulk:delayed"))
        .await
        .unwrap();
    assert_eq!(delayed, 25);
    let fields = job_field_count(&s.raw, &format!("{p}:queue:bulk:jobs")).await;
    assert_eq!(
        fields, 2_500,
        "one field per job, its body with the metadata in front"
    );
    let tokens: usize = s.raw.llen(format!("{p}:queue:bulk:notify")).await.unwrap();
    assert_eq!(tokens, 64, "wake-up tokens kept to 64");
    let known: Vec<String> = s.raw.smembers(format!("{p}:queues")).await.unwrap();
    assert!(
        known.contains(&"bulk".to_owned()),
        "queue registered: {known:?}"
    );

    // What was pushed is claimable with its attempts and tries.
    let got = s
        .driver
        .claim(&[queue("bulk")], 3_000, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got.len(), 2_475);
    assert!(got.iter().all(|r| r.attempt == 1 && r.max_tries == 2));
    let order: Vec<String> = got.iter().map(|r| r.lease.job_id.to_string()).collect();
    assert_eq!(order, ready_ids);
}

#[tokio::test]
async fn a_server_error_in_the_transaction_is_returned() {
    let mut s = setup(KeyMode::Plain).await;
    let p = s.target.prefix.clone();
    // The set of the jobs hash's buckets holds a string: SADD fails with
    // WRONGTYPE (after the buckets' HSETs, in the same EXEC).
    let _: () = s
        .raw
        .set(format!("{p}:queue:broken:jobs:buckets"), "not a set")
        .await
        .unwrap();
    let bulk = s
        .driver
        .push_bulk(vec![job("broken", 1, 1), job("broken", 2, 1)])
        .await;
    let err = bulk.expect_err("a bulk push onto a string key fails");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
    // The single push takes the same transaction once the queue is registered.
    let single = s.driver.push(job("broken", 3, 1)).await;
    let err = single.expect_err("a push onto a string key fails");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
}
