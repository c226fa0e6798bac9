//! Changes to a claimed job, each fenced by its owner token: ack (one and
//! batch), release, fail and lease extension.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{AckOutcome, DriverError, Lease};

use crate::driver::{MysqlDriver, OpError};
use crate::error::NAME;
use crate::time::micros;
use crate::{sql, token};

/// Most rows one claim or batch-ack transaction touches (IN lists stay at most
/// 1024 placeholders long); larger requests are served in several.
pub(crate) const MAX_BATCH: usize = 1000;

fn lost(lease: &Lease) -> DriverError {
    DriverError::LeaseLost {
        job_id: lease.job_id.clone(),
    }
}

impl MysqlDriver {
    /// One autocommit DELETE keyed on id and owner.
    pub(crate) async fn ack_one(&self, lease: &Lease) -> Result<(), DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let changed = self
            .single(
                sql::ACK,
                vec![Value::from(id), Value::from(lease.token.0.as_str())],
            )
            .await?;
        if changed == 0 {
            return Err(lost(lease));
        }
        Ok(())
    }

    /// One transaction: lock the rows still owned, delete them, report the rest.
    pub(crate) async fn ack_many(&self, leases: &[Lease]) -> Result<AckOutcome, DriverError> {
        let mut outcome = AckOutcome::default();
        let mut valid: Vec<(u64, &Lease)> = Vec::with_capacity(leases.len());
        for lease in leases {
            match token::row_id(&lease.token) {
                Some(id) => valid.push((id, lease)),
                None => outcome.lost.push(lease.job_id.clone()),
            }
        }
        if valid.is_empty() {
            return Ok(outcome);
        }
        if valid.len() == 1 {
            let (_, lease) = valid[0];
            match self.ack_one(lease).await {
                Ok(()) => outcome.acked += 1,
                Err(DriverError::LeaseLost { job_id }) => outcome.lost.push(job_id),
                Err(e) => return Err(e),
            }
            return Ok(outcome);
        }
        for chunk in valid.chunks(MAX_BATCH) {
            let owned = self.ack_chunk(chunk).await?;
            for (_, lease) in chunk {
                if owned.contains(lease.token.0.as_str()) {
                    outcome.acked += 1;
                } else {
                    outcome.lost.push(lease.job_id.clone());
                }
            }
        }
        Ok(outcome)
    }

    /// One transaction over at most [`MAX_BATCH`] leases; returns the owner
    /// tokens whose rows it deleted.
    async fn ack_chunk(&self, chunk: &[(u64, &Lease)]) -> Result<HashSet<String>, DriverError> {
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let (stmt, padded) = sql::ack_batch_lock(chunk.len());
            let ids: Vec<Value> = chunk.iter().map(|(id, _)| Value::from(*id)).collect();
            let owners: Vec<Value> = chunk
                .iter()
                .map(|(_, l)| Value::from(l.token.0.as_str()))
                .collect();
            let mut params = sql::pad(ids, padded);
            params.extend(sql::pad(owners, padded));
            let owned: Vec<(u64, String)> = tx.exec(stmt, params).await?;
            if !owned.is_empty() {
                let (stmt, padded) = sql::delete_ids(owned.len());
                let ids: Vec<Value> = owned.iter().map(|(id, _)| Value::from(*id)).collect();
                tx.exec_drop(stmt, sql::pad(ids, padded)).await?;
            }
            tx.commit().await?;
            Ok::<_, OpError>(owned.into_iter().map(|(_, owner)| owner).collect())
        })
        .await
    }

    pub(crate) async fn release_one(
        &self,
        lease: &Lease,
        delay: Duration,
    ) -> Result<(), DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let params = vec![
            Value::from(micros(delay)),
            Value::from(id),
            Value::from(lease.token.0.as_str()),
        ];
        if self.single(sql::RELEASE, params).await? == 0 {
            return Err(lost(lease));
        }
        self.wake_local();
        Ok(())
    }

    /// One transaction: copy to the failed store, delete; rolled back when the
    /// lease was lost.
    pub(crate) async fn fail_one(&self, lease: &Lease, error: &str) -> Result<(), DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let token = lease.token.0.as_str();
        let copied = self
            .retrying(|| async move {
                let mut conn = self.conn().await?;
                let mut tx = conn.start_transaction(TxOpts::default()).await?;
                tx.exec_drop(sql::FAIL_COPY, (NAME, error, id, token))
                    .await?;
                if tx.affected_rows() == 0 {
                    tx.rollback().await?;
                    return Ok::<_, OpError>(false);
                }
                tx.exec_drop(sql::ACK, (id, token)).await?;
                if tx.affected_rows() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                tx.commit().await?;
                Ok(true)
            })
            .await?;
        if copied {
            Ok(())
        } else {
            Err(lost(lease))
        }
    }

    pub(crate) async fn extend(
        &self,
        lease: &Lease,
        lease_for: Duration,
    ) -> Result<SystemTime, DriverError> {
        let id = token::row_id(&lease.token).ok_or_else(|| lost(lease))?;
        let started = SystemTime::now();
        let params = vec![
            Value::from(micros(lease_for)),
            Value::from(id),
            Value::from(lease.token.0.as_str()),
        ];
        if self.single(sql::EXTEND, params).await? == 0 {
            return Err(lost(lease));
        }
        Ok(started + lease_for)
    }
}
