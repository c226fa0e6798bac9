//! Running one claimed job: decode, decrypt encrypted data with the worker's
//! keyring, find its type, run the attempt while the lease keeper extends the
//! lease, then hand the result to [`settle`](crate::settle).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use routemq_core::{AttemptSignals, Driver, Envelope, JobContext, Lease, Reservation};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span};

use crate::acker::AckSender;
use crate::attempt::{self, AttemptEnd};
use crate::backend_retry::GaveUp;
use crate::builder::Config;
use crate::history_recorder::HistoryRecorder;
use crate::job_watch::JobWatch;
use crate::lease_keeper;
use crate::registry::{LoadedJob, Registry};
use crate::stats::{Counter, WorkerStats};
use crate::telemetry::{self, Outcome, RunningGauge, UNDECODABLE_JOB};

/// After aborting a handler, how long to wait for its task to drop the future
/// before moving on (a handler stuck in blocking code cannot be dropped sooner).
const ABORT_WAIT: Duration = Duration::from_secs(1);

/// A zero timeout means "no limit" (as `--timeout 0` does in the original).
fn effective_timeout(timeout: Duration) -> Duration {
    if timeout.is_zero() {
        Duration::MAX
    } else {
        timeout
    }
}

/// Everything a job needs from its worker; shared by all running jobs.
pub(crate) struct JobRunner {
    pub(crate) driver: Arc<dyn Driver>,
    pub(crate) registry: Registry,
    pub(crate) config: Arc<Config>,
    pub(crate) stats: Arc<WorkerStats>,
    pub(crate) acker: AckSender,
    /// Cancelled when the shutdown grace is over: running jobs are stopped and
    /// released.
    pub(crate) hard_stop: CancellationToken,
    /// Cancelled when shutdown is asked: jobs claimed ahead that have not
    /// started go back to their queues instead of starting.
    pub(crate) stop_starting: CancellationToken,
    /// The running jobs' run records and cancel requests.
    pub(crate) watch: Arc<JobWatch>,
    /// Per-minute throughput counts for the store's history (`None`: not
    /// recorded, see [`WorkerBuilder::record_history`](crate::WorkerBuilder::record_history)).
    pub(crate) history: Option<Arc<HistoryRecorder>>,
}

/// How the supervised part of an attempt ended.
enum Ended {
    Ran(AttemptEnd),
    Lost(GaveUp),
    Stopped,
    /// Cancelled while it ran: the handler returned within its grace or was
    /// dropped.
    Cancelled,
}

/// One attempt's identity, for settling it.
pub(crate) struct AttemptInfo<'a> {
    pub(crate) queue: &'a str,
    /// The job's group: what a rate-limit push-back holds (else the queue).
    pub(crate) group: Option<&'a routemq_core::GroupKey>,
    pub(crate) envelope: &'a Envelope,
    pub(crate) attempt: u32,
    pub(crate) max_tries: u32,
    pub(crate) timeout: Duration,
}

/// Makes `span` (the job's, not yet entered) a child of the dispatcher's span
/// stored in `trace`. A missing or malformed `traceparent` leaves the span where
/// it is (the job runs in a trace of its own); so does a subscriber without a
/// `tracing_opentelemetry` layer.
#[cfg(feature = "otel")]
fn continue_trace(span: &Span, trace: &routemq_core::TraceContext) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if let Some(parent) = routemq_core::otel::extract(trace) {
        if let Err(e) = span.set_parent(parent) {
            tracing::trace!(error = %e, "the job span does not continue its dispatcher's trace");
        }
    }
}

impl JobRunner {
    /// Runs one reservation to its end: acked, released, failed or abandoned.
    pub(crate) async fn run(&self, reservation: Reservation) {
        let envelope = reservation.envelope();
        let name = envelope
            .as_ref()
            .map_or(UNDECODABLE_JOB, |e| e.name.as_str());
        let span = tracing::info_span!(
            "job",
            id = %reservation.lease.job_id,
            name,
            queue = %reservation.lease.queue,
            attempt = reservation.attempt,
        );
        #[cfg(feature = "otel")]
        if let Ok(env) = &envelope {
            continue_trace(&span, &env.trace);
        }
        async {
            let lease = &reservation.lease;
            match &envelope {
                Err(e) => {
                    let reason = format!("{e}; the job was not run");
                    self.fail_unrunnable(lease, UNDECODABLE_JOB, &reason).await;
                }
                Ok(env) => match self.config.keyring.open(env) {
                    // Not run, not retried: no attempt can make the key appear.
                    Err(e) => {
                        let reason = format!("{e}; the job was not run");
                        self.fail_unrunnable(lease, &env.name, &reason).await;
                    }
                    Ok(env) => match self.registry.load(&env) {
                        Err(e) => self.fail_unrunnable(lease, &env.name, &e.to_string()).await,
                        Ok(job) => self.run_job(&reservation, &env, job).await,
                    },
                },
            }
        }
        .instrument(span)
        .await
    }

