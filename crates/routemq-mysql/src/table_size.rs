//! [`MysqlDriver::table_bytes`]: what the jobs table takes on disk (for the
//! benchmark's bytes per queued job).

use mysql_async::prelude::Queryable;
use routemq_core::DriverError;

use crate::driver::MysqlDriver;
use crate::error::{map, NAME};
use crate::sql;

impl MysqlDriver {
    /// The bytes `queue_jobs` takes: its rows plus its indexes
    /// (`data_length + index_length` of `information_schema.TABLES`), after an
    /// `ANALYZE TABLE queue_jobs` so the statistics are current (MySQL 8 also
    /// caches them for `information_schema_stats_expiry`; `ANALYZE` refreshes
    /// that cache).
    ///
    /// The figure counts pages (16 KiB each by default), every queue's jobs
    /// together, and space freed by deleted rows until InnoDB reuses it: the
    /// difference between two readings around a large change is what that
    /// change cost, within a few pages.
    ///
    /// *Not settled:* deleted rows keep their pages until InnoDB's purge
    /// thread has removed them, which after a large delete takes seconds to
    /// minutes (300,000 deleted rows of 250 B took the table from 97.7 MB to
    /// 32 KiB here once purged). This reading does not wait for that (the
    /// server's undo history length needs the PROCESS privilege to read, and
    /// is server-wide), so a reading taken while an earlier delete is being
    /// purged is too high, and a difference across it too low. Measure after
    /// `SHOW ENGINE INNODB STATUS` shows a short history list.
    pub async fn table_bytes(&self) -> Result<u64, DriverError> {
        let mut conn = self.conn().await?;
        let analyzed: Vec<(String, String, String, String)> =
            conn.query(sql::ANALYZE_JOBS).await.map_err(map)?;
        if let Some((_, _, _, text)) = analyzed.iter().find(|(_, _, kind, _)| kind == "error") {
            return Err(DriverError::backend(
                NAME,
                format!("ANALYZE TABLE queue_jobs: {text}"),
            ));
        }
        let bytes: Option<u64> = conn.query_first(sql::TABLE_BYTES).await.map_err(map)?;
        bytes.ok_or_else(|| {
            DriverError::backend(
                NAME,
                "no table queue_jobs in the connection's database: run `routemq migrate`",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use routemq_core::{Codec, Envelope, JobLifecycle, PendingJob, QueueName};

    use crate::driver::migrated_for_test;

    /// A fresh table takes a few pages; 2,000 jobs of 1 KB each take more.
    #[tokio::test(flavor = "multi_thread")]
    async fn table_bytes_grow_with_the_jobs() {
        let (_schema, driver) = migrated_for_test().await;
        let empty = driver.table_bytes().await.unwrap();
        assert!(empty > 0, "the table and its indexes take pages");
        let queue = QueueName::new("table-bytes").unwrap();
        let body = format!("\"{}\"", "x".repeat(1_000)).into_bytes();
        let jobs = (0..2_000)
            .map(|_| {
                let envelope = Envelope::new("pad", queue.clone(), Codec::Json, body.clone());
                PendingJob::new(&envelope, None).unwrap()
            })
            .collect();
        driver.push_bulk(jobs).await.unwrap();
        let full = driver.table_bytes().await.unwrap();
        assert!(
            full >= empty + 2_000 * 1_000,
            "{empty} bytes empty, {full} with 2,000 jobs of 1 KB"
        );
    }
}
