//! Turning a [`Config`] into a driver, and `routemq migrate`. The only module that
//! names a concrete driver crate, each behind its cargo feature.

use std::sync::Arc;

use routemq_core::{Driver, MemoryDriver};

use crate::output::Output;
use crate::{CliError, Config, ConfigError, Connection};

/// Connects the driver `config` names and checks that the server answers. A driver
/// whose cargo feature is off is a [`ConfigError::FeatureMissing`] (exit code 2);
/// an unreachable server is a driver error (exit code 1). The MySQL tables are not
/// created here: run `routemq migrate` (or [`migrate_if_database`]).
pub async fn connect(config: &Config) -> Result<Arc<dyn Driver>, CliError> {
    match config.connection {
        Connection::Memory => Ok(Arc::new(MemoryDriver::new())),
        Connection::Redis => connect_redis(config).await,
        Connection::Database => connect_mysql(config).await,
    }
}

#[cfg(any(feature = "redis", feature = "mysql"))]
fn not_resolved(what: &str) -> CliError {
    CliError::Config(ConfigError::Choice(format!(
        "the {what} settings were not resolved from the configuration"
    )))
}

#[cfg(feature = "redis")]
async fn connect_redis(config: &Config) -> Result<Arc<dyn Driver>, CliError> {
    use routemq_redis::RedisDriver;

    let redis = config.redis.clone().ok_or_else(|| not_resolved("Redis"))?;
    let driver = RedisDriver::new(redis).map_err(ConfigError::from)?;
    driver.ping().await?;
    Ok(Arc::new(driver))
}

#[cfg(not(feature = "redis"))]
async fn connect_redis(_config: &Config) -> Result<Arc<dyn Driver>, CliError> {
    Err(ConfigError::FeatureMissing {
        connection: Connection::Redis,
        feature: "redis",
    }
    .into())
}

#[cfg(feature = "mysql")]
async fn connect_mysql(config: &Config) -> Result<Arc<dyn Driver>, CliError> {
    Ok(Arc::new(mysql_driver(config).await?))
}

#[cfg(feature = "mysql")]
async fn mysql_driver(config: &Config) -> Result<routemq_mysql::MysqlDriver, CliError> {
    use routemq_mysql::{ConnectError, MysqlDriver};

    let mysql = config.mysql.clone().ok_or_else(|| not_resolved("MySQL"))?;
    MysqlDriver::connect(mysql).await.map_err(|e| match e {
        ConnectError::Config(c) => CliError::Config(c.into()),
        ConnectError::Driver(d) => CliError::Driver(d),
        other => CliError::MysqlConnect(other),
    })
}

#[cfg(not(feature = "mysql"))]
async fn connect_mysql(_config: &Config) -> Result<Arc<dyn Driver>, CliError> {
    Err(ConfigError::FeatureMissing {
        connection: Connection::Database,
        feature: "mysql",
    }
    .into())
}

/// What `routemq bench --queued N` reads before and after its fill for the
/// store's bytes per queued job, over a connection of its own: Redis's
/// `used_memory` (summed over a cluster's masters), the MySQL jobs table's size.
/// `None` (the report says "n/a") for the memory driver and for a driver the
/// application supplied (no `config`).
pub(crate) async fn store_size(
    config: Option<&Config>,
) -> Result<Option<Box<dyn routemq_bench::StoreSize>>, CliError> {
    match config {
        #[cfg(feature = "redis")]
        Some(c) if c.connection == Connection::Redis => {
            let redis = c.redis.clone().ok_or_else(|| not_resolved("Redis"))?;
            let driver = routemq_redis::RedisDriver::new(redis).map_err(ConfigError::from)?;
            Ok(Some(Box::new(RedisUsedMemory(driver))))
        }
        #[cfg(feature = "mysql")]
        Some(c) if c.connection == Connection::Database => {
            Ok(Some(Box::new(MysqlTableBytes(mysql_driver(c).await?))))
        }
        _ => Ok(None),
    }
}

/// [`routemq_bench::StoreSize`] as `INFO memory`'s `used_memory`.
#[cfg(feature = "redis")]
struct RedisUsedMemory(routemq_redis::RedisDriver);

#[cfg(feature = "redis")]
#[routemq_core::async_trait]
impl routemq_bench::StoreSize for RedisUsedMemory {
    async fn store_bytes(&self) -> Result<u64, routemq_core::DriverError> {
        self.0.used_memory().await
    }
}

/// [`routemq_bench::StoreSize`] as the size of the `queue_jobs` table.
#[cfg(feature = "mysql")]
struct MysqlTableBytes(routemq_mysql::MysqlDriver);

#[cfg(feature = "mysql")]
#[routemq_core::async_trait]
impl routemq_bench::StoreSize for MysqlTableBytes {
    async fn store_bytes(&self) -> Result<u64, routemq_core::DriverError> {
        self.0.table_bytes().await
    }
}

