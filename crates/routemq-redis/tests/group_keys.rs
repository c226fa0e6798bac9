//! Fair-group keys in Redis: a queue without grouped jobs gets none of them (its
//! claims stay on the seed's ready list), grouped ones live in the queue's slot,
//! and once every grouped job is gone only the queue's grouped flag is left
//! (`clear` removes that too).

mod common;

use std::time::Duration;

use common::{job, queue, setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_core::GroupKey;
use routemq_redis::KeyMode;

async fn keys(s: &common::Setup, pattern: String) -> Vec<String> {
    let mut conn = s.raw.clone();
    let mut got: Vec<String> = conn.keys(pattern).await.unwrap();
    got.sort();
    got
}

#[tokio::test]
async fn group_keys_live_beside_their_queue_and_plain_queues_have_none() {
    let s = setup(KeyMode::Cluster).await;
    let p = s.target.prefix.clone();
    let d = &s.driver;
    let lease = Duration::from_secs(30);

    // A plain queue: no rotation, no flag, no group field.
    let plain = queue("gplain");
    d.push_bulk((0..3).map(|n| job("gplain", n, 3)).collect())
        .await
        .unwrap();
    let got = d
        .claim(std::slice::from_ref(&plain), 3, lease)
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    for r in &got {
        d.ack(&r.lease).await.unwrap();
    }
    assert_eq!(
        keys(&s, format!("{p}:queue:{{gplain}}:group*")).await,
        Vec::<String>::new(),
        "a queue without grouped jobs has no group keys"
    );

    // Grouped jobs: a list per group and the rotation, in the queue's slot.
    let q = queue("gq");
    let qs = std::slice::from_ref(&q);
    let jobs = ["t1", "t2", "t1"]
        .iter()
        .enumerate()
        .map(|(n, g)| job("gq", n, 3).in_group(Some(GroupKey::new(*g).unwrap())))
        .collect();
    d.push_bulk(jobs).await.unwrap();
    let base = format!("{p}:queue:{{gq}}");
    assert_eq!(
        keys(&s, format!("{base}:group*")).await,
        vec![
            format!("{base}:group:t1"),
            format!("{base}:group:t2"),
            format!("{base}:grouped"),
            format!("{base}:groups"),
        ]
    );
    let mut conn = s.raw.clone();
    let rotation: Vec<String> = conn.lrange(format!("{base}:groups"), 0, -1).await.unwrap();
    assert_eq!(
        rotation,
        ["", "t1", "t2"],
        "'' (ungrouped) first, then groups in push order"
    );
    let got = d.claim(qs, 3, lease).await.unwrap();
    assert_eq!(got.len(), 3);
    for r in &got {
        d.ack(&r.lease).await.unwrap();
    }
    assert_eq!(
        keys(&s, format!("{base}:group*")).await,
        vec![format!("{base}:grouped")],
        "drained: only the grouped flag is left"
    );
    let fields: Vec<String> = conn.hkeys(format!("{base}:jobs")).await.unwrap();
    assert!(fields.is_empty(), "no field outlives its job: {fields:?}");
    d.clear(&q).await.unwrap();
    assert_eq!(
        keys(&s, format!("{base}:group*")).await,
        Vec::<String>::new(),
        "clear removes the flag"
    );
}
