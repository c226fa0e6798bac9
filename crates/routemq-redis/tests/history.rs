//! Throughput history in Redis, beyond the conformance rules: the key layout (one
//! hash per queue per hour in the queue's hash tag, one packed field per minute,
//! expiring a retention after its hour), its memory, one round trip per
//! `record_history` call, reads bounded to the retained hours, and counts that a
//! new driver over the same store reads.

mod common;

use std::time::SystemTime;

use common::{commands_naming, queue, setup, setup_on, Setup};
use redis::AsyncCommands;
use routemq_core::prelude::*;
use routemq_core::{
    unix_minute, HistoryCounts, HistoryDelta, MinuteCounts, QueueName, HISTORY_KEPT_FOR,
};
use routemq_redis::KeyMode;

fn delta(
    q: &QueueName,
    minute: i64,
    (processed, failed, retried): (u64, u64, u64),
) -> HistoryDelta {
    HistoryDelta {
        queue: q.clone(),
        minute,
        counts: HistoryCounts {
            processed,
            failed,
            retried,
        },
    }
}

fn hour_key(s: &Setup, q: &str, hour: i64) -> String {
    format!("{}:queue:{{{q}}}:history:{hour}", s.target.prefix)
}

fn now_ms() -> i64 {
    routemq_core::unix_ms(SystemTime::now())
}

#[tokio::test]
async fn an_hour_is_one_small_hash_in_the_queues_slot_expiring_after_the_retention() {
    let s = setup(KeyMode::Cluster).await;
    let name = "hist_layout";
    let q = queue(name);
    let hour = unix_minute(SystemTime::now()) / 60 - 1;
    let deltas: Vec<HistoryDelta> = (0..60)
        .map(|m| delta(&q, hour * 60 + m, (1234 + m as u64, 5, 17)))
        .collect();
    s.driver.record_history(&deltas).await.unwrap();
    let key = hour_key(&s, name, hour);
    let mut conn = s.raw.clone();
    let field: Option<String> = conn.hget(&key, "7").await.unwrap();
    assert_eq!(field.as_deref(), Some("1241|5|17"), "minute 7 of the hour");
    let len: usize = conn.hlen(&key).await.unwrap();
    assert_eq!(len, 60, "one field per minute");
    let pttl: i64 = conn.pttl(&key).await.unwrap();
    let expires = (hour + 1) * 3_600_000 + HISTORY_KEPT_FOR.as_millis() as i64;
    let want = expires - now_ms();
    assert!((pttl - want).abs() < 5_000, "PTTL {pttl}, about {want}");
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        encoding == "listpack" || encoding == "ziplist",
        "an hour stays in the compact encoding: {encoding}"
    );
    let bytes: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    // The alternative of three HINCRBY counters per minute, for comparison.
    let alt = format!("{key}:alt");
    for m in 0..60 {
        for (f, v) in [("p", 1234 + m), ("f", 5), ("r", 17)] {
            let _: i64 = conn.hincr(&alt, format!("{m}:{f}"), v).await.unwrap();
        }
    }
    let alt_bytes: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&alt)
        .query_async(&mut conn)
        .await
        .unwrap();
    let alt_encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(&alt)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = conn.del(&alt).await.unwrap();
    eprintln!(
        "a full hour: {bytes} bytes ({encoding}, {} per minute); three counters per minute: \
         {alt_bytes} bytes ({alt_encoding})",
        bytes / 60
    );
    assert!(bytes < 2_000, "a full hour takes {bytes} bytes");
}

