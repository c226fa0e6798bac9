//! RouteMQ for Rust in one dependency: typed background jobs on Redis or
//! MySQL/MariaDB, with the parts an application uses chosen as features.
//!
//! ```toml
//! [dependencies]
//! routemq = { version = "0.1", features = ["redis", "worker"] }
//! ```
//!
//! | feature | brings | items |
//! | --- | --- | --- |
//! | (always) | `routemq-core` | [`Job`], [`Queue`], [`JobOptions`], [`Backoff`], [`MemoryDriver`], … at the crate root |
//! | `redis` | `routemq-redis` | [`redis`] module, `RedisDriver`, `RedisConfig` |
//! | `mysql` | `routemq-mysql` | [`mysql`] module, `MysqlDriver`, `MysqlConfig` |
//! | `worker` | `routemq-worker` | [`worker`] module, `Worker` |
//! | `cli` | `routemq-cli` | [`cli`] module (embed the `routemq` command with your jobs) |
//! | `tls` | the drivers' `tls` features | `rediss://`, MySQL `require_ssl=true` |
//! | `msgpack` | `routemq-core`'s `msgpack` | `Codec::MsgPack` job data and envelopes |
//!
//! No feature is on by default: a crate that asks for `redis` and `worker` builds
//! the core, the Redis driver and the worker, and nothing of MySQL or the CLI.
//!
//! ```
//! use routemq::{Job, JobContext, JobError, MemoryDriver, Queue};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct SendEmail {
//!     to: String,
//! }
//!
//! impl Job for SendEmail {
//!     const NAME: &'static str = "emails.send";
//!     async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let queue = Queue::new(MemoryDriver::new());
//! let id = queue.dispatch(SendEmail { to: "a@example.com".into() }).await?;
//! println!("dispatched {id}");
//! # Ok(())
//! # }
//! ```
//!
//! # What this crate must not depend on
//! Only on the RouteMQ crates it re-exports, each behind its feature (the core
//! always): no code of its own beyond re-exports, no test kit, no benchmark or
//! soak crates, and no driver, worker or CLI that the application did not ask for.

#![warn(missing_docs)]

pub use routemq_core::*;

/// The Redis driver (`routemq-redis`).
#[cfg(feature = "redis")]
pub use routemq_redis as redis;
#[cfg(feature = "redis")]
pub use routemq_redis::{RedisConfig, RedisDriver};

/// The MySQL/MariaDB driver (`routemq-mysql`).
#[cfg(feature = "mysql")]
pub use routemq_mysql as mysql;
#[cfg(feature = "mysql")]
pub use routemq_mysql::{MysqlConfig, MysqlDriver};

/// The transactional outbox of Redis queues (`routemq-outbox`).
#[cfg(feature = "outbox")]
pub use routemq_outbox as outbox;
#[cfg(feature = "outbox")]
pub use routemq_outbox::Outbox;

/// The database failed store of Redis queues (`routemq-failed-mysql`).
#[cfg(feature = "failed-mysql")]
pub use routemq_failed_mysql as failed_mysql;
#[cfg(feature = "failed-mysql")]
pub use routemq_failed_mysql::DatabaseFailedStore;

/// The worker runtime (`routemq-worker`).
#[cfg(feature = "worker")]
pub use routemq_worker as worker;
#[cfg(feature = "worker")]
pub use routemq_worker::Worker;

/// The `routemq` command, to embed with an application's own job types
/// (`routemq-cli`).
#[cfg(feature = "cli")]
pub use routemq_cli as cli;
