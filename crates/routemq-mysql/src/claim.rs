//! Batch claims: per queue in priority order, `SELECT … FOR UPDATE SKIP LOCKED`,
//! then one `UPDATE` reserving every locked row, all in one transaction.

use std::time::{Duration, SystemTime};

use mysql_async::prelude::Queryable;
use mysql_async::{TxOpts, Value};
use routemq_core::{DriverError, Lease, QueueName, Reservation};

use crate::driver::{MysqlDriver, OpError};
use crate::lease::MAX_BATCH;
use crate::time::micros;
use crate::{sql, token};

/// A locked row: id, uuid, attempts before this claim, max_tries, payload.
type Locked = (u64, Option<String>, u32, u32, Vec<u8>);

impl MysqlDriver {
    pub(crate) async fn claim_batch(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Reservation>, DriverError> {
        if max == 0 || queues.is_empty() {
            return Ok(Vec::new());
        }
        // Fewer than asked is allowed; one transaction stays bounded.
        let max = max.min(MAX_BATCH);
        let lease_us = micros(lease);
        self.retrying(|| async move {
            // Measured before the server reserves, so the deadline we report is
            // never later than the one the server enforces.
            let started = SystemTime::now();
            let mut conn = self.conn().await?;
            let mut tx = conn.start_transaction(TxOpts::default()).await?;
            let mut locked: Vec<(QueueName, Locked)> = Vec::new();
            for queue in queues {
                let room = max - locked.len();
                if room == 0 {
                    break;
                }
                let rows: Vec<Locked> = tx
                    .exec(sql::CLAIM_SELECT, (queue.as_str(), room as u64))
                    .await?;
                locked.extend(rows.into_iter().map(|r| (queue.clone(), r)));
            }
            if locked.is_empty() {
                tx.commit().await?;
                return Ok(Vec::new());
            }
            let suffix = token::suffix();
            let (stmt, padded) = sql::claim_update(locked.len());
            let ids: Vec<Value> = locked.iter().map(|(_, r)| Value::from(r.0)).collect();
            let mut params = vec![Value::from(lease_us), Value::from(suffix.as_str())];
            params.extend(sql::pad(ids, padded));
            tx.exec_drop(stmt, params).await?;
            tx.commit().await?;
            let expires_at = started + lease;
            Ok::<_, OpError>(
                locked
                    .into_iter()
                    .map(
                        |(queue, (id, uuid, attempts, max_tries, payload))| Reservation {
                            lease: Lease {
                                job_id: token::job_id(id, uuid),
                                queue,
                                token: token::token(id, &suffix),
                                expires_at,
                            },
                            attempt: attempts.saturating_add(1),
                            max_tries: max_tries.max(1),
                            payload,
                        },
                    )
                    .collect(),
            )
        })
        .await
    }
}
