//! Settling an attempt that did not succeed: release it with a backoff while tries
//! remain, else run the `failed` hook and move it to the failed store; also the
//! shutdown release and the failure of jobs that could not be run at all.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use routemq_core::{JobContext, JobError, Lease, RetryDirective, RunReport};
use tracing::Instrument;

use crate::attempt::join_error_message;
use crate::backend_retry::{round_ms, until_lease_ends};
use crate::execute::{AttemptInfo, JobRunner};
use crate::registry::LoadedJob;
use crate::stats::Counter;
use crate::telemetry::{self, Outcome};

/// Whether a job given back at shutdown keeps the attempt its claim counted.
#[derive(Clone, Copy)]
enum Attempt {
    /// It ran (or may have): the attempt stays counted.
    Counted,
    /// It never started: the attempt is given back.
    NotCounted,
}

impl JobRunner {
    /// Retries or fails an attempt that returned an error, panicked or timed out.
    pub(crate) async fn settle_failure(
        &self,
        info: &AttemptInfo<'_>,
        job: Arc<dyn LoadedJob>,
        ctx: JobContext,
        lease: &Mutex<Lease>,
        error: JobError,
        timed_out: bool,
    ) {
        let (queue, name) = (info.queue, info.envelope.name.as_str());
        if timed_out {
            self.stats.timed_out();
        }
        let label = |o: Outcome| if timed_out { Outcome::TimedOut } else { o };
        let directive = error.directive();
        if let RetryDirective::RateLimited(after) = directive {
            self.settle_rate_limited(info, lease, after).await;
            return;
        }
        let retry = info.attempt < info.max_tries && directive != RetryDirective::Fatal;

        if retry {
            let delay = match directive {
                RetryDirective::After(d) => d,
                _ => info.envelope.backoff.delay_for(info.attempt),
            };
            let current = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
            self.record_error(&current, &error).await;
            let released = until_lease_ends("release", &current.job_id, current.expires_at, || {
                self.driver.release(&current, delay)
            })
            .await;
            match released {
                Ok(()) => {
                    tracing::info!(
                        error = %error,
                        retry_in = %humantime::format_duration(round_ms(delay)),
                        "attempt {} of {} failed; retrying later",
                        info.attempt,
                        info.max_tries
                    );
                    self.count(queue, Counter::Retried);
                    telemetry::record_outcome(queue, name, label(Outcome::Retried));
                }
                Err(gave_up) => {
                    tracing::warn!(error = %gave_up, "could not release the failed attempt");
                    self.abandoned(queue, name);
                }
            }
            return;
        }

        // The hook runs while the lease is still extended, so a slow hook cannot
        // let the job be reclaimed before it reaches the failed store.
        let hook = self.while_leased(lease, self.failed_hook(job, ctx, &error, info.timeout));
        if let Err(gave_up) = hook.await {
            tracing::warn!(error = %gave_up, "lease lost while the failed hook ran");
            self.abandoned(queue, name);
            return;
        }
        let current = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let failed = until_lease_ends("fail", &current.job_id, current.expires_at, || {
            self.driver.fail(&current, error.message())
        })
        .await;
        match failed {
            Ok(()) => {
                tracing::error!(error = %error, "job failed for good after attempt {} of {}", info.attempt, info.max_tries);
                self.count(queue, Counter::Failed);
                telemetry::record_outcome(queue, name, label(Outcome::Failed));
            }
            Err(gave_up) => {
                tracing::warn!(error = %gave_up, "could not move the job to the failed store");
                self.abandoned(queue, name);
            }
        }
    }

    /// Writes the attempt's error into its run record, shown by `routemq job
    /// show` while the job waits for its retry. Best effort: the retry goes on
    /// without it (the error is logged either way).
    async fn record_error(&self, lease: &Lease, error: &JobError) {
        let report = RunReport {
            lease: lease.clone(),
            worker: self.watch.worker_id().to_owned(),
            progress: None,
            error: Some(error.message().to_owned()),
        };
        if let Err(e) = self.driver.record_runs(std::slice::from_ref(&report)).await {
            tracing::warn!(error = %e, "could not record the attempt's error for `routemq job show`");
        }
    }

