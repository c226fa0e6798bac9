//! End-to-end fault and bad-input suite of RouteMQ (issue 6): real workers
//! ([`routemq_worker::Worker`]) over the real Redis and MySQL/MariaDB drivers,
//! counting every job at the end — completed, failed, still queued — against what
//! was dispatched.
//!
//! This library holds what the tests in `tests/tests/` share: the [`run_ledger`]
//! that counts how often each job ran, the [`test_jobs`] that write to it, the
//! [`stores`] that give each test an isolated Redis key prefix or MySQL schema, and
//! the [`accounting`] that totals a queue's jobs, and the [`file_ledger`] that
//! worker processes (the `e2e-ledger-worker` binary) write their runs to.
//!
//! # What this crate must not depend on
//! Any mock, and the CLI's internals: it drives only public APIs of the core, the
//! worker and the drivers, on real servers provided by `routemq-testkit`. The CLI
//! is a dependency only for the `e2e-routemq` binary (its unchanged `main`), run
//! as a child process.

#![warn(missing_docs)]

pub mod accounting;
pub mod connection_killer;
pub mod file_ledger;
pub mod producer;
pub mod run_ledger;
pub mod stores;
pub mod test_jobs;
