//! Dispatch inside the application's own transaction: [`MysqlDriver::push_in`]
//! and [`MysqlDriver::push_bulk_in`] store jobs with the caller's `mysql_async`
//! transaction, so a job becomes visible to workers only if (and when) the
//! caller commits, and a rollback leaves nothing.

use mysql_async::prelude::Queryable;
use mysql_async::Transaction;
use routemq_core::{DriverError, JobId, PendingJob};

use crate::error::map;
use crate::error::NAME;
use crate::push::{check_due, due_now, row_params};
use crate::{groups, sql, MysqlDriver};

impl MysqlDriver {
    /// Stores `job` in `tx`, the caller's transaction on the database this
    /// driver uses (its tables migrated): workers see the job only once `tx`
    /// commits; a rollback, or a transaction dropped without commit, stores
    /// nothing. Workers in this process are woken at their next poll (at most
    /// the configured `poll_max` later), not at once.
    ///
    /// ```no_run
    /// # async fn f(driver: routemq_mysql::MysqlDriver, pool: mysql_async::Pool,
    /// #            job: routemq_core::PendingJob) -> Result<(), Box<dyn std::error::Error>> {
    /// use mysql_async::prelude::Queryable;
    /// let mut conn = pool.get_conn().await?;
    /// let mut tx = conn.start_transaction(Default::default()).await?;
    /// tx.exec_drop("INSERT INTO orders (id) VALUES (?)", (42,)).await?;
    /// driver.push_in(&mut tx, job).await?; // "send the confirmation"
    /// tx.commit().await?; // the order and its job, or neither
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The checks of `push` (payload size, due time) before anything is
    /// written; a backend error as [`DriverError`] — never retried here, since
    /// the transaction is the caller's (roll it back or retry it whole).
    pub async fn push_in(
        &self,
        tx: &mut Transaction<'_>,
        job: PendingJob,
    ) -> Result<JobId, DriverError> {
        let mut ids = self.push_bulk_in(tx, vec![job]).await?;
        Ok(ids.remove(0))
    }

    /// [`push_in`](Self::push_in) for several jobs (any queues, grouped or
    /// not), in order; all are checked before any is written.
    pub async fn push_bulk_in(
        &self,
        tx: &mut Transaction<'_>,
        jobs: Vec<PendingJob>,
    ) -> Result<Vec<JobId>, DriverError> {
        for job in &jobs {
            job.check_size(self.inner.max_payload, NAME)?;
            check_due(job)?;
        }
        let ids = jobs.iter().map(|j| j.id.clone()).collect();
        let (grouped, plain): (Vec<PendingJob>, Vec<PendingJob>) =
            jobs.into_iter().partition(|j| j.group.is_some());
        for job in plain {
            let now = due_now(&job);
            let mut params = Vec::with_capacity(6);
            row_params(job, now, &mut params);
            let stmt = if now { sql::PUSH_NOW } else { sql::PUSH };
            tx.exec_drop(stmt, params).await.map_err(map)?;
        }
        if !grouped.is_empty() {
            groups::join(tx, &grouped).await.map_err(map)?;
            groups::insert(tx, grouped).await.map_err(map)?;
            self.forget_grouped();
        }
        Ok(ids)
    }
}
