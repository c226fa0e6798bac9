//! Isolated stores on real servers: a Redis key prefix ([`RedisStore`]) or a
//! fresh MySQL schema ([`MysqlStore`]), each with a raw connection for writing
//! what a well-behaved producer never would.

use std::sync::Arc;

use routemq_core::{Driver, QueueName};
use routemq_mysql::mysql_async::{self, prelude::Queryable};
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_redis::{RedisConfig, RedisDriver};
use routemq_testkit::mysql::MysqlSchema;
use routemq_testkit::redis::RedisTarget;

/// A Redis driver over a key prefix of its own, and a raw connection.
pub struct RedisStore {
    /// The driver under test.
    pub driver: Arc<RedisDriver>,
    /// The server's URL.
    pub url: String,
    /// The key prefix no other test uses.
    pub prefix: String,
    /// Keeps a server the testkit started alive.
    _target: Option<RedisTarget>,
    /// A raw client connection (not the driver's).
    pub raw: redis::aio::MultiplexedConnection,
}

impl RedisStore {
    /// On the test Redis (`ROUTEMQ_TEST_REDIS_URL` or one the testkit starts).
    pub async fn new() -> Self {
        Self::with(|c| c).await
    }

    /// On the test Redis, with `tune` applied to the driver's settings.
    pub async fn with(tune: impl FnOnce(RedisConfig) -> RedisConfig) -> Self {
        let target = routemq_testkit::redis::redis();
        let (url, prefix) = (target.url.clone(), target.prefix.clone());
        Self::on(url, prefix, Some(target), tune).await
    }

    /// On the server at `url` under `prefix` (`target` kept alive with the
    /// store), with `tune` applied to the driver's settings.
    pub async fn on(
        url: String,
        prefix: String,
        target: Option<RedisTarget>,
        tune: impl FnOnce(RedisConfig) -> RedisConfig,
    ) -> Self {
        let config = RedisConfig::from_url(&url)
            .expect("a valid Redis URL")
            .prefix(prefix.clone());
        let driver = RedisDriver::new(tune(config)).expect("a Redis driver");
        let raw = redis::Client::open(url.as_str())
            .expect("a valid Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("a raw Redis connection");
        RedisStore {
            driver: Arc::new(driver),
            url,
            prefix,
            _target: target,
            raw,
        }
    }

    /// The driver as the worker and `Queue` take it.
    pub fn dyn_driver(&self) -> Arc<dyn Driver> {
        self.driver.clone()
    }

    /// The ready list of `queue` (`<prefix>:queue:<queue>`).
    pub fn ready_key(&self, queue: &QueueName) -> String {
        format!("{}:queue:{queue}", self.prefix)
    }

    /// Every key under this store's prefix (for checking nothing was written).
    pub async fn keys(&mut self) -> Vec<String> {
        let pattern = format!("{}:*", self.prefix);
        redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut self.raw)
            .await
            .expect("KEYS")
    }

    /// Deletes every key under this store's prefix (and nothing else). Dropping
    /// the store does the same, so a failing test leaves nothing behind either.
    pub async fn cleanup(self) {
        drop(self);
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        let (url, pattern) = (self.url.clone(), format!("{}:*", self.prefix));
        // A thread of its own with a blocking client: Drop may run inside a
        // runtime. The server may be gone already (a test's own redis-server).
        let _ = std::thread::spawn(move || -> redis::RedisResult<()> {
            let mut conn = redis::Client::open(url.as_str())?
                .get_connection_with_timeout(std::time::Duration::from_secs(2))?;
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut conn)?;
            for chunk in keys.chunks(500) {
                redis::cmd("DEL").arg(chunk).exec(&mut conn)?;
            }
            Ok(())
        })
        .join();
    }
}

/// A migrated MySQL driver over a fresh schema (dropped with the store).
pub struct MysqlStore {
    /// The driver under test.
    pub driver: MysqlDriver,
    /// The schema; dropped last.
    pub schema: MysqlSchema,
}

impl MysqlStore {
    /// A fresh schema with default driver settings.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A fresh schema, with `tune` applied to the driver's settings.
    pub async fn with(tune: impl FnOnce(&mut MysqlConfig)) -> Self {
        let schema = MysqlSchema::create()
            .await
            .expect("a MySQL/MariaDB for tests");
        let mut config = MysqlConfig::from_url(schema.url()).expect("a valid MySQL URL");
        tune(&mut config);
        let driver = MysqlDriver::connect_and_migrate(config)
            .await
            .expect("connect and migrate");
        MysqlStore { driver, schema }
    }

    /// The driver as the worker and `Queue` take it.
    pub fn dyn_driver(&self) -> Arc<dyn Driver> {
        Arc::new(self.driver.clone())
    }

    /// A connection of its own to the test schema (not from the driver's pool).
    pub async fn raw(&self) -> mysql_async::Conn {
        let opts = mysql_async::Opts::from_url(self.schema.url()).expect("a valid MySQL URL");
        mysql_async::Conn::new(opts)
            .await
            .expect("a raw MySQL connection")
    }

    /// Rows in `table` of the test schema.
    pub async fn count_rows(&self, table: &str) -> u64 {
        let mut conn = self.raw().await;
        let n: Option<u64> = conn
            .query_first(format!("SELECT COUNT(*) FROM {table}"))
            .await
            .expect("COUNT(*)");
        conn.disconnect().await.expect("disconnect");
        n.unwrap_or(0)
    }
}

/// Either store, so one scenario can run on both drivers.
pub enum Store {
    /// A Redis key prefix.
    Redis(RedisStore),
    /// A MySQL schema.
    Mysql(MysqlStore),
}

impl Store {
    /// A fresh Redis store on the test server.
    pub async fn redis() -> Self {
        Store::Redis(RedisStore::new().await)
    }

    /// A fresh MySQL store on the test server.
    pub async fn mysql() -> Self {
        Store::Mysql(MysqlStore::new().await)
    }

    /// The driver's connection name (`redis` or `database`).
    pub fn label(&self) -> &'static str {
        self.dyn_driver().connection_name()
    }

    /// The driver as the worker and `Queue` take it.
    pub fn dyn_driver(&self) -> Arc<dyn Driver> {
        match self {
            Store::Redis(s) => s.dyn_driver(),
            Store::Mysql(s) => s.dyn_driver(),
        }
    }

    /// Writes `garbage` straight into `queue` as a ready job, bypassing dispatch:
    /// `RPUSH <prefix>:queue:<queue>` for Redis, a raw `INSERT INTO queue_jobs`
    /// for MySQL.
    pub async fn inject_raw(&mut self, queue: &QueueName, garbage: &[u8]) {
        match self {
            Store::Redis(s) => {
                let key = s.ready_key(queue);
                let _: i64 = redis::cmd("RPUSH")
                    .arg(key)
                    .arg(garbage)
                    .query_async(&mut s.raw)
                    .await
                    .expect("RPUSH");
            }
            Store::Mysql(s) => {
                let mut conn = s.raw().await;
                conn.exec_drop(
                    "INSERT INTO queue_jobs (queue, payload) VALUES (?, ?)",
                    (queue.as_str(), garbage),
                )
                .await
                .expect("raw INSERT");
                conn.disconnect().await.expect("disconnect");
            }
        }
    }

    /// Removes what the store wrote (Redis keys under its prefix; the MySQL schema
    /// goes when the store drops).
    pub async fn cleanup(self) {
        match self {
            Store::Redis(s) => s.cleanup().await,
            Store::Mysql(s) => drop(s),
        }
    }
}