    async fn run_job(&self, r: &Reservation, env: &Envelope, job: Arc<dyn LoadedJob>) {
        let info = AttemptInfo {
            queue: r.lease.queue.as_str(),
            group: r.group.as_ref(),
            envelope: env,
            attempt: r.attempt,
            max_tries: self.config.tries_override.unwrap_or(r.max_tries).max(1),
            timeout: effective_timeout(self.config.timeout_override.unwrap_or(env.timeout)),
        };
        let lease = Arc::new(Mutex::new(r.lease.clone()));
        let signals = Arc::new(AttemptSignals::new());
        let ctx = JobContext::new(
            env.name.clone(),
            info.attempt,
            info.max_tries,
            self.driver.clone(),
            lease.clone(),
        )
        .with_trace(env.trace.clone())
        .with_signals(signals.clone());
        let (queue, name) = (r.lease.queue.as_str(), env.name.as_str());

        self.stats.started();
        let gauge = RunningGauge::enter();
        let started = Instant::now();
        tracing::debug!("job started");
        let watched = self.watch.enter(lease.clone(), signals.clone());
        let mut handle = attempt::spawn(job.clone(), ctx.clone(), info.timeout, Span::current());
        let ended = tokio::select! {
            biased;
            res = &mut handle => Ended::Ran(attempt::classify(res, info.timeout)),
            gave_up = lease_keeper::keep(&*self.driver, &lease, self.config.lease, self.config.extend_every()) => {
                handle.abort();
                let _ = tokio::time::timeout(ABORT_WAIT, handle).await;
                Ended::Lost(gave_up)
            }
            _ = self.hard_stop.cancelled() => {
                handle.abort();
                let _ = tokio::time::timeout(ABORT_WAIT, handle).await;
                Ended::Stopped
            }
            _ = signals.cancelled() => {
                // The handler may see ctx.cancelled() and return by itself; the
                // lease is kept meanwhile.
                let grace = tokio::time::timeout(self.config.cancel_grace, &mut handle);
                match self.while_leased(&lease, grace).await {
                    Ok(Ok(_)) => Ended::Cancelled,
                    Ok(Err(_)) => {
                        handle.abort();
                        let _ = tokio::time::timeout(ABORT_WAIT, handle).await;
                        Ended::Cancelled
                    }
                    Err(gave_up) => {
                        handle.abort();
                        let _ = tokio::time::timeout(ABORT_WAIT, handle).await;
                        Ended::Lost(gave_up)
                    }
                }
            }
        };
        // Nothing more is reported for this attempt: the retry's error record
        // below must not be overwritten by a late progress report.
        drop(watched);
        let ended = match ended {
            // A failure after a cancel request is the cancel, not a failure.
            Ended::Ran(AttemptEnd::Failed { .. }) if signals.is_cancelled() => Ended::Cancelled,
            other => other,
        };
        let took = started.elapsed();
        drop(gauge);
        self.stats.stopped();
        telemetry::record_duration(queue, name, took);

        let current = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match ended {
            Ended::Ran(AttemptEnd::Succeeded) => {
                tracing::debug!(took_ms = took.as_millis() as u64, "job succeeded");
                self.count(queue, Counter::Processed);
                telemetry::record_outcome(queue, name, Outcome::Succeeded);
                match env.keep_result {
                    None => self.acker.send(current),
                    Some(keep_for) => {
                        self.ack_and_keep(&current, signals.take_result(), keep_for)
                            .await
                    }
                }
            }
            Ended::Cancelled => self.settle_cancelled(&current, name).await,
            Ended::Ran(AttemptEnd::Failed { error, timed_out }) => {
                self.settle_failure(&info, job, ctx, &lease, error, timed_out)
                    .await;
            }
            Ended::Lost(gave_up) => {
                tracing::warn!(error = %gave_up, "stopped the job: its lease is lost and another worker may own it now");
                self.abandoned(queue, name);
            }
            Ended::Stopped => self.release_on_shutdown(&current, name).await,
        }
    }

    /// Counts an attempt's end on `queue`: in the worker's stats and, for the
    /// ends the history keeps (processed, failed, retried), in its history.
    pub(crate) fn count(&self, queue: &str, counter: Counter) {
        self.stats.count(counter);
        if let Some(history) = &self.history {
            history.count(queue, counter);
        }
    }

    /// Runs `fut` while the lease keeper extends `lease`; `Err` when the lease was
    /// lost first (and `fut` was dropped).
    pub(crate) async fn while_leased<F: Future>(
        &self,
        lease: &Mutex<Lease>,
        fut: F,
    ) -> Result<F::Output, GaveUp> {
        tokio::select! {
            biased;
            out = fut => Ok(out),
            gave_up = lease_keeper::keep(&*self.driver, lease, self.config.lease, self.config.extend_every()) => Err(gave_up),
        }
    }
}
