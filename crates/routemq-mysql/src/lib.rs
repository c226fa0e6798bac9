//! The MySQL/MariaDB storage driver of RouteMQ: a [`Driver`](routemq_core::Driver)
//! over the `queue_jobs` / `queue_failed_jobs` tables of the original RouteMQ,
//! created and upgraded by the versioned SQL files in `migrations/`.
//!
//! - **Claims** take a batch in one transaction: `SELECT … FOR UPDATE SKIP
//!   LOCKED` per queue in priority order, then one `UPDATE` that sets each row's
//!   owner token, `reserved_at`, lease deadline and `attempts + 1`, and gives
//!   up the 48 bytes of `claim_room` a waiting row holds (migration 0015), so
//!   the row keeps its size and InnoDB rewrites it in place. Deadlocks and
//!   lock-wait timeouts are retried inside the driver. Each queue's scan starts
//!   past the last job this driver claimed from it (the claim cursor), not at
//!   the index entries claimed jobs leave until InnoDB purges them; jobs are
//!   claimed oldest-available first, except that one whose push committed after
//!   newer jobs were claimed may wait up to 500 ms longer while the queue stays
//!   busy.
//! - **Leases are fenced**: ack, release, fail and extend match the row id *and*
//!   the owner token (`<id>.<random>`); a stale owner gets
//!   [`LeaseLost`](routemq_core::DriverError::LeaseLost) and changes nothing.
//! - **Moves between tables** (fail, reclaim of an exhausted job, failed retry)
//!   are one transaction each, so a crash cannot lose or duplicate a job.
//! - **Idle workers** poll adaptively (from [`MysqlConfig::poll_min`] doubling to
//!   [`MysqlConfig::poll_max`]) and wake at once on a dispatch from the same
//!   process.
//! - **Throughput history** (`queue_history`, migration 0014) is one multi-row
//!   upsert per `record_history`, adding to the stored per-minute counts; old
//!   minutes are pruned in bounded chunks. **Listings** of a queue by state are
//!   ordered index ranges, so a page costs what its offset and limit cost,
//!   never the queue's length.
//! - **Times** come from the server's clock (`NOW(6)`): leases, release delays
//!   and "now" never depend on a worker's clock. Only a due time given to
//!   `dispatch_later` is the producer's instant. The driver's sessions run in
//!   UTC (`time_zone = '+00:00'`, whatever the server's default), so the
//!   `DATETIME(6)` columns hold UTC times with no repeated DST hour; an
//!   operator's query comparing them with `NOW()` should run
//!   `SET time_zone = '+00:00'` first (or use `UTC_TIMESTAMP()`) unless the
//!   server's own default is UTC.
//!
//! # What this crate must not depend on
//! The worker runtime and the CLI: it implements `routemq-core`'s contract and
//! nothing else depends the other way.

#![warn(missing_docs)]

mod admin;
mod claim_cursor;
mod config;
mod driver;
mod error;
mod failed;
mod groups;
mod handoff;
mod history;
mod in_transaction;
mod lease;
mod lifecycle;
mod listing;
mod migrate;
mod push;
mod rate_limits;
mod reclaim;
mod schedules;
mod sql;
mod table_size;
mod time;
mod token;
mod tracking;
mod unique;
mod workers;
mod workflows;

pub use config::MysqlConfig;
pub use driver::{ConnectError, MysqlDriver};
pub use error::{ConfigError, MigrationError};
pub use handoff::{HandedOver, HandoffRetry};
pub use migrate::{migrate, Migration, MigrationReport, MIGRATIONS};

/// The mysql_async version this driver is built on, for callers that want to run
/// their own SQL through [`MysqlDriver::pool`].
pub use mysql_async;
