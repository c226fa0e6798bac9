//! The RouteMQ benchmark: single enqueue, bulk enqueue, drain, idle latency, a
//! rate-limited drain, a group drain (1,000 groups) and a drain beside jobs
//! reporting progress 10,000 times a second, and the plain drain with the
//! workers' throughput history off and on, over
//! any [`Driver`](routemq_core::Driver), measured through the real [`Worker`](routemq_worker::Worker).
//! `routemq bench` and `cargo xtask bench` print its [`BenchReport`].
//!
//! With [`BenchConfig::queued`] the enqueue and drain phases run behind that
//! many waiting filler jobs, to show whether their cost stays flat as the queue
//! grows; the report then adds a [`FillerReport`] (fill rate, the process's
//! resident memory, and the store's bytes per queued job when the caller
//! passes a [`StoreSize`] to [`run_with_store_size`]).
//!
//! Figures are printed, never asserted: no test depends on wall-clock speed.
//!
//! # What this crate must not depend on
//! Any concrete driver: the caller connects and hands in `Arc<dyn Driver>`s.

#![warn(missing_docs)]

mod filler;
mod filler_report;
mod group_drain;
mod history_drain;
mod jobs;
mod latency;
mod progress_drain;
mod report;
mod resident;
mod run;
mod store_size;

pub use filler_report::FillerReport;
pub use report::BenchReport;
pub use run::{run, run_with_store_size, BenchConfig, BenchError};
pub use store_size::StoreSize;
