//! The driver handle: the pool, the settings and the in-process wake-up, plus
//! what every operation shares (pooled connections within the connect timeout,
//! lock-conflict retries, chunked deletes). The contract is implemented per
//! capability: `lifecycle.rs` (JobLifecycle), `failed.rs` (FailedStore),
//! `admin.rs` (QueueAdmin), `workers.rs` (WorkerRegistry), `tracking.rs`
//! (JobTracking), `workflows.rs` (Workflows), `history.rs` (History),
//! `listing.rs` (JobListing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool};
use routemq_core::{DriverError, QueueName};
use tokio::sync::Notify;

use crate::claim_cursor::ClaimCursors;
use crate::error::{map, NAME};
use crate::rate_limits::GatedQueues;
use crate::{sql, ConfigError, MigrationError, MigrationReport, MysqlConfig};

/// Rows deleted per statement by bulk deletes (short transactions, no huge undo).
const DELETE_CHUNK: u64 = 5000;

/// Headroom kept below `max_allowed_packet` for the statement around a payload.
const PACKET_HEADROOM: usize = 64 << 10;

/// Why [`MysqlDriver::connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The settings cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The server could not be reached or refused the connection.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

/// The MySQL/MariaDB driver. Cheap to clone; clones share the pool and wake
/// each other's waiting workers.
#[derive(Clone)]
pub struct MysqlDriver {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: Pool,
    pub(crate) config: MysqlConfig,
    pub(crate) max_payload: usize,
    /// The server has `DELETE … RETURNING` (MariaDB): a batch ack is then one
    /// statement instead of a four-step transaction.
    pub(crate) delete_returning: bool,
    pub(crate) wake: Notify,
    /// The paused queues as last read, and when: claims use it instead of a
    /// read per claim (see [`MysqlDriver::paused_queues`]).
    pub(crate) paused: std::sync::Mutex<Option<(Instant, Arc<Vec<String>>)>>,
    /// The queues with a rate limit, a group concurrency cap or a hold as last
    /// read, and when (see [`MysqlDriver::gated_queues`]).
    pub(crate) gated: std::sync::Mutex<Option<(Instant, Arc<GatedQueues>)>>,
    /// The queues with a rotation of groups as last read, and when (see
    /// [`MysqlDriver::grouped_queues`]).
    pub(crate) grouped: std::sync::Mutex<Option<(Instant, Arc<Vec<String>>)>>,
    /// When this driver (or a clone) last pruned `queue_history` (see
    /// `MysqlDriver::prune_history`).
    pub(crate) history_pruned: std::sync::Mutex<Option<Instant>>,
    /// Where each queue's next claim starts its scan (see `claim_cursor.rs`).
    pub(crate) claim_cursors: ClaimCursors,
}

/// How long claims trust the last read of `queue_paused`. A pause or resume made
/// through this driver refreshes it at once; one made by another process is seen
/// within this long.
const PAUSED_FRESH_FOR: Duration = Duration::from_millis(250);

/// A connection from `pool` within `config.connect_timeout`, else `Unavailable`
/// naming the server and the timeout (`also` adds another possible cause).
/// mysql_async has no handshake timeout: a server that accepts TCP and never
/// answers would otherwise keep `get_conn` waiting forever. Dropping the
/// unfinished `get_conn` gives its pool slot back.
async fn timed_conn(pool: &Pool, config: &MysqlConfig, also: &str) -> Result<Conn, DriverError> {
    match tokio::time::timeout(config.connect_timeout, pool.get_conn()).await {
        Ok(res) => res.map_err(map),
        Err(_) => Err(DriverError::unavailable(
            NAME,
            format!(
                "cannot reach MySQL at {}:{}: no answer within {:?}{also}",
                config.opts.ip_or_hostname(),
                config.opts.tcp_port(),
                config.connect_timeout
            ),
        )),
    }
}

impl std::fmt::Debug for MysqlDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let o = &self.inner.config.opts;
        f.debug_struct("MysqlDriver")
            .field("host", &o.ip_or_hostname())
            .field("port", &o.tcp_port())
            .field("db", &o.db_name())
            .field("max_payload", &self.inner.max_payload)
            .finish()
    }
}

