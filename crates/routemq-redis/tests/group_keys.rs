//! Fair-group keys in Redis: a queue without grouped jobs gets none of them (its
//! claims stay on the seed's ready list), grouped ones live in the queue's slot,
//! and once every grouped job is gone only the queue's grouped flag is left
//! (`clear` removes that too).

mod common;

use std::time::Duration;

use common::{job, queue, setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_core::{GroupKey, RateLimit};
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

async fn exists(s: &common::Setup, key: &str) -> bool {
    let mut conn = s.raw.clone();
    conn.exists(key).await.unwrap()
}

/// Group controls' keys: a plain queue under a cap and a per-group limit gets
/// none of the group keys (its ungrouped window is the queue's `rate_log`); a
/// capped, held, per-group-limited grouped queue keeps running counts in
/// `:active`, blocked lanes in `:parked`, holds in `rate:holds`, one window per
/// group in `rate_log:{g}` listed in `rate:windows`; `clear` removes the lanes
/// and counts, `clear_rate_limit` the rest.
#[tokio::test]
async fn group_control_keys_live_beside_their_queue_and_clear_leaves_none() {
    let s = setup(KeyMode::Cluster).await;
    let p = s.target.prefix.clone();
    let d = &s.driver;
    let lease = Duration::from_secs(30);
    let limit = RateLimit::new(10, Duration::from_secs(60))
        .unwrap()
        .per_group();
    let g = |name: &str| GroupKey::new(name).unwrap();

    // A plain queue under a cap and a per-group limit.
    let plain = queue("cplain");
    let pbase = format!("{p}:queue:{{cplain}}");
    d.set_group_concurrency(&plain, 1).await.unwrap();
    d.set_rate_limit(&plain, limit).await.unwrap();
    d.push_bulk((0..3).map(|n| job("cplain", n, 3)).collect())
        .await
        .unwrap();
    let got = d
        .claim(std::slice::from_ref(&plain), 3, lease)
        .await
        .unwrap();
    assert_eq!(got.len(), 3, "ungrouped jobs are not capped");
    for r in &got {
        assert!(r.group.is_none());
        assert!(!r.lease.token.0.contains('g'), "a plain token is unmarked");
        d.ack(&r.lease).await.unwrap();
    }
    for suffix in [
        ":active",
        ":parked",
        ":groups",
        ":rate:holds",
        ":rate:windows",
    ] {
        assert!(
            !exists(&s, &format!("{pbase}{suffix}")).await,
            "a plain queue has no {suffix}"
        );
    }
    assert_eq!(
        keys(&s, format!("{pbase}:rate_log*")).await,
        vec![format!("{pbase}:rate_log")],
        "its window is the queue's log alone"
    );
    assert!(d.clear_rate_limit(&plain).await.unwrap());
    assert_eq!(
        keys(&s, format!("{pbase}:rate*")).await,
        Vec::<String>::new()
    );

    // A grouped queue: a at its cap, c held, b's window used.
    let q = queue("cg");
    let qs = std::slice::from_ref(&q);
    let base = format!("{p}:queue:{{cg}}");
    let push = |lane: &'static str, n: usize| {
        (0..n)
            .map(|i| job("cg", i, 3).in_group(Some(g(lane))))
            .collect::<Vec<_>>()
    };
    d.push_bulk(push("a", 3)).await.unwrap();
    d.push_bulk(push("b", 1)).await.unwrap();
    d.set_group_concurrency(&q, 1).await.unwrap();
    d.set_rate_limit(&q, limit).await.unwrap();
    d.hold_group(&q, &g("c"), Duration::from_secs(60))
        .await
        .unwrap();
    d.push_bulk(push("c", 1)).await.unwrap();
    let got = d.claim(qs, 10, lease).await.unwrap();
    let mut lanes: Vec<&str> = got
        .iter()
        .map(|r| r.group.as_ref().unwrap().as_str())
        .collect();
    lanes.sort();
    assert_eq!(lanes, ["a", "b"], "a capped at 1, c held");
    assert!(
        got.iter().all(|r| r.lease.token.0.contains('g')),
        "grouped tokens are marked"
    );
    let mut conn = s.raw.clone();
    let active: std::collections::BTreeMap<String, u32> =
        conn.hgetall(format!("{base}:active")).await.unwrap();
    assert_eq!(
        active,
        [("a".to_owned(), 1), ("b".to_owned(), 1)].into(),
        "running counts"
    );
    let parked: Vec<String> = conn.zrange(format!("{base}:parked"), 0, -1).await.unwrap();
    let mut parked = parked;
    parked.sort();
    assert_eq!(parked, ["a", "c"], "blocked lanes are parked");
    assert!(
        !exists(&s, &format!("{base}:groups")).await,
        "no lane is claimable now, so no rotation"
    );
    let holds: Vec<String> = conn.hkeys(format!("{base}:rate:holds")).await.unwrap();
    assert_eq!(holds, ["c"]);
    assert_eq!(
        keys(&s, format!("{base}:rate_log*")).await,
        vec![format!("{base}:rate_log:a"), format!("{base}:rate_log:b"),],
        "one window per group started; no ungrouped start yet"
    );
    let mut windows: Vec<String> = conn
        .zrange(format!("{base}:rate:windows"), 0, -1)
        .await
        .unwrap();
    windows.sort();
    assert_eq!(windows, ["a", "b"]);

    // An ack frees a's slot: its lane is back in the rotation.
    let a = got
        .iter()
        .find(|r| r.group.as_ref().unwrap().as_str() == "a")
        .unwrap();
    d.ack(&a.lease).await.unwrap();
    let active: std::collections::BTreeMap<String, u32> =
        conn.hgetall(format!("{base}:active")).await.unwrap();
    assert_eq!(active, [("b".to_owned(), 1)].into());
    let rotation: Vec<String> = conn.lrange(format!("{base}:groups"), 0, -1).await.unwrap();
    assert_eq!(rotation, ["", "a"]);

    // clear: lanes, parked lanes and counts go; limits, windows, holds stay.
    assert_eq!(d.clear(&q).await.unwrap(), 4, "2 of a, c, and b reserved");
    for suffix in [":active", ":parked", ":groups", ":group:a", ":group:c"] {
        assert!(
            !exists(&s, &format!("{base}{suffix}")).await,
            "clear leaves no {suffix}"
        );
    }
    assert!(exists(&s, &format!("{base}:rate:holds")).await);
    // clear_rate_limit: the rest.
    assert!(d.clear_rate_limit(&q).await.unwrap());
    assert_eq!(
        keys(&s, format!("{base}:rate*")).await,
        Vec::<String>::new(),
        "clear_rate_limit leaves no limit, cap, window or hold"
    );
    assert!(d.group_concurrency_limits().await.unwrap().is_empty());
}
