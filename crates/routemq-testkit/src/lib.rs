//! Test infrastructure: gives each test a fresh, isolated Redis database / key space
//! or MySQL schema on a real server, found in this order:
//! 1. `ROUTEMQ_TEST_REDIS_URL` / `ROUTEMQ_TEST_MYSQL_URL`;
//! 2. a local server binary (`redis-server`, `mariadbd`/`mysqld`) started by the
//!    testkit itself on a free port (restart tests need this one);
//! 3. a container started with the `docker` command, when a Docker engine answers.
//!
//! If none works, the test fails with a message saying how to provide a server. It
//! never skips silently.
//!
//! # What this crate must not depend on
//! Any RouteMQ driver, the worker or the CLI: it hands out connection info (URLs,
//! key prefixes, schemas) and server handles, so driver crates can use it as a
//! dev-dependency without a cycle.

#![warn(missing_docs)]

mod free_port;
pub mod mysql;
pub mod redis;
mod redis_server;
mod silent_server;

pub use free_port::free_port;
pub use silent_server::SilentServer;
