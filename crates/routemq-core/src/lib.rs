//! The core of RouteMQ for Rust: the job model, the stored envelope and its codecs,
//! the [`Driver`] contract every storage backend implements (split by capability:
//! [`JobLifecycle`], [`FailedStore`], [`QueueAdmin`], [`WorkerRegistry`], [`ScheduleStore`],
//! [`RateLimits`]), recurring jobs ([`Schedule`]), the dispatch API
//! ([`Queue`]), the in-memory driver ([`MemoryDriver`]) and — behind the `testing`
//! feature — the driver conformance suite ([`conformance`]).
//!
//! # What this crate must not depend on
//! No storage client (Redis, MySQL), no worker runtime, no CLI. Drivers depend on
//! this crate, never the other way round; the worker names only the [`Driver`]
//! trait, never a concrete driver.
//!
//! # The shape of one job
//! A [`Job`] type is serialised with a [`Codec`] into [`Envelope::data`]; the
//! [`Envelope`] (id, name, queue, codec, `max_tries`, timeout, backoff, creation
//! time, trace context) is encoded once at dispatch and never re-encoded: attempts
//! and reservation state live in the backend. A [`JobLifecycle::claim`] returns
//! [`Reservation`]s; each carries a [`Lease`] whose owner token fences every later
//! state change ([`JobLifecycle::ack`], [`JobLifecycle::release`],
//! [`JobLifecycle::fail`], [`JobLifecycle::extend_lease`]): a stale owner gets [`DriverError::LeaseLost`] and
//! changes nothing.
//!
//! # Unique jobs and debounce
//! [`JobOptions::unique`] makes a job unique per queue under a key ([`Unique`]);
//! a duplicate dispatch stores nothing and returns the holder's id
//! ([`Queue::dispatch_unique`] says [`Dispatched::duplicate`]). Drivers store the
//! job and its lock atomically in [`JobLifecycle::push_unique`] and release the
//! lock when its [`UniqueScope`] says, and always when the job is gone.
//!
//! # Encrypted job data
//! A job type that returns [`JobOptions::encrypted`] from [`Job::options`] (or any
//! job dispatched by a [`Queue::encrypt_all`] queue) has its [`Envelope::data`]
//! sealed with XChaCha20-Poly1305 by the queue's [`Keyring`]; the worker opens it
//! with its own keyring before decoding the job.
//!
//! # Trace context (feature `otel`)
//! With the `otel` feature, [`Queue`]'s dispatch methods store the W3C
//! `traceparent`/`tracestate` of the current `tracing` span's OpenTelemetry
//! context in [`Envelope::trace`]; the worker (its own `otel` feature) makes each
//! job's span a child of it: see the `otel` module. Without the feature the
//! trace map stays empty and no OpenTelemetry crate is linked.

#![warn(missing_docs)]

mod attempt;
mod backoff;
mod clock;
mod codec;
mod driver;
mod encryption;
mod envelope;
mod error;
mod group;
mod id;
mod job;
mod job_lookup;
mod memory;
mod queue;
mod queue_name;
mod redact;
mod schedule;
mod server_address;
mod text_key;
mod unique;
mod workflow_dispatch;

#[cfg(feature = "testing")]
pub mod conformance;

#[cfg(feature = "otel")]
pub mod otel;

pub use attempt::AttemptSignals;
pub use backoff::Backoff;
pub use clock::{from_unix_ms, unix_ms};
pub use codec::{Codec, CodecError};
pub use driver::{
    check_workflow_jobs, checked_group_concurrency, merge_deltas, unix_minute, wait_then_claim,
    AckOutcome, BatchId, BatchInfo, BatchPlan, CancelOutcome, ChainPlan, Driver, FailedJob,
    FailedQuery, FailedStore, FireOutcome, History, HistoryCounts, HistoryDelta, JobLifecycle,
    JobListing, JobState, JobStatus, JobSummary, JobTracking, Lease, LeaseToken, ListPage,
    MinuteCounts, PendingJob, Progress, QueueAdmin, QueueStats, RateLimit, RateLimitError,
    RateLimits, ReclaimReport, Reservation, RunReport, ScheduleStore, Tick, UnixMinute,
    UpsertOutcome, WorkerInfo, WorkerRegistry, Workflows, BATCH_KEPT_FOR, CANCELLED_KEPT_FOR,
    HISTORY_KEPT_FOR, MAX_GROUP_CONCURRENCY, MAX_LIST_PAGE, MAX_PROGRESS_MESSAGE, MAX_RUN_ERROR,
};
pub use encryption::{
    Cipher, DecryptError, EncryptError, Encryption, EncryptionKey, KeyError, KeyId, Keyring,
    ENCRYPTION_KEY_VAR, KEY_LEN, PREVIOUS_KEYS_VAR,
};
pub use envelope::{Envelope, TraceContext};
pub use error::DriverError;
pub use group::GroupKey;
pub use id::JobId;
pub use job::{Job, JobContext, JobError, JobOptions, RetryDirective};
pub use job_lookup::{cancel_job, find_job};
pub use memory::MemoryDriver;
pub use queue::{Queue, When};
pub use queue_name::QueueName;
pub use redact::redact_url;
pub use schedule::{
    plan_tick, MissedTicks, PlanError, Schedule, ScheduleError, ScheduleSpec, ScheduleState,
    MIN_INTERVAL, MISSED_AFTER,
};
pub use server_address::{check_host, parse_port};
pub use unique::{Dispatched, Unique, UniqueKey, UniqueScope, Uniqueness};
pub use workflow_dispatch::{BatchBuilder, ChainBuilder};

/// The capability traits of the driver contract, to call them on an
/// `Arc<dyn Driver>`: `use routemq_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Driver, FailedStore, History, JobLifecycle, JobListing, JobTracking, QueueAdmin,
        RateLimits, ScheduleStore, WorkerRegistry, Workflows,
    };
}

/// Re-exported so job types can use `#[async_trait]`-free `async fn` and drivers can
/// implement [`Driver`] with the same macro version as this crate.
pub use async_trait::async_trait;
