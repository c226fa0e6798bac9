//! Metrics emitted through the `metrics` facade (install any recorder, for example
//! `metrics-exporter-prometheus`, to collect them).
//!
//! - `routemq_jobs_total{queue,job,outcome}` (counter): one per attempt that ended;
//!   `outcome` is one of [`Outcome`]'s labels.
//! - `routemq_job_duration_seconds{queue,job}` (histogram): run time of each attempt
//!   that ran the handler.
//! - `routemq_jobs_running` (gauge): attempts running now in this process.

use std::time::Duration;

/// Name of the per-attempt outcome counter.
pub const JOBS_TOTAL: &str = "routemq_jobs_total";
/// Name of the attempt duration histogram.
pub const JOB_DURATION_SECONDS: &str = "routemq_job_duration_seconds";
/// Name of the running-jobs gauge.
pub const JOBS_RUNNING: &str = "routemq_jobs_running";

/// The job label used when the payload could not be decoded far enough to read a name.
pub const UNDECODABLE_JOB: &str = "<undecodable>";

/// How one attempt ended: exactly one per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handler returned `Ok`; the job is acknowledged.
    Succeeded,
    /// Handler failed with tries left; the job was released with a delay.
    Retried,
    /// The job went to the failed store (last try, fatal error, unknown type,
    /// undecodable payload).
    Failed,
    /// The attempt hit its timeout (whether retried or failed after).
    TimedOut,
    /// Stopped by shutdown and released for another worker.
    Released,
    /// Abandoned because the lease was lost.
    LeaseLost,
    /// The handler was pushed back by a rate limit
    /// ([`JobError::rate_limited`](routemq_core::JobError::rate_limited)): the job
    /// was given back without using up a try and its queue held.
    RateLimited,
    /// Cancelled while it ran and stopped; recorded as cancelled.
    Cancelled,
}

impl Outcome {
    /// The `outcome` label value.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Retried => "retried",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed_out",
            Outcome::Released => "released",
            Outcome::LeaseLost => "lease_lost",
            Outcome::RateLimited => "rate_limited",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// The name a claimed job is reported under (its envelope's, or
/// [`UNDECODABLE_JOB`]) and its `job{id, name, queue}` span, for a job the
/// worker settles without running it (given back, cancelled or dropped).
pub(crate) fn unstarted_job(reservation: &routemq_core::Reservation) -> (String, tracing::Span) {
    let name = reservation
        .envelope()
        .map_or(UNDECODABLE_JOB.to_owned(), |e| e.name);
    let lease = &reservation.lease;
    let span = tracing::info_span!("job", id = %lease.job_id, name, queue = %lease.queue);
    (name, span)
}

pub(crate) fn record_outcome(queue: &str, job: &str, outcome: Outcome) {
    metrics::counter!(
        JOBS_TOTAL,
        "queue" => queue.to_owned(),
        "job" => job.to_owned(),
        "outcome" => outcome.label()
    )
    .increment(1);
}

pub(crate) fn record_duration(queue: &str, job: &str, took: Duration) {
    metrics::histogram!(
        JOB_DURATION_SECONDS,
        "queue" => queue.to_owned(),
        "job" => job.to_owned()
    )
    .record(took.as_secs_f64());
}

/// Keeps `routemq_jobs_running` up while alive.
pub(crate) struct RunningGauge(());

impl RunningGauge {
    pub(crate) fn enter() -> Self {
        metrics::gauge!(JOBS_RUNNING).increment(1.0);
        RunningGauge(())
    }
}

impl Drop for RunningGauge {
    fn drop(&mut self) {
        metrics::gauge!(JOBS_RUNNING).decrement(1.0);
    }
}
