//! Reclaiming expired reservations: claimable again while attempts remain,
//! otherwise moved to the failed store (releasing a uniqueness lock it holds);
//! a job with a cancel request is recorded cancelled and deleted instead,
//! whatever its attempts — one transaction per batch. A chain link or batch
//! job failed or cancelled here gets its workflow effects in that transaction
//! (`workflows.rs`).

use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{DriverError, QueueName};

use crate::driver::{MysqlDriver, OpError};
use crate::error::NAME;
use crate::sql;
use crate::tracking::cancel_rows;
use crate::unique::release_locks;
use crate::workflows::{flow_settled, FlowRow, Outcome};

/// Expired reservations handled per transaction.
pub(crate) const BATCH: u64 = 500;

/// What one [`MysqlDriver::reclaim_batch`] did.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Reclaimed {
    /// Made claimable again.
    pub(crate) released: u64,
    /// Moved to the failed store.
    pub(crate) failed: u64,
    /// Recorded cancelled (a cancel request was pending) and deleted.
    pub(crate) cancelled: u64,
    /// Expired reservations locked (all of the above).
    pub(crate) seen: u64,
    /// A waiting job of a chain or batch became claimable.
    pub(crate) released_waiting: bool,
}

/// A row of reclaim_select.sql: id, attempts, max_tries, unique_scope,
/// cancel_requested, flow_next, flow_catch, batch_id.
type Expired = (
    u64,
    u32,
    u32,
    Option<u8>,
    u8,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The workflow settlement of expired row `r`, if it has effects.
fn flow_of(queue: &QueueName, r: &Expired, outcome: Outcome) -> Option<(FlowRow, Outcome)> {
    let row = FlowRow {
        id: r.0,
        queue: queue.as_str().to_owned(),
        next: r.5.clone(),
        catch: r.6.clone(),
        batch: r.7.clone(),
    };
    row.has_effects().then_some((row, outcome))
}

impl MysqlDriver {
    /// One batch.
    pub(crate) async fn reclaim_batch(&self, queue: &QueueName) -> Result<Reclaimed, DriverError> {
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let rows: Vec<Expired> = tx
                .exec(sql::RECLAIM_SELECT, (queue.as_str(), BATCH))
                .await?;
            let seen = rows.len() as u64;
            let (cancelled, rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.4 != 0);
            if !cancelled.is_empty() {
                let ids: Vec<u64> = cancelled.iter().map(|r| r.0).collect();
                cancel_rows(&mut tx, &ids).await?;
                let locked: Vec<u64> = cancelled
                    .iter()
                    .filter(|r| r.3.is_some())
                    .map(|r| r.0)
                    .collect();
                release_locks(&mut tx, &locked).await?;
            }
            let (exhausted, retry): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.1 >= r.2);
            if !retry.is_empty() {
                let (stmt, padded) = sql::reclaim_release(retry.len());
                let ids: Vec<Value> = retry.iter().map(|r| Value::from(r.0)).collect();
                tx.exec_drop(stmt, sql::pad(ids, padded)).await?;
            }
            if !exhausted.is_empty() {
                let ids: Vec<Value> = exhausted.iter().map(|r| Value::from(r.0)).collect();
                let (stmt, padded) = sql::reclaim_fail(exhausted.len());
                let mut params = vec![Value::from(NAME)];
                params.extend(sql::pad(ids.clone(), padded));
                tx.exec_drop(stmt, params).await?;
                let (stmt, padded) = sql::delete_ids(exhausted.len());
                tx.exec_drop(stmt, sql::pad(ids, padded)).await?;
                // A job going back keeps its lock (it still exists and will run).
                let locked: Vec<u64> = exhausted
                    .iter()
                    .filter(|r| r.3.is_some())
                    .map(|r| r.0)
                    .collect();
                release_locks(&mut tx, &locked).await?;
            }
            // Workflow effects once the rows are gone, batch rows locked in
            // batch id order (one order for every reclaimer: no lock cycle).
            let mut flows: Vec<(FlowRow, Outcome)> = cancelled
                .iter()
                .filter_map(|r| flow_of(queue, r, Outcome::Cancelled))
                .chain(
                    exhausted
                        .iter()
                        .filter_map(|r| flow_of(queue, r, Outcome::Failed)),
                )
                .collect();
            flows.sort_by(|a, b| a.0.batch.cmp(&b.0.batch));
            let mut released_waiting = false;
            for (row, outcome) in &flows {
                released_waiting |= flow_settled(&mut tx, row, *outcome).await?;
            }
            tx.commit().await?;
            Ok::<_, OpError>(Reclaimed {
                released: retry.len() as u64,
                failed: exhausted.len() as u64,
                cancelled: cancelled.len() as u64,
                seen,
                released_waiting,
            })
        })
        .await
    }
}