impl MysqlDriver {
    /// Connects (checking the server answers) without migrating.
    pub async fn connect(config: MysqlConfig) -> Result<Self, ConnectError> {
        let pool = Pool::new(config.pool_opts()?);
        // The pool is empty: a wait here is the server's, not a busy pool's.
        let mut conn = timed_conn(&pool, &config, "").await?;
        let packet: Option<u64> = conn
            .query_first(sql::MAX_ALLOWED_PACKET)
            .await
            .map_err(map)?;
        let mariadb: Option<bool> = conn.query_first(sql::IS_MARIADB).await.map_err(map)?;
        drop(conn);
        let packet = packet.unwrap_or(4 << 20) as usize;
        let max_payload = config
            .max_payload_bytes
            .min(packet.saturating_sub(PACKET_HEADROOM));
        Ok(MysqlDriver {
            inner: Arc::new(Inner {
                pool,
                config,
                max_payload,
                delete_returning: mariadb.unwrap_or(false),
                wake: Notify::new(),
                paused: std::sync::Mutex::new(None),
                gated: std::sync::Mutex::new(None),
                grouped: std::sync::Mutex::new(None),
                history_pruned: std::sync::Mutex::new(None),
                claim_cursors: ClaimCursors::default(),
            }),
        })
    }

    /// Connects to `url` (`mysql://user:pass@host:port/db`) with default settings.
    pub async fn connect_url(url: &str) -> Result<Self, ConnectError> {
        Self::connect(MysqlConfig::from_url(url)?).await
    }

    /// Connects and applies pending migrations.
    pub async fn connect_and_migrate(config: MysqlConfig) -> Result<Self, MigrationError> {
        let driver = Self::connect(config).await.map_err(|e| match e {
            ConnectError::Config(c) => {
                MigrationError::Driver(DriverError::InvalidArgument(c.to_string()))
            }
            ConnectError::Driver(d) => MigrationError::Driver(d),
        })?;
        driver.migrate().await?;
        Ok(driver)
    }

    /// Applies pending migrations (idempotent, safe to run concurrently).
    pub async fn migrate(&self) -> Result<MigrationReport, MigrationError> {
        let mut conn = self.conn().await?;
        crate::migrate(&mut conn).await
    }

    /// The connection pool, for callers' own SQL (inspection, admin tools).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The settings in use.
    pub fn config(&self) -> &MysqlConfig {
        &self.inner.config
    }

    /// Closes the pool's connections (waits for those in use to come back).
    pub async fn disconnect(self) -> Result<(), DriverError> {
        self.inner.pool.clone().disconnect().await.map_err(map)
    }

    /// A pooled connection, within the connect timeout.
    pub(crate) async fn conn(&self) -> Result<Conn, DriverError> {
        let busy = format!(
            " (or all {} pooled connections stayed busy)",
            self.inner.config.pool_max
        );
        timed_conn(&self.inner.pool, &self.inner.config, &busy).await
    }

    /// Wakes this process's waiting workers, unless switched off.
    pub(crate) fn wake_local(&self) {
        if self.inner.config.local_wakeup {
            self.inner.wake.notify_waiters();
        }
    }

    /// Runs `op` again after a deadlock or lock-wait timeout (the server rolled
    /// the transaction back), up to `lock_retries` times, with a short growing
    /// pause; any other error is mapped and returned.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T, DriverError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OpError>>,
    {
        let mut attempt = 0u32;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(OpError::Sql(e))
                    if crate::error::is_retryable(&e)
                        && attempt < self.inner.config.lock_retries =>
                {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "lock conflict, retrying");
                    let pause = Duration::from_micros(
                        200 * u64::from(attempt) + rand::random::<u64>() % 500,
                    );
                    tokio::time::sleep(pause).await;
                }
                Err(OpError::Sql(e)) => return Err(map(e)),
                Err(OpError::Driver(e)) => return Err(e),
            }
        }
    }
}

impl MysqlDriver {
    /// Runs one autocommit statement (retried after a deadlock, which rolled it
    /// back); returns the rows it changed.
    pub(crate) async fn single(
        &self,
        stmt: &str,
        params: Vec<mysql_async::Value>,
    ) -> Result<u64, DriverError> {
        self.retrying(|| {
            let params = params.clone();
            async move {
                let mut conn = self.conn().await?;
                conn.exec_drop(stmt, params).await?;
                Ok::<_, OpError>(conn.affected_rows())
            }
        })
        .await
    }