/// Applies the MySQL migrations when `config` is the database connection, or
/// names the outbox's application database; returns the versions applied now
/// and those applied before (both empty otherwise).
pub async fn migrate_if_database(config: &Config) -> Result<(Vec<u32>, Vec<u32>), CliError> {
    match config.connection {
        #[cfg(feature = "mysql")]
        Connection::Database => {
            let report = mysql_driver(config).await?.migrate().await?;
            Ok((report.applied, report.already_applied))
        }
        #[cfg(feature = "mysql")]
        Connection::Redis if config.outbox || config.failed_in_database => {
            let report = mysql_driver(config).await?.migrate().await?;
            Ok((report.applied, report.already_applied))
        }
        _ => Ok((Vec::new(), Vec::new())),
    }
}

/// Where failed jobs are kept: the database failed store of a Redis connection
/// when `config` asks for it (`ROUTEMQ_FAILED_STORE`), else `driver`'s own.
pub async fn failed_store(
    config: Option<&Config>,
    driver: Arc<dyn Driver>,
) -> Result<Arc<dyn routemq_core::FailedStore>, CliError> {
    #[cfg(feature = "failed-mysql")]
    if let Some(store) = match config {
        Some(c) => database_failed_store(c).await?,
        None => None,
    } {
        return Ok(Arc::new(store));
    }
    #[cfg(not(feature = "failed-mysql"))]
    let _ = config;
    Ok(driver)
}

/// What `routemq dashboard` shows failed jobs from: [`failed_store`], and —
/// when that is the database failed store of a Redis connection — its
/// per-queue counts (the driver's own `stats` do not see it).
pub(crate) async fn dashboard_failed(
    config: Option<&Config>,
    driver: Arc<dyn Driver>,
) -> Result<
    (
        Arc<dyn routemq_core::FailedStore>,
        Option<Arc<dyn routemq_dashboard::FailedCounts>>,
    ),
    CliError,
> {
    #[cfg(feature = "failed-mysql")]
    if let Some(store) = match config {
        Some(c) => database_failed_store(c).await?,
        None => None,
    } {
        let counts = Arc::new(DatabaseFailedCounts(store.clone()));
        return Ok((Arc::new(store), Some(counts)));
    }
    #[cfg(not(feature = "failed-mysql"))]
    let _ = config;
    Ok((driver, None))
}

/// The per-queue counts of the database failed store, for the dashboard.
#[cfg(feature = "failed-mysql")]
#[derive(Debug)]
struct DatabaseFailedCounts(routemq_failed_mysql::DatabaseFailedStore);

#[cfg(feature = "failed-mysql")]
#[routemq_core::async_trait]
impl routemq_dashboard::FailedCounts for DatabaseFailedCounts {
    async fn failed_counts(&self) -> Result<Vec<(String, u64)>, routemq_core::DriverError> {
        self.0.failed_counts().await
    }
}

/// The database failed store of a Redis connection, when `config` turns it on.
#[cfg(feature = "failed-mysql")]
pub async fn database_failed_store(
    config: &Config,
) -> Result<Option<routemq_failed_mysql::DatabaseFailedStore>, CliError> {
    if !(config.connection == Connection::Redis && config.failed_in_database) {
        return Ok(None);
    }
    let database = mysql_driver(config).await?;
    let redis = config.redis.clone().ok_or_else(|| not_resolved("Redis"))?;
    let redis = routemq_redis::RedisDriver::new(redis).map_err(ConfigError::from)?;
    Ok(Some(routemq_failed_mysql::DatabaseFailedStore::new(
        redis, database,
    )))
}

/// The outbox `config` turns on (`ROUTEMQ_OUTBOX=true` with Redis), connected:
/// its application database and a Redis driver to relay to; `None` when off.
#[cfg(feature = "outbox")]
pub async fn outbox(config: &Config) -> Result<Option<routemq_outbox::Outbox>, CliError> {
    if !config.outbox {
        return Ok(None);
    }
    let database = mysql_driver(config).await?;
    let redis = config.redis.clone().ok_or_else(|| not_resolved("Redis"))?;
    let redis = routemq_redis::RedisDriver::new(redis).map_err(ConfigError::from)?;
    Ok(Some(routemq_outbox::Outbox::new(
        database.pool().clone(),
        redis,
    )))
}

/// `routemq migrate`: applies the MySQL migrations; nothing to do for Redis and
/// memory (their layout needs no setup).
pub(crate) async fn migrate(
    driver: Arc<dyn Driver>,
    config: Option<&Config>,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let (applied, already) = match config {
        Some(c) => migrate_if_database(c).await?,
        None => (Vec::new(), Vec::new()),
    };
    let name = driver.connection_name();
    let outbox = config.is_some_and(|c| c.outbox || c.failed_in_database);
    let text = if name != "database" && !outbox {
        format!("nothing to migrate for the {name} driver")
    } else if applied.is_empty() {
        format!("database is up to date (migrations {already:?} were applied before)")
    } else {
        format!("applied migrations {applied:?} (already applied: {already:?})")
    };
    out.either(
        &serde_json::json!({ "connection": name, "applied": applied, "already_applied": already }),
        text,
    )
}
