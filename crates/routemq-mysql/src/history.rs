//! [`History`] for [`MysqlDriver`] (migration 0014): per-minute processed,
//! failed and retried counts per queue in `queue_history`, primary key
//! `(queue, minute)`.
//!
//! A call to [`record_history`](History::record_history) merges its deltas by
//! (queue, minute) and adds them with one multi-row upsert (history_record.sql:
//! one round trip, rows in key order so that concurrent flushes of several
//! workers lock the same rows in the same order). Retention follows the
//! server's clock: a delta for a minute older than [`HISTORY_KEPT_FOR`] is left
//! out by the statement itself, reads leave such minutes out, and
//! [`MysqlDriver::prune_history`] deletes them.
//!
//! Pruning runs in `record_history`, at most once a minute per driver value
//! (clones share it), rather than in `reclaim_expired` with the other kept
//! records: the core's contract documents it there, the work then follows the
//! writes (a store whose workers record no history has nothing to prune), and
//! at that rate one bounded chunk per worker and minute keeps pace with the
//! one row per queue and minute that falls out of the window. A failed prune
//! is logged, never returned: the counts were added by then, and an error
//! would make the caller send them again.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::Value;
use routemq_core::{
    merge_deltas, DriverError, History, HistoryCounts, HistoryDelta, MinuteCounts, QueueName,
    UnixMinute, HISTORY_KEPT_FOR,
};

use crate::driver::MysqlDriver;
use crate::error::map;
use crate::sql;

/// The minutes kept: [`HISTORY_KEPT_FOR`] in minutes (10080).
const KEPT_MINUTES: i64 = (HISTORY_KEPT_FOR.as_secs() / 60) as i64;

/// How often one driver value prunes, at most.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Old minutes deleted per pruning statement.
const PRUNE_CHUNK: u64 = 1000;
/// Pruning statements one prune runs at most (while each deletes a full
/// chunk): a backlog is worked off over several minutes, and no call takes long.
const PRUNE_ROUNDS: usize = 8;

/// history_record.sql and its parameters for `rows` (at most
/// [`sql::HISTORY_ROWS`]): padded with copies of the last row adding nothing.
fn record_statement(rows: &[HistoryDelta]) -> (String, Vec<Value>) {
    let (stmt, padded) = sql::history_record(rows.len());
    let mut params = Vec::with_capacity(padded * 5 + 1);
    for d in rows {
        params.extend([
            Value::from(d.queue.as_str()),
            Value::from(d.minute),
            Value::from(d.counts.processed),
            Value::from(d.counts.failed),
            Value::from(d.counts.retried),
        ]);
    }
    if let Some(last) = rows.last() {
        for _ in rows.len()..padded {
            params.extend([
                Value::from(last.queue.as_str()),
                Value::from(last.minute),
                Value::from(0u64),
                Value::from(0u64),
                Value::from(0u64),
            ]);
        }
    }
    params.push(Value::from(KEPT_MINUTES));
    (stmt, params)
}

impl MysqlDriver {
    /// Deletes minutes past [`HISTORY_KEPT_FOR`] when this driver value has not
    /// done so in the last [`PRUNE_EVERY`]: chunks of [`PRUNE_CHUNK`] (an index
    /// range each), at most [`PRUNE_ROUNDS`] of them. Errors are logged.
    async fn prune_history(&self) {
        {
            let mut last = self
                .inner
                .history_pruned
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        for _ in 0..PRUNE_ROUNDS {
            let params = vec![Value::from(KEPT_MINUTES), Value::from(PRUNE_CHUNK)];
            match self.single(sql::HISTORY_PRUNE, params).await {
                Ok(n) if n < PRUNE_CHUNK => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "pruning old throughput history failed; the next record retries");
                    break;
                }
            }
        }
    }
}

#[async_trait]
impl History for MysqlDriver {
    /// One autocommit upsert for up to 256 distinct (queue,
    /// minute) rows (retried after a deadlock, which rolled it back); more go
    /// in several statements of one transaction. Then, at most once a minute,
    /// the bounded prune.
    async fn record_history(&self, deltas: &[HistoryDelta]) -> Result<(), DriverError> {
        let rows = merge_deltas(deltas);
        if rows.is_empty() {
            return Ok(());
        }
        if rows.len() <= sql::HISTORY_ROWS {
            let (stmt, params) = record_statement(&rows);
            self.single(&stmt, params).await?;
        } else {
            let statements: Vec<(String, Vec<Value>)> = rows
                .chunks(sql::HISTORY_ROWS)
                .map(record_statement)
                .collect();
            self.in_one_transaction(&statements).await?;
        }
        self.prune_history().await;
        Ok(())
    }

    /// One primary-key range read.
    async fn history(
        &self,
        queue: &QueueName,
        from: UnixMinute,
        to: UnixMinute,
    ) -> Result<Vec<MinuteCounts>, DriverError> {
        if from > to {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let rows: Vec<(i64, u64, u64, u64)> = conn
            .exec(sql::HISTORY_RANGE, (queue.as_str(), from, to, KEPT_MINUTES))
            .await
            .map_err(map)?;
        Ok(rows
            .into_iter()
            .map(|(minute, processed, failed, retried)| MinuteCounts {
                minute,
                counts: HistoryCounts {
                    processed,
                    failed,
                    retried,
                },
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(queue: &str, minute: i64, processed: u64, failed: u64) -> HistoryDelta {
        HistoryDelta {
            queue: QueueName::new(queue).unwrap(),
            minute,
            counts: HistoryCounts {
                processed,
                failed,
                retried: 0,
            },
        }
    }

    #[test]
    fn statements_are_padded_with_rows_adding_nothing() {
        let deltas = [
            delta("a", 1, 1, 0),
            delta("a", 2, 1, 0),
            delta("b", 1, 4, 0),
        ];
        let rows = merge_deltas(&deltas);
        let (stmt, params) = record_statement(&rows);
        assert_eq!(stmt.matches('?').count(), params.len());
        assert_eq!(params.len(), 4 * 5 + 1);
        // The padding row repeats the last row's key with zero counts.
        assert_eq!(params[15..17], params[10..12]);
        assert!(params[17..20].iter().all(|v| *v == Value::from(0u64)));
        assert_eq!(params[20], Value::from(10_080i64));
    }
}