    /// Runs `statements` in one transaction (all retried after a deadlock,
    /// which rolled them back): the many-statement form of [`single`](Self::single).
    pub(crate) async fn in_one_transaction(
        &self,
        statements: &[(String, Vec<mysql_async::Value>)],
    ) -> Result<(), DriverError> {
        self.retrying(|| async move {
            let mut conn = self.conn().await?;
            let mut tx = conn
                .start_transaction(mysql_async::TxOpts::default())
                .await?;
            for (stmt, params) in statements {
                tx.exec_drop(stmt.as_str(), params.clone()).await?;
            }
            tx.commit().await?;
            Ok::<_, OpError>(())
        })
        .await
    }
}

impl MysqlDriver {
    /// The paused queues, read from `queue_paused` on `conn` at most every
    /// [`PAUSED_FRESH_FOR`], so a busy worker does not pay a round trip per claim.
    pub(crate) async fn paused_queues(
        &self,
        conn: &mut Conn,
    ) -> Result<Arc<Vec<String>>, mysql_async::Error> {
        if let Some((at, names)) = &*self.inner.paused.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < PAUSED_FRESH_FOR {
                return Ok(names.clone());
            }
        }
        let names: Arc<Vec<String>> = Arc::new(conn.query(sql::PAUSED).await?);
        *self.inner.paused.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), names.clone()));
        Ok(names)
    }

    /// Forgets the cached paused queues (after a pause or resume through this
    /// driver), so the next claim reads them again.
    pub(crate) fn forget_paused(&self) {
        *self.inner.paused.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The queues with a rate limit, a group concurrency cap or a hold
    /// (`queue_rate_limits`), read on `conn` at most every [`PAUSED_FRESH_FOR`]
    /// like the paused queues: claims of other queues pay nothing for rate
    /// limits.
    pub(crate) async fn gated_queues(
        &self,
        conn: &mut Conn,
    ) -> Result<Arc<GatedQueues>, mysql_async::Error> {
        if let Some((at, gated)) = &*self.inner.gated.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < PAUSED_FRESH_FOR {
                return Ok(gated.clone());
            }
        }
        let rows: Vec<(String, i64)> = conn.query(sql::RATE_GATED).await?;
        let capped = rows
            .iter()
            .filter(|(_, c)| *c == 1)
            .map(|(q, _)| q.clone())
            .collect();
        let names = rows.into_iter().map(|(q, _)| q).collect();
        let gated = Arc::new(GatedQueues { names, capped });
        *self.inner.gated.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), gated.clone()));
        Ok(gated)
    }

    /// Wakes this process's waiters when `queue` had a group concurrency cap at
    /// the last read of the gated queues (a job of it just ended, so a group
    /// at its cap may deliver again). No read: a queue capped by another
    /// process since is seen by the waiters' next poll.
    pub(crate) fn wake_if_capped(&self, queue: &QueueName) {
        let capped = match &*self.inner.gated.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((_, gated)) => gated.capped.iter().any(|c| c == queue.as_str()),
            None => false,
        };
        if capped {
            self.wake_local();
        }
    }

    /// Forgets the cached rate-limited queues (after a change through this
    /// driver), so the next claim reads them again.
    pub(crate) fn forget_gated(&self) {
        *self.inner.gated.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Runs `stmt`, a `DELETE … LIMIT ?` whose last parameter is the chunk size
    /// (appended here to `params`), until a run deletes less than a chunk;
    /// returns the rows deleted in all. Each run is its own short autocommit
    /// transaction, so a large delete never builds a huge undo log.
    pub(crate) async fn delete_in_chunks(
        &self,
        stmt: &str,
        mut params: Vec<mysql_async::Value>,
    ) -> Result<u64, DriverError> {
        params.push(DELETE_CHUNK.into());
        let mut conn = self.conn().await?;
        let mut total = 0;
        loop {
            conn.exec_drop(stmt, params.clone()).await.map_err(map)?;
            let deleted = conn.affected_rows();
            total += deleted;
            if deleted < DELETE_CHUNK {
                return Ok(total);
            }
        }
    }
}

/// An error inside a retried operation: raw SQL errors are inspected for
/// deadlocks before being mapped.
pub(crate) enum OpError {
    Sql(mysql_async::Error),
    Driver(DriverError),
}

impl From<mysql_async::Error> for OpError {
    fn from(e: mysql_async::Error) -> Self {
        OpError::Sql(e)
    }
}

