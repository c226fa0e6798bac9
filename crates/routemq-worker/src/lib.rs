//! The RouteMQ worker runtime: runs registered [`Job`](routemq_core::Job) types
//! claimed from a [`Driver`](routemq_core::Driver), with bounded concurrency, lease
//! extension, timeouts that really stop the job, retries with backoff, a failed
//! store for jobs that cannot succeed, graceful shutdown, heartbeats, `tracing`
//! spans and `metrics` counters.
//!
//! # What this crate must not depend on
//! Only on `routemq-core`'s [`Driver`](routemq_core::Driver) trait: it never names
//! a concrete driver (Redis, MySQL) and never depends on the CLI.
//!
//! # Shape of a run
//! [`Worker::builder`] → [`WorkerBuilder::build`] → [`Worker::run_until`] (or
//! [`Worker::run`], until SIGTERM/SIGINT) → [`WorkerReport`]. While it runs, the
//! [`WorkerStats`] from [`Worker::stats`] show live counts.
//!
//! Per job: decode the envelope (undecodable or unknown jobs go to the failed store
//! with the reason) → run `handle` in its own task under the timeout while the
//! lease is extended every third of its length → success: batched ack; failure
//! with tries left: release with the job's backoff; otherwise the `failed` hook,
//! then the failed store. A panic is a failure carrying its message.
//!
//! See [`telemetry`] for the metrics emitted.
//!
//! # Claiming ahead
//! A worker holds at most `concurrency` jobs claimed, unless
//! [`WorkerBuilder::prefetch`] lets it claim up to that many more ahead of its
//! free slots. Those wait for a slot in claim order with their leases extended;
//! at shutdown the ones not started go back to their queue at once, their
//! attempt not counted.
//!
//! # Throughput history
//! Unless [`WorkerBuilder::record_history`] turns it off, the worker counts per
//! queue and minute the jobs that succeeded, the jobs that failed for good and
//! the attempts released for a retry, and adds them to the store's history
//! ([`History`](routemq_core::History)) every
//! [`history_flush`](WorkerBuilder::history_flush) (5 s) and once more when it
//! stops: `routemq dashboard` charts every worker's counts from there.
//!
//! # Recurring jobs
//! Every worker also runs a scheduler task (unless
//! [`WorkerBuilder::run_schedules`] turns it off): it stores the schedules given
//! to [`WorkerBuilder::schedule`], and fires the due ticks of every stored
//! schedule through the driver's atomic
//! [`fire_tick`](routemq_core::ScheduleStore::fire_tick), so each tick is
//! enqueued once however many workers run. It looks at the stored schedules at
//! their earliest next run and at least every second.
//!
//! # Traces across dispatch and job (feature `otel`)
//! Each attempt runs inside a `job{id, name, queue, attempt}` span. With the
//! `otel` feature and a `tracing_opentelemetry` layer in the application's
//! subscriber, that span's parent is the dispatching span whose W3C context
//! [`Queue`](routemq_core::Queue) stored in the envelope, so the handler's own
//! spans join the dispatcher's trace. A missing or malformed `traceparent` is
//! ignored: the job runs in a trace of its own. The handler reads the stored map
//! with [`JobContext::trace`](routemq_core::JobContext::trace).

#![warn(missing_docs)]

mod acker;
mod attempt;
mod backend_retry;
mod builder;
mod claimed_ahead;
mod error;
mod execute;
mod finish_tracked;
mod heartbeat;
mod history_recorder;
mod job_watch;
mod lease_keeper;
mod registry;
mod run_loop;
mod scheduler;
mod settle;
mod signal;
mod stats;
pub mod telemetry;
mod worker;

pub use builder::WorkerBuilder;
pub use error::WorkerError;
pub use signal::shutdown_signal;
pub use stats::{StatsSnapshot, StopReason, WorkerReport, WorkerStats};
pub use worker::Worker;
