//! Batch acknowledgement in chunks (one transaction each) and the `LeaseLost`
//! error of a fenced change; the other lease changes are in `lifecycle.rs`.

use std::collections::HashSet;

use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{DriverError, Lease};

use crate::driver::{MysqlDriver, OpError};
use crate::unique::release_locks;
use crate::{sql, token};

/// Most rows one claim or batch-ack transaction touches (IN lists stay at most
/// 1024 placeholders long); larger requests are served in several.
pub(crate) const MAX_BATCH: usize = 1000;

pub(crate) fn lost(lease: &Lease) -> DriverError {
    DriverError::LeaseLost {
        job_id: lease.job_id.clone(),
    }
}

impl MysqlDriver {
    /// At most [`MAX_BATCH`] leases acknowledged at once; returns the owner
    /// tokens whose rows were deleted. When no lease holds a uniqueness lock:
    /// on MariaDB one `DELETE … RETURNING`; on Oracle MySQL first
    /// [`ack_every_lease`](Self::ack_every_lease). Otherwise, and when that
    /// finds a lease lost, one transaction locks the rows still owned, deletes
    /// them and releases their locks.
    pub(crate) async fn ack_chunk(
        &self,
        chunk: &[(u64, &Lease)],
    ) -> Result<HashSet<String>, DriverError> {
        let holds_lock = chunk.iter().any(|(_, l)| token::holds_lock(&l.token.0));
        if self.inner.delete_returning && !holds_lock {
            return self
                .retrying(|| async move {
                    let mut conn = self.conn().await?;
                    let (stmt, padded) = sql::ack_batch_returning(chunk.len());
                    let owned: Vec<String> = conn
                        .exec(stmt, sql::ids_and_owners_params(chunk, padded))
                        .await?;
                    Ok::<_, OpError>(owned.into_iter().collect())
                })
                .await;
        }
        if !holds_lock && self.ack_every_lease(chunk).await? {
            return Ok(chunk
                .iter()
                .map(|(_, lease)| lease.token.0.clone())
                .collect());
        }
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let (stmt, padded) = sql::ack_batch_lock(chunk.len());
            let owned: Vec<(u64, String)> = tx
                .exec(stmt, sql::ids_and_owners_params(chunk, padded))
                .await?;
            if !owned.is_empty() {
                let (stmt, padded) = sql::delete_ids(owned.len());
                let ids: Vec<Value> = owned.iter().map(|(id, _)| Value::from(*id)).collect();
                tx.exec_drop(stmt, sql::pad(ids, padded)).await?;
                let locked: Vec<u64> = owned
                    .iter()
                    .filter(|(_, owner)| token::holds_lock(owner))
                    .map(|(id, _)| *id)
                    .collect();
                release_locks(&mut tx, &locked).await?;
            }
            tx.commit().await?;
            Ok::<_, OpError>(owned.into_iter().map(|(_, owner)| owner).collect())
        })
        .await
    }

    /// The common case of a batch ack where the server has no `DELETE …
    /// RETURNING`: every lease is still held. One transaction deletes the rows
    /// fenced by their tokens and commits only when it deleted one row per
    /// lease; true then. Otherwise it rolls back, changes nothing and returns
    /// false, and the caller finds out which leases were lost. Against locking
    /// the rows first, this saves a statement and a round trip per batch.
    async fn ack_every_lease(&self, chunk: &[(u64, &Lease)]) -> Result<bool, DriverError> {
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let (stmt, padded) = sql::ack_batch_delete(chunk.len());
            tx.exec_drop(stmt, sql::ids_and_owners_params(chunk, padded))
                .await?;
            if tx.affected_rows() == chunk.len() as u64 {
                tx.commit().await?;
                Ok::<_, OpError>(true)
            } else {
                tx.rollback().await?;
                Ok(false)
            }
        })
        .await
    }

    /// Ack of a job holding a uniqueness lock: the DELETE fenced by the owner
    /// token and the lock's release, in one transaction.
    pub(crate) async fn ack_unique(&self, id: u64, lease: &Lease) -> Result<(), DriverError> {
        let owner = lease.token.0.as_str();
        let acked = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                tx.exec_drop(sql::ACK, (id, owner)).await?;
                if tx.affected_rows() == 0 {
                    tx.rollback().await?;
                    return Ok::<_, OpError>(false);
                }
                release_locks(&mut tx, &[id]).await?;
                tx.commit().await?;
                Ok(true)
            })
            .await?;
        if acked {
            Ok(())
        } else {
            Err(lost(lease))
        }
    }
}