    /// A handler pushed back by a rate limit: holds the job's group (or its
    /// queue, for an ungrouped job) for `after` (no worker starts a job of it
    /// until then; the queue's other groups go on), then gives the job back,
    /// claimable after `after`, without the attempt its claim counted, whatever
    /// tries are left. The hold comes first, so no other worker takes the
    /// group's next job in between; if it cannot be stored, the job is still
    /// given back.
    async fn settle_rate_limited(
        &self,
        info: &AttemptInfo<'_>,
        lease: &Mutex<Lease>,
        after: Duration,
    ) {
        let (queue, name) = (info.queue, info.envelope.name.as_str());
        let current = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let held = match info.group {
            Some(group) => {
                until_lease_ends("hold_group", &current.job_id, current.expires_at, || {
                    self.driver.hold_group(&current.queue, group, after)
                })
                .await
            }
            None => {
                until_lease_ends("hold_queue", &current.job_id, current.expires_at, || {
                    self.driver.hold_queue(&current.queue, after)
                })
                .await
            }
        };
        let what = if info.group.is_some() {
            "group"
        } else {
            "queue"
        };
        if let Err(gave_up) = held {
            tracing::warn!(error = %gave_up, "could not hold the rate-limited {what}; giving the job back all the same");
        }
        let released = until_lease_ends("release", &current.job_id, current.expires_at, || {
            self.driver.release_uncounted(&current, after)
        })
        .await;
        match released {
            Ok(()) => {
                tracing::info!(
                    held_for = %humantime::format_duration(round_ms(after)),
                    "rate limited on attempt {} of {}: {what} held, the attempt does not count",
                    info.attempt,
                    info.max_tries
                );
                // Counted as retried in the stats, but no retry in the history:
                // the attempt did not fail and uses up no try.
                self.stats.count(Counter::Retried);
                telemetry::record_outcome(queue, name, Outcome::RateLimited);
            }
            Err(gave_up) => {
                tracing::warn!(error = %gave_up, "could not give the rate-limited job back");
                self.abandoned(queue, name);
            }
        }
    }

    /// Runs [`Job::failed`](routemq_core::Job::failed) in its own task, bounded by
    /// the job's timeout; a panic or timeout there is logged and nothing more.
    async fn failed_hook(
        &self,
        job: Arc<dyn LoadedJob>,
        ctx: JobContext,
        error: &JobError,
        timeout: Duration,
    ) {
        let error = match error.directive() {
            RetryDirective::Fatal => JobError::fatal(error.message()),
            RetryDirective::After(d) => JobError::retry_after(error.message(), d),
            RetryDirective::Backoff => JobError::retry(error.message()),
            RetryDirective::RateLimited(d) => JobError::rate_limited(d),
        };
        let task = tokio::spawn(
            async move { job.failed(&ctx, &error).await }.instrument(tracing::Span::current()),
        );
        let abort = task.abort_handle();
        match tokio::time::timeout(timeout, task).await {
            Ok(Ok(())) => {}
            Ok(Err(join)) => {
                tracing::error!(problem = %join_error_message(join), "the job's failed hook did not complete; storing the job as failed anyway");
            }
            Err(_) => {
                abort.abort();
                tracing::error!(
                    "the job's failed hook timed out; storing the job as failed anyway"
                );
            }
        }
    }

    /// Gives a job stopped by shutdown back to its queue, claimable at once,
    /// its attempt still counted (it ran, at least in part).
    pub(crate) async fn release_on_shutdown(&self, lease: &Lease, name: &str) {
        self.give_back(lease, name, Attempt::Counted).await;
    }

    /// Gives a claimed job that never started back to its queue, claimable at
    /// once, with the attempt its claim counted given back too: a job claimed
    /// ahead ([`WorkerBuilder::prefetch`](crate::WorkerBuilder::prefetch)) or
    /// one whose claim replied after the worker stopped.
    pub(crate) async fn release_unstarted(&self, lease: &Lease, name: &str) {
        self.give_back(lease, name, Attempt::NotCounted).await;
    }

    async fn give_back(&self, lease: &Lease, name: &str, attempt: Attempt) {
        let queue = lease.queue.as_str();
        let released = until_lease_ends("release", &lease.job_id, lease.expires_at, || async {
            match attempt {
                Attempt::Counted => self.driver.release(lease, Duration::ZERO).await,
                Attempt::NotCounted => self.driver.release_uncounted(lease, Duration::ZERO).await,
            }
        })
        .await;
        match released {
            Ok(()) => {
                tracing::info!("stopping: released the unfinished job for another worker");
                self.stats.count(Counter::ReleasedOnShutdown);
                telemetry::record_outcome(queue, name, Outcome::Released);
            }
            Err(gave_up) => {
                tracing::warn!(error = %gave_up, "shutdown: could not release the stopped job");
                self.abandoned(queue, name);
            }
        }
    }

    /// Sends a job that cannot run (undecodable, unknown type, bad data) to the
    /// failed store with `reason`; never retried, never dropped.
    pub(crate) async fn fail_unrunnable(&self, lease: &Lease, name: &str, reason: &str) {
        let queue = lease.queue.as_str();
        tracing::error!(reason, "cannot run the job; moving it to the failed store");
        let failed = until_lease_ends("fail", &lease.job_id, lease.expires_at, || {
            self.driver.fail(lease, reason)
        })
        .await;
        match failed {
            Ok(()) => {
                self.count(queue, Counter::Failed);
                telemetry::record_outcome(queue, name, Outcome::Failed);
            }
            Err(gave_up) => {
                tracing::warn!(error = %gave_up, "could not move the unrunnable job to the failed store");
                self.abandoned(queue, name);
            }
        }
    }

    /// Counts a job this worker no longer owns.
    pub(crate) fn abandoned(&self, queue: &str, name: &str) {
        self.stats.count(Counter::LeaseLost);
        telemetry::record_outcome(queue, name, Outcome::LeaseLost);
    }
}
