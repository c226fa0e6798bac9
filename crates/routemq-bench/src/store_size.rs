//! [`StoreSize`]: how the benchmark asks a store what it holds, for the bytes
//! per queued job of a run with `queued` filler jobs.

use routemq_core::DriverError;

/// A store's size in bytes, read before and after the filler is pushed; the
/// difference over the filler's job count is the store's bytes per queued job.
///
/// The benchmark takes `Arc<dyn Driver>`s, which do not say what they are;
/// the caller that connected the concrete driver implements this (Redis:
/// `RedisDriver::used_memory`, MySQL: `MysqlDriver::table_bytes`). Only
/// differences are used, so the figure may cover more than the bench queue
/// (the whole server, the whole table), as long as nothing else grows it
/// meanwhile. A reading should count what the store is still freeing in the
/// background from earlier deletes as freed: a clear's space still being
/// returned during the fill would hide the filler's growth. Redis's
/// `used_memory` waits for its background thread; MySQL's `table_bytes` does
/// not wait for InnoDB's purge (its docs say why and what to do). A store
/// that shrank over the fill gives no figure.
#[routemq_core::async_trait]
pub trait StoreSize: Send + Sync {
    /// The store's size now, in bytes.
    async fn store_bytes(&self) -> Result<u64, DriverError>;
}
