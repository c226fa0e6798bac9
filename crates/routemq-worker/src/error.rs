//! The worker's typed errors.

use routemq_core::DriverError;

/// Why a worker could not be built or run.
///
/// A variant that wraps another error returns it from `source()` and does not
/// repeat it in its own message; print the chain (`a: b`) to see both.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// `queues(..)` was not called or was given an empty list.
    #[error("no queues to work: give the worker at least one queue (for example \"default\")")]
    NoQueues,

    /// A queue name was rejected.
    #[error("bad queue name")]
    InvalidQueue(#[source] DriverError),

    /// The same queue was listed twice.
    #[error("queue {0:?} is listed twice; list each queue once, in priority order")]
    DuplicateQueue(String),

    /// `concurrency(0)`.
    #[error("concurrency must be at least 1")]
    ZeroConcurrency,

    /// `concurrency + prefetch` is more jobs than one worker can count.
    #[error(
        "concurrency {concurrency} plus prefetch {prefetch} is more than {max} jobs held at once"
    )]
    TooManyHeld {
        /// The concurrency asked for.
        concurrency: usize,
        /// The prefetch asked for.
        prefetch: usize,
        /// The most jobs a worker holds at once.
        max: usize,
    },

    /// A duration setting that must be positive was zero.
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),

    /// No job type was registered, so every job claimed would be failed as unknown.
    #[error("no job types registered: call register::<YourJob>() before build()")]
    NoJobsRegistered,

    /// Two different types registered under one [`Job::NAME`](routemq_core::Job::NAME).
    #[error("two job types are registered under the name {0:?}; job names must be unique")]
    DuplicateJobName(&'static str),

    /// The SIGTERM/SIGINT handlers could not be installed (by [`Worker::run`](crate::Worker::run)).
    #[error("cannot listen for shutdown signals")]
    Signal(#[source] std::io::Error),
}
