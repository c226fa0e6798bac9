//! Throughput history in MySQL (History, migration 0014) beyond the conformance
//! rules: old minutes are pruned by record_history in bounded chunks at most
//! once a minute, calls with more rows than one statement takes, clear keeps a
//! queue's history, and a new driver over the same store reads it.

mod common;

use std::time::SystemTime;

use common::{job, q, raw};
use routemq_core::prelude::*;
use routemq_core::{unix_minute, HistoryCounts, HistoryDelta, QueueName, HISTORY_KEPT_FOR};
use routemq_mysql::mysql_async::prelude::Queryable;
use routemq_mysql::MysqlDriver;

fn delta(queue: &QueueName, minute: i64, processed: u64) -> HistoryDelta {
    HistoryDelta {
        queue: queue.clone(),
        minute,
        counts: HistoryCounts {
            processed,
            failed: 0,
            retried: 0,
        },
    }
}

async fn count(held: &common::Held, sql: &str) -> u64 {
    let mut c = raw(held).await;
    let n: Option<u64> = c.query_first(sql).await.unwrap();
    n.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn old_minutes_are_pruned_in_chunks_at_most_once_a_minute() {
    let d = common::fresh().await;
    let queue = q("hist_prune");
    let kept = (HISTORY_KEPT_FOR.as_secs() / 60) as i64;
    let now = unix_minute(SystemTime::now());
    // 2500 expired minutes written by hand (more than two chunks), one kept.
    let mut c = raw(&d).await;
    let rows: Vec<String> = (0..2500)
        .map(|i| format!("('hist_prune', {}, 1)", now - kept - 1 - i))
        .collect();
    c.query_drop(format!(
        "INSERT INTO queue_history (queue, minute, processed) VALUES {}",
        rows.join(", ")
    ))
    .await
    .unwrap();
    let expired = format!("SELECT COUNT(*) FROM queue_history WHERE minute < {now} - {kept}");
    assert_eq!(count(&d, &expired).await, 2500);

    d.record_history(&[delta(&queue, now - 1, 2)])
        .await
        .unwrap();
    assert_eq!(count(&d, &expired).await, 0, "pruned by the first record");
    assert_eq!(
        count(&d, "SELECT COUNT(*) FROM queue_history").await,
        1,
        "the recorded minute is kept"
    );

    // Within the minute, a record does not prune again; reads never show it.
    c.query_drop(format!(
        "INSERT INTO queue_history (queue, minute, processed) VALUES ('hist_prune', {now} - {kept} - 5, 1)"
    ))
    .await
    .unwrap();
    d.record_history(&[delta(&queue, now - 1, 3)])
        .await
        .unwrap();
    assert_eq!(count(&d, &expired).await, 1, "pruned at most once a minute");
    let minutes = d.history(&queue, now - kept - 10, now).await.unwrap();
    assert_eq!(minutes.len(), 1);
    assert_eq!(
        (minutes[0].minute, minutes[0].counts.processed),
        (now - 1, 5)
    );
}

/// More distinct (queue, minute) rows than one statement takes go in several
/// statements of one transaction, all added.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_with_many_rows_records_them_all() {
    let d = common::fresh().await;
    let now = unix_minute(SystemTime::now());
    let queues: Vec<QueueName> = (0..60).map(|i| q(&format!("hist_many_{i}"))).collect();
    let deltas: Vec<HistoryDelta> = queues
        .iter()
        .flat_map(|queue| (1..=10).map(move |m| delta(queue, now - m, m as u64)))
        .collect();
    assert_eq!(deltas.len(), 600);
    d.record_history(&deltas).await.unwrap();
    d.record_history(&deltas).await.unwrap();
    assert_eq!(count(&d, "SELECT COUNT(*) FROM queue_history").await, 600);
    assert_eq!(
        count(
            &d,
            "SELECT CAST(SUM(processed) AS UNSIGNED) FROM queue_history"
        )
        .await,
        2 * 60 * 55
    );
    let minutes = d.history(&queues[59], now - 10, now).await.unwrap();
    let got: Vec<(i64, u64)> = minutes
        .iter()
        .map(|m| (m.minute, m.counts.processed))
        .collect();
    let want: Vec<(i64, u64)> = (1..=10).rev().map(|m| (now - m, 2 * m as u64)).collect();
    assert_eq!(got, want);
}

/// Clearing a queue's jobs keeps its history; a new driver over the same store
/// reads what an earlier one wrote.
#[tokio::test(flavor = "multi_thread")]
async fn history_outlives_clear_and_the_driver() {
    let d = common::fresh().await;
    let queue = q("hist_keep");
    let now = unix_minute(SystemTime::now());
    d.push(job(&queue, 1, None)).await.unwrap();
    d.record_history(&[delta(&queue, now, 7)]).await.unwrap();
    assert_eq!(d.clear(&queue).await.unwrap(), 1);
    let config = routemq_mysql::MysqlConfig::new(d.config().opts.clone());
    let other = MysqlDriver::connect(config).await.unwrap();
    let minutes = other.history(&queue, now - 1, now).await.unwrap();
    assert_eq!(minutes.len(), 1);
    assert_eq!(minutes[0].counts.processed, 7);
    other.disconnect().await.unwrap();
}
