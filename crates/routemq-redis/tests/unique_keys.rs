//! Uniqueness locks in Redis: where they live (in the queue's slot), that jobs
//! without uniqueness carry no marker (their acks never read lock keys), and
//! that no lock key or index entry outlives its job on any path.

mod common;

use std::time::Duration;

use common::{job, job_field, queue, setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_core::{UniqueKey, UniqueScope, Uniqueness};
use routemq_redis::KeyMode;

fn unique(key: &str, scope: UniqueScope) -> Uniqueness {
    Uniqueness {
        key: UniqueKey::new(key).unwrap(),
        scope,
        debounce: None,
    }
}

#[tokio::test]
async fn locks_live_beside_their_queue_and_go_with_their_jobs() {
    let mut s = setup(KeyMode::Cluster).await;
    let p = s.target.prefix.clone();
    let d = &s.driver;
    let q = queue("uq");
    let qs = std::slice::from_ref(&q);
    let lease = Duration::from_secs(30);

    // A plain job: no metadata tail, a token without the lock marker.
    d.push(job("uq", 0, 3)).await.unwrap();
    let plain = d.claim(qs, 1, lease).await.unwrap().remove(0);
    assert!(
        !plain.lease.token.0.ends_with('u'),
        "{:?}",
        plain.lease.token
    );
    let meta = job_field(
        &s.raw,
        &format!("{p}:queue:{{uq}}:jobs"),
        &format!("{}:meta", plain.lease.job_id),
    )
    .await
    .map(|m| String::from_utf8(m).unwrap())
    .unwrap();
    assert_eq!(meta.matches('|').count(), 2, "a plain job's meta: {meta}");
    d.ack(&plain.lease).await.unwrap();

    // Until finished: the lock is a string in the queue's slot naming the job.
    let f = unique("report:{7}", UniqueScope::UntilFinished);
    let held = d.push_unique(job("uq", 1, 3), &f).await.unwrap();
    let lock = format!("{p}:queue:{{uq}}:unique:report:{{7}}");
    let holder: String = s.raw.get(&lock).await.unwrap();
    assert_eq!(holder, held.id.as_str());
    let ttl: i64 = s.raw.pttl(&lock).await.unwrap();
    assert!(
        ttl > 6 * 24 * 3600 * 1000,
        "an until-finished lock's safety expiry: {ttl} ms"
    );
    let r = d.claim(qs, 1, lease).await.unwrap().remove(0);
    assert!(
        r.lease.token.0.ends_with('u'),
        "a lock holder's token is marked"
    );
    d.ack(&r.lease).await.unwrap();

    // Until started: gone at claim; fail, clear and a short For lock too.
    d.push_unique(job("uq", 2, 3), &unique("s", UniqueScope::UntilStarted))
        .await
        .unwrap();
    let r = d.claim(qs, 1, lease).await.unwrap().remove(0);
    assert!(!r.lease.token.0.ends_with('u'), "its lock went at claim");
    d.ack(&r.lease).await.unwrap();
    d.push_unique(job("uq", 3, 3), &f).await.unwrap();
    let r = d.claim(qs, 1, lease).await.unwrap().remove(0);
    d.fail(&r.lease, "boom").await.unwrap();
    d.push_unique(job("uq", 4, 3), &f).await.unwrap();
    let short = unique("short", UniqueScope::For(Duration::from_millis(200)));
    d.push_unique(job("uq", 5, 3), &short).await.unwrap();
    let ttl: i64 = s
        .raw
        .pttl(format!("{p}:queue:{{uq}}:unique:short"))
        .await
        .unwrap();
    assert!(
        (1..=200).contains(&ttl),
        "a For lock's own expiry: {ttl} ms"
    );
    d.clear(&q).await.unwrap();

    let mut left: Vec<String> = s
        .raw
        .keys(format!("{p}:queue:{{uq}}:unique*"))
        .await
        .unwrap();
    left.sort();
    assert!(
        left.is_empty(),
        "lock keys left after every job is gone: {left:?}"
    );
}