#[tokio::test]
async fn a_call_is_one_script_per_queue_in_one_round_trip() {
    let s = setup(KeyMode::Plain).await;
    let now = unix_minute(SystemTime::now());
    let queues: Vec<QueueName> = ["hist_rt_a", "hist_rt_b", "hist_rt_c"]
        .into_iter()
        .map(queue)
        .collect();
    let mut deltas = Vec::new();
    for q in &queues {
        // Minutes in two hours, one of them twice, and an empty delta.
        for m in [now - 61, now - 1, now - 1, now] {
            deltas.push(delta(q, m, (1, 0, 1)));
        }
        deltas.push(delta(q, now, (0, 0, 0)));
    }
    let needle = format!("{}:queue:hist_rt_", s.target.prefix);
    let (res, cmds) = commands_naming(&s, &needle, s.driver.record_history(&deltas)).await;
    res.unwrap();
    // Distinct calls: Redis 5's MONITOR can show a script call twice (the call
    // and its replicated effects).
    let evals: std::collections::HashSet<&Vec<String>> =
        cmds.iter().filter(|c| c[0] == "EVALSHA").collect();
    assert_eq!(evals.len(), 3, "one script per queue: {cmds:?}");
    let writes = cmds.iter().filter(|c| c[0] == "HSET").count();
    assert_eq!(
        writes, 9,
        "same-minute deltas merged before sending: {cmds:?}"
    );
    for q in &queues {
        let got = s.driver.history(q, now - 61, now).await.unwrap();
        let minutes: Vec<(i64, u64)> = got.iter().map(|m| (m.minute, m.counts.processed)).collect();
        assert_eq!(minutes, [(now - 61, 1), (now - 1, 2), (now, 1)]);
    }
}

#[tokio::test]
async fn any_range_reads_at_most_the_retained_hours() {
    let s = setup(KeyMode::Plain).await;
    let name = "hist_wide";
    let q = queue(name);
    let now = unix_minute(SystemTime::now());
    let kept = (HISTORY_KEPT_FOR.as_secs() / 60) as i64;
    s.driver
        .record_history(&[
            delta(&q, now - kept + 5, (1, 0, 0)),
            delta(&q, now - 2, (2, 0, 0)),
        ])
        .await
        .unwrap();
    let needle = format!("{}:queue:{name}:", s.target.prefix);
    let (got, cmds) = commands_naming(&s, &needle, s.driver.history(&q, i64::MIN, i64::MAX)).await;
    let got: Vec<(i64, u64)> = got
        .unwrap()
        .iter()
        .map(|m| (m.minute, m.counts.processed))
        .collect();
    assert_eq!(got, [(now - kept + 5, 1), (now - 2, 2)]);
    let reads = cmds.iter().filter(|c| c[0] == "HGETALL").count();
    // The retention (168 hours) and a day of clock slack each way.
    assert!(
        (169..=218).contains(&reads),
        "{reads} hours read for an unbounded range"
    );
    let (last_hour, cmds) = commands_naming(&s, &needle, s.driver.history(&q, now - 59, now)).await;
    assert_eq!(
        last_hour.unwrap(),
        vec![MinuteCounts {
            minute: now - 2,
            counts: HistoryCounts {
                processed: 2,
                failed: 0,
                retried: 0
            }
        }]
    );
    let reads = cmds.iter().filter(|c| c[0] == "HGETALL").count();
    assert!(
        reads <= 2,
        "the last hour reads at most two hashes: {cmds:?}"
    );
    assert!(s.driver.history(&q, now, now - 1).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_new_driver_reads_what_an_earlier_one_wrote() {
    let s = setup(KeyMode::Cluster).await;
    let q = queue("hist_restart");
    let m = unix_minute(SystemTime::now()) - 1;
    s.driver
        .record_history(&[delta(&q, m, (3, 1, 2))])
        .await
        .unwrap();
    drop(s.driver);
    let again = setup_on(s.target.clone(), KeyMode::Cluster).await;
    let got = again.driver.history(&q, m, m).await.unwrap();
    assert_eq!(
        got,
        vec![MinuteCounts {
            minute: m,
            counts: HistoryCounts {
                processed: 3,
                failed: 1,
                retried: 2
            }
        }]
    );
}
