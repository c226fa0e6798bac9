//! Test infrastructure: gives each test a fresh, isolated Redis database / key space
//! or MySQL schema on a real server, found in this order:
//! 1. `ROUTEMQ_TEST_REDIS_URL` / `ROUTEMQ_TEST_MYSQL_URL`;
//! 2. a local server binary (`redis-server`, `mariadbd`/`mysqld`) started by the
//!    testkit itself on a free port (restart tests need this one);
//! 3. a container started through the `testcontainers` crate (host network,
//!    127.0.0.1 and a free port), when a Docker engine answers.
//!
//! Redis can also be a local Redis Cluster (3 masters, 3 replicas) of
//! `redis-server` processes the testkit starts: [`redis::redis_cluster`], or
//! [`redis::redis`] with `ROUTEMQ_TEST_REDIS=cluster`; cluster tests that need
//! faults start their own [`redis::RedisCluster`].
//!
//! Variables (all optional):
//!
//! | variable | meaning |
//! | --- | --- |
//! | `ROUTEMQ_TEST_REDIS_URL`, `ROUTEMQ_TEST_MYSQL_URL` | a running server to use |
//! | `ROUTEMQ_TEST_REDIS`, `ROUTEMQ_TEST_MYSQL` | `container`, `local` or `url`: use only that source; for Redis also `cluster` (a local Redis Cluster) |
//! | `ROUTEMQ_TEST_REDIS_IMAGE` | the Redis image (default `redis:7`) |
//! | `ROUTEMQ_TEST_MYSQL_IMAGE` | the MySQL image (default `mysql:8.4`) |
//! | `ROUTEMQ_TEST_REDIS_SERVER` | the `redis-server` binary to start (default: the one on PATH) |
//! | `ROUTEMQ_TEST_REDIS_CLI` | the `redis-cli` that creates a Redis Cluster (default: the one next to that `redis-server`, else the one on PATH) |
//! | `ROUTEMQ_TEST_MYSQLD` | the `mysqld`/`mariadbd` binary to start (default: found on PATH) |
//! | `ROUTEMQ_TEST_SERVER_REPORT` | a file to which each shared server started appends `kind, how, version` |
//! | `ROUTEMQ_TEST_CHROMEDRIVER`, `ROUTEMQ_TEST_CHROMIUM` | the browser of [`browser`] tests (default Debian's `/usr/bin/chromedriver`, `/usr/bin/chromium`) |
//! | `DOCKER_HOST` | the Docker engine (default `unix:///var/run/docker.sock`) |
//!
//! If none works, the test fails with a message saying how to provide a server. It
//! never skips silently.
//!
//! # What this crate must not depend on
//! Any RouteMQ driver, the worker or the CLI: it hands out connection info (URLs,
//! key prefixes, schemas) and server handles, so driver crates can use it as a
//! dev-dependency without a cycle.

#![warn(missing_docs)]

pub mod browser;
mod container;
mod free_port;
pub mod mysql;
pub mod redis;
mod redis_cluster;
mod redis_server;
mod report;
mod silent_server;

pub use container::docker_engine;
pub use free_port::free_port;
pub use report::SERVER_REPORT_VAR;
pub use silent_server::SilentServer;
