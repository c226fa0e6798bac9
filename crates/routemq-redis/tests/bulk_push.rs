//! A push of ungrouped jobs to one queue is a `MULTI`/`EXEC` of plain commands
//! per chunk of 1,000 jobs: it stores what `push.lua` stores, in order across
//! chunks, and a server error in it is returned, not dropped, with the chunks
//! after it not sent.

mod common;

use std::time::{Duration, SystemTime};

use common::{job, job_at, job_field_count, job_with_id, now_ms, queue, setup, v7_at};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_redis::{job_hash, KeyMode};

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

/// A bulk push's chunks go one after another, the next built while the one
/// before is on its way but sent only once it succeeded: an error in the first
/// chunk (its bucket of the jobs hash holds a string, so its `HSET` fails)
/// is returned, and nothing of the second chunk reaches the queue.
#[tokio::test]
async fn an_error_in_a_chunk_stops_the_chunks_after_it() {
    let mut s = setup(KeyMode::Plain).await;
    let p = s.target.prefix.clone();
    let jobs_key = format!("{p}:queue:chunked:jobs");
    let t = now_ms();
    // 1,000 jobs (the first chunk) in one bucket, 500 in a bucket ten minutes on.
    let ids: Vec<String> = (0..1_500u64)
        .map(|n| v7_at(if n < 1_000 { t } else { t + 600_000 }, n))
        .collect();
    let jobs: Vec<routemq_core::PendingJob> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| job_with_id("chunked", n, 1, None, routemq_core::JobId::from_string(id)))
        .collect();
    let _: () = s
        .raw
        .set(job_hash(&jobs_key, &ids[0]), "not a hash")
        .await
        .unwrap();
    let err = s
        .driver
        .push_bulk(jobs)
        .await
        .expect_err("the first chunk's HSET onto a string fails");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
    let listed: Vec<String> = s
        .raw
        .lrange(format!("{p}:queue:chunked"), 0, -1)
        .await
        .unwrap();
    let second: Vec<&String> = listed
        .iter()
        .filter(|id| ids[1_000..].contains(id))
        .collect();
    assert!(
        second.is_empty(),
        "{} jobs of the second chunk queued",
        second.len()
    );
    let second_bucket: bool = s
        .raw
        .exists(job_hash(&jobs_key, &ids[1_000]))
        .await
        .unwrap();
    assert!(!second_bucket, "the second chunk's bucket was written");
}

/// `push_once` over two queues sends one `push_once.lua` per queue per 500
/// jobs: the answers come back in the order of the call, a job named twice in
/// one call is stored once, a second call stores nothing, and each queue keeps
/// its jobs in order (here across two 500-job chunks). In cluster key mode,
/// so it also runs on a Redis Cluster, where each script is a request of its
/// own (`ROUTEMQ_TEST_REDIS=cluster`).
#[tokio::test]
async fn push_once_answers_in_call_order_and_stores_each_job_once() {
    let s = setup(KeyMode::Cluster).await;
    let mut jobs: Vec<routemq_core::PendingJob> = (0..700)
        .map(|n| job(if n % 3 == 0 { "once-a" } else { "once-b" }, n, 2))
        .collect();
    jobs.insert(3, jobs[0].clone());
    let remember = Duration::from_secs(60);
    let stored = s.driver.push_once(&jobs, remember).await.unwrap();
    let expected: Vec<bool> = (0..jobs.len()).map(|at| at != 3).collect();
    assert_eq!(
        stored, expected,
        "the repeat at position 3 alone is refused"
    );
    let again = s.driver.push_once(&jobs, remember).await.unwrap();
    assert!(again.iter().all(|s| !s), "a second call stores nothing");

    for name in ["once-a", "once-b"] {
        let want: Vec<routemq_core::JobId> = jobs
            .iter()
            .filter(|j| j.queue.as_str() == name)
            .map(|j| j.id.clone())
            .collect();
        let mut want = want;
        want.dedup();
        let got = s
            .driver
            .claim(&[queue(name)], 1_000, Duration::from_secs(60))
            .await
            .unwrap();
        let got: Vec<routemq_core::JobId> = got.into_iter().map(|r| r.lease.job_id).collect();
        assert_eq!(got, want, "{name}: every job once, in order");
    }
}