impl From<DriverError> for OpError {
    fn from(e: DriverError) -> Self {
        OpError::Driver(e)
    }
}

/// For the crate's unit tests against a real server: a driver with default
/// settings, migrated, over a fresh schema (keep the schema: dropping it drops
/// the database).
#[cfg(test)]
pub(crate) async fn migrated_for_test() -> (routemq_testkit::mysql::MysqlSchema, MysqlDriver) {
    let schema = routemq_testkit::mysql::MysqlSchema::create().await.unwrap();
    let config = MysqlConfig::from_url(schema.url()).unwrap();
    let driver = MysqlDriver::connect_and_migrate(config).await.unwrap();
    (schema, driver)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn server_error(code: u16) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            message: "test".into(),
            state: "40001".into(),
        })
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn lock_conflicts_are_retried_then_surface() {
        let schema = routemq_testkit::mysql::MysqlSchema::create().await.unwrap();
        let mut config = MysqlConfig::from_url(schema.url()).unwrap();
        config.lock_retries = 3;
        let driver = MysqlDriver::connect(config).await.unwrap();

        // Two deadlocks, then success: the caller sees only the success.
        let calls = AtomicU32::new(0);
        let v = driver
            .retrying(|| async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(OpError::Sql(server_error(1213))),
                    1 => Err(OpError::Sql(server_error(1205))),
                    _ => Ok(7),
                }
            })
            .await
            .unwrap();
        assert_eq!((v, calls.load(Ordering::SeqCst)), (7, 3));

        // Conflicts beyond the budget surface as a (transient) backend error.
        let calls = AtomicU32::new(0);
        let err = driver
            .retrying(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(OpError::Sql(server_error(1213)))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, DriverError::Backend { .. }), "{err}");
        assert!(err.is_transient());
        assert_eq!(calls.load(Ordering::SeqCst), 4, "first try + 3 retries");

        // Other SQL errors are not retried.
        let calls = AtomicU32::new(0);
        let err = driver
            .retrying(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(OpError::Sql(server_error(1064)))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, DriverError::Backend { .. }));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        driver.disconnect().await.unwrap();
    }

    /// Connections above the pool minimum are kept for reuse, not closed as they
    /// come back (mysql_async's default with no idle TTL): four connections held
    /// at once, twenty times over, are the same four server connections.
    #[tokio::test(flavor = "multi_thread")]
    async fn pooled_connections_above_the_minimum_are_reused() {
        use mysql_async::prelude::Queryable;

        let schema = routemq_testkit::mysql::MysqlSchema::create().await.unwrap();
        let mut config = MysqlConfig::from_url(schema.url()).unwrap();
        config.pool_min = 1;
        let driver = MysqlDriver::connect(config).await.unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            let mut held = Vec::new();
            for _ in 0..4 {
                held.push(driver.conn().await.unwrap());
            }
            for conn in &mut held {
                let id: Option<u64> = conn.query_first("SELECT CONNECTION_ID()").await.unwrap();
                seen.insert(id.unwrap());
            }
            drop(held);
            // The pool takes returned connections back in the background.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(
            seen.len() <= 4,
            "{} server connections for 4 held at a time",
            seen.len()
        );
        driver.disconnect().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_unreachable_server_is_unavailable() {
        let port = routemq_testkit::free_port().unwrap();
        let err = MysqlDriver::connect_url(&format!("mysql://root@127.0.0.1:{port}/x"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectError::Driver(DriverError::Unavailable { .. })),
            "{err}"
        );
    }

    /// A server that accepts TCP and never sends its handshake: `connect` fails
    /// within the connect timeout, naming the server, instead of hanging.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_silent_server_is_unavailable_within_the_connect_timeout() {
        let server = routemq_testkit::SilentServer::start().unwrap();
        let port = server.port();
        let mut config =
            MysqlConfig::from_url(&format!("mysql://root@127.0.0.1:{port}/x")).unwrap();
        config.connect_timeout = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let err = MysqlDriver::connect(config).await.unwrap_err();
        let took = started.elapsed();
        drop(server);
        let text = err.to_string();
        assert!(
            matches!(err, ConnectError::Driver(DriverError::Unavailable { .. })),
            "{text}"
        );
        let expected = format!("cannot reach MySQL at 127.0.0.1:{port}: no answer within 300ms");
        assert!(text.contains(&expected), "{text}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }
}
