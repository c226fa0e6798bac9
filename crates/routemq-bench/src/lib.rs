//! The RouteMQ benchmark: single enqueue, bulk enqueue, drain, idle latency, a
//! rate-limited drain, a group drain (1,000 groups) and a drain beside jobs
//! reporting progress 10,000 times a second, and the plain drain with the
//! workers' throughput history off and on, over
//! any [`Driver`], measured through the real [`Worker`](routemq_worker::Worker).
//! `routemq bench` and `cargo xtask bench` print its [`BenchReport`].
//!
//! Figures are printed, never asserted: no test depends on wall-clock speed.
//!
//! # What this crate must not depend on
//! Any concrete driver: the caller connects and hands in `Arc<dyn Driver>`s.

#![warn(missing_docs)]

mod group_drain;
mod history_drain;
mod jobs;
mod progress_drain;
mod report;
mod run;

pub use report::BenchReport;
pub use run::{run, BenchConfig, BenchError};
