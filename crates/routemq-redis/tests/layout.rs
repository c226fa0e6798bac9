//! The seed's key layout: what an operator sees with redis-cli.

mod common;

use std::time::{Duration, SystemTime};

use common::{job, job_at, queue, setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_redis::KeyMode;

#[tokio::test]
async fn ready_delayed_reserved_and_failed_keys_mean_what_the_seed_says() {
    let mut s = setup(KeyMode::Plain).await;
    let p = s.target.prefix.clone();
    let d = &s.driver;
    let q = queue("default");
    let later = SystemTime::now() + Duration::from_secs(3600);
    d.push_bulk(vec![job("default", 1, 1), job("default", 2, 1)])
        .await
        .unwrap();
    d.push(job_at("default", 3, 1, Some(later))).await.unwrap();

    let ready: usize = s.raw.llen(format!("{p}:queue:default")).await.unwrap();
    let delayed: usize = s
        .raw
        .zcard(format!("{p}:queue:default:delayed"))
        .await
        .unwrap();
    assert_eq!((ready, delayed), (2, 1), "LLEN ready / ZCARD delayed");

    let claimed = d
        .claim(std::slice::from_ref(&q), 1, Duration::from_secs(30))
        .await
        .unwrap();
    let reserved: usize = s
        .raw
        .zcard(format!("{p}:queue:default:reserved"))
        .await
        .unwrap();
    assert_eq!(reserved, 1, "ZCARD reserved");
    let deadline: f64 = s
        .raw
        .zscore(
            format!("{p}:queue:default:reserved"),
            format!("{}|{}", claimed[0].lease.job_id, claimed[0].lease.token.0),
        )
        .await
        .unwrap();
    let expected = routemq_core::unix_ms(claimed[0].lease.expires_at) as f64;
    assert_eq!(
        deadline, expected,
        "reserved score is the lease deadline in ms"
    );

    d.fail(&claimed[0].lease, "boom").await.unwrap();
    let records: Vec<String> = s
        .raw
        .lrange(format!("{p}:queue:failed:default"), 0, -1)
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    let record: serde_json::Value = serde_json::from_str(&records[0]).unwrap();
    assert_eq!(record["id"], claimed[0].lease.job_id.as_str());
    assert_eq!(record["connection"], "redis");
    assert_eq!(record["queue"], "default");
    assert_eq!(record["exception"], "boom");
    assert!(record["failed_at"].as_i64().unwrap() > 1_600_000_000_000);
    let payload = record["payload"].as_str().unwrap();
    assert_eq!(payload.as_bytes(), claimed[0].payload.as_slice());
    assert!(record.get("payload_encoding").is_none());

    let ready: usize = s.raw.llen(format!("{p}:queue:default")).await.unwrap();
    assert_eq!(ready, 1);
    let members: Vec<String> = s.raw.smembers(format!("{p}:queues")).await.unwrap();
    assert_eq!(members, vec!["default".to_string()]);
}

#[tokio::test]
async fn cluster_mode_keeps_a_queue_in_one_hash_tag_and_works_end_to_end() {
    let mut s = setup(KeyMode::Cluster).await;
    let p = s.target.prefix.clone();
    let d = &s.driver;
    let (hi, lo) = (queue("high"), queue("low"));
    d.push(job("low", 1, 1)).await.unwrap();
    d.push(job("high", 2, 2)).await.unwrap();
    let ready: usize = s.raw.llen(format!("{p}:queue:{{high}}")).await.unwrap();
    assert_eq!(ready, 1);
    let got = d
        .claim(&[hi.clone(), lo.clone()], 10, Duration::from_secs(30))
        .await
        .unwrap();
    let queues: Vec<&str> = got.iter().map(|r| r.lease.queue.as_str()).collect();
    assert_eq!(queues, ["high", "low"], "priority order across queues");
    d.fail(&got[1].lease, "nope").await.unwrap();
    let failed: usize = s
        .raw
        .llen(format!("{p}:queue:failed:{{low}}"))
        .await
        .unwrap();
    assert_eq!(failed, 1);
    d.ack(&got[0].lease).await.unwrap();
    let keys: Vec<String> = s.raw.keys(format!("{p}:queue:*")).await.unwrap();
    for key in keys {
        assert!(key.contains("{high}") || key.contains("{low}"), "{key}");
    }
    assert!(d.failed_retry(&got[1].lease.job_id).await.unwrap());
    assert_eq!(d.stats(&lo).await.unwrap().ready, 1);
}
