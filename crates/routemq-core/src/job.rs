//! The job model: the [`Job`] trait, per-type [`JobOptions`], [`JobError`] and the
//! [`JobContext`] a handler receives.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    AttemptSignals, Backoff, Codec, Driver, DriverError, JobId, Lease, Progress, QueueName,
    TraceContext, Unique,
};

/// A typed background job.
///
/// ```
/// use routemq_core::{Job, JobContext, JobError, JobOptions};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct SendEmail { to: String }
///
/// impl Job for SendEmail {
///     const NAME: &'static str = "emails.send";
///     fn options() -> JobOptions {
///         JobOptions::new().queue("emails").max_tries(5)
///     }
///     async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
///         if self.to.is_empty() {
///             return Err(JobError::fatal("no recipient"));
///         }
///         let _ = ctx.attempt();
///         Ok(())
///     }
/// }
/// ```
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name stored with every dispatched job; workers find the handler by
    /// it. Renaming it strands jobs already queued.
    const NAME: &'static str;

    /// Defaults for this type: queue `default`, 3 tries, 60 s timeout, exponential
    /// backoff from 1 s capped at 10 min with 20 % jitter, JSON.
    fn options() -> JobOptions {
        JobOptions::new()
    }

    /// Runs the job. Returning `Err` retries it (after the backoff) until its tries
    /// are used up; see [`JobError`] for other outcomes. The future is dropped when
    /// the timeout passes, so the job stops at its next `.await`.
    fn handle(&self, ctx: &JobContext) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Called once when the job has failed for good (out of tries, fatal error,
    /// timeout on the last try), before it is stored as failed.
    fn failed(&self, ctx: &JobContext, error: &JobError) -> impl Future<Output = ()> + Send {
        let _ = (ctx, error);
        async {}
    }
}

/// Dispatch settings. [`Job::options`] gives a type's defaults; every field can be
/// overridden per dispatch with [`Queue::dispatch_with`](crate::Queue::dispatch_with).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobOptions {
    /// Target queue.
    pub queue: Option<String>,
    /// Attempts allowed.
    pub max_tries: Option<u32>,
    /// Run time allowed per attempt.
    pub timeout: Option<Duration>,
    /// Delay between attempts.
    pub backoff: Option<Backoff>,
    /// Codec of the job's data.
    pub codec: Option<Codec>,
    /// Encrypt the job's data (Laravel's `ShouldBeEncrypted`). A type whose
    /// [`Job::options`] asks for it is always encrypted, whatever a dispatch says.
    pub encrypted: Option<bool>,
    /// Uniqueness and debounce (see [`Unique`]); a dispatch's setting replaces
    /// the type's.
    pub unique: Option<Unique>,
    /// The job's group (a tenant, a customer): claims take a queue's groups in
    /// turn. Validated at dispatch ([`GroupKey::new`](crate::GroupKey::new)).
    pub group: Option<String>,
    /// Keep the job's succeeded record and returned value this long
    /// (`routemq job show`, [`Queue::result`](crate::Queue::result)).
    pub keep_result: Option<Duration>,
}

impl JobOptions {
    /// The default queue's name.
    pub const DEFAULT_QUEUE: &'static str = "default";
    /// Default attempts allowed.
    pub const DEFAULT_MAX_TRIES: u32 = 3;
    /// Default run time allowed per attempt.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the queue.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }
    /// Sets the attempts allowed (0 is taken as 1).
    pub fn max_tries(mut self, tries: u32) -> Self {
        self.max_tries = Some(tries.max(1));
        self
    }
    /// Sets the per-attempt timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Sets the backoff.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }
    /// Sets the codec.
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = Some(codec);
        self
    }

    /// Encrypts the job's data with the dispatching [`Queue`](crate::Queue)'s
    /// current key ([`Queue::with_keyring`](crate::Queue::with_keyring)); dispatch
    /// fails when there is none.
    ///
    /// ```
    /// use routemq_core::JobOptions;
    /// assert!(JobOptions::new().encrypted().resolved_encrypted());
    /// ```
    pub fn encrypted(mut self) -> Self {
        self.encrypted = Some(true);
        self
    }

    /// Makes the job unique per queue while [`Unique`]'s scope says: a
    /// duplicate dispatch stores nothing and returns the holder's id
    /// ([`Queue::dispatch_unique`](crate::Queue::dispatch_unique) says it was one).
    pub fn unique(mut self, unique: Unique) -> Self {
        self.unique = Some(unique);
        self
    }

    /// Puts the job in `group`: within its queue, claims take groups in turn, so
    /// one group's backlog does not delay another group's jobs.
    ///
    /// ```
    /// use routemq_core::JobOptions;
    /// assert_eq!(JobOptions::new().group("tenant-7").group.as_deref(), Some("tenant-7"));
    /// ```
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Keeps the job's succeeded record and the value its handler returned for
    /// `retention` after it finishes: `routemq job show` reports it succeeded and
    /// [`Queue::result`](crate::Queue::result) reads the value back. The record
    /// then expires by itself. Without it, a succeeded job leaves nothing behind.
    ///
    /// ```
    /// use routemq_core::JobOptions;
    /// use std::time::Duration;
    /// let o = JobOptions::new().keep_result(Duration::from_secs(3600));
    /// assert_eq!(o.keep_result, Some(Duration::from_secs(3600)));
    /// ```
    pub fn keep_result(mut self, retention: Duration) -> Self {
        self.keep_result = Some(retention);
        self
    }

    /// `self` with `over`'s set fields taking precedence.
    pub fn merged(self, over: &JobOptions) -> JobOptions {
        JobOptions {
            queue: over.queue.clone().or(self.queue),
            max_tries: over.max_tries.or(self.max_tries),
            timeout: over.timeout.or(self.timeout),
            backoff: over.backoff.clone().or(self.backoff),
            codec: over.codec.or(self.codec),
            encrypted: over.encrypted.or(self.encrypted),
            unique: over.unique.clone().or(self.unique),
            group: over.group.clone().or(self.group),
            keep_result: over.keep_result.or(self.keep_result),
        }
    }

    /// The queue, validated (default `default`).
    pub fn resolved_queue(&self) -> Result<QueueName, DriverError> {
        QueueName::new(self.queue.as_deref().unwrap_or(Self::DEFAULT_QUEUE))
    }
    /// Attempts allowed (default 3).
    pub fn resolved_max_tries(&self) -> u32 {
        self.max_tries.unwrap_or(Self::DEFAULT_MAX_TRIES).max(1)
    }
    /// Per-attempt timeout (default 60 s).
    pub fn resolved_timeout(&self) -> Duration {
        self.timeout.unwrap_or(Self::DEFAULT_TIMEOUT)
    }
    /// Backoff (default [`Backoff::default`]).
    pub fn resolved_backoff(&self) -> Backoff {
        self.backoff.clone().unwrap_or_default()
    }
    /// Codec (default JSON).
    pub fn resolved_codec(&self) -> Codec {
        self.codec.unwrap_or_default()
    }
    /// The group, validated (default none).
    pub fn resolved_group(&self) -> Result<Option<crate::GroupKey>, DriverError> {
        self.group.clone().map(crate::GroupKey::new).transpose()
    }
    /// Whether the data is encrypted (default no).
    pub fn resolved_encrypted(&self) -> bool {
        self.encrypted.unwrap_or(false)
    }
}

/// What the worker does after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDirective {
    /// Retry after the job's backoff while tries remain, else fail.
    Backoff,
    /// Retry after this delay while tries remain, else fail.
    After(Duration),
    /// Fail now, whatever tries remain.
    Fatal,
    /// Pushed back by a rate limit: give the job back without using up a try,
    /// and take no job of its queue for this long
    /// ([`RateLimits::hold_queue`](crate::RateLimits::hold_queue)).
    RateLimited(Duration),
}

/// Why a job attempt did not succeed.
///
/// Any error converts into a retryable `JobError` with `?`; use
/// [`JobError::fatal`] to skip remaining tries, [`JobError::retry_after`] to pick
/// the delay, [`JobError::rate_limited`] when a remote service pushes back.
pub struct JobError {
    message: String,
    directive: RetryDirective,
}

impl JobError {
    /// A retryable failure.
    pub fn retry(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            directive: RetryDirective::Backoff,
        }
    }
    /// A retryable failure to retry after `delay` instead of the backoff.
    pub fn retry_after(message: impl Into<String>, delay: Duration) -> Self {
        JobError {
            message: message.into(),
            directive: RetryDirective::After(delay),
        }
    }
    /// A failure that sends the job to the failed store at once.
    pub fn fatal(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            directive: RetryDirective::Fatal,
        }
    }
    /// The handler was pushed back by a rate limit (an HTTP 429, say): the worker
    /// gives the job back without using up a try and holds its whole queue for
    /// `after` (no worker starts a job of the queue until then).
    ///
    /// ```
    /// use routemq_core::{JobError, RetryDirective};
    /// use std::time::Duration;
    /// let e = JobError::rate_limited(Duration::from_secs(30));
    /// assert_eq!(e.directive(), RetryDirective::RateLimited(Duration::from_secs(30)));
    /// ```
    pub fn rate_limited(after: Duration) -> Self {
        JobError {
            message: format!(
                "rate limited: the queue is held for {} ms",
                after.as_millis()
            ),
            directive: RetryDirective::RateLimited(after),
        }
    }
    /// The message stored in the failed store.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// What the worker does next.
    pub fn directive(&self) -> RetryDirective {
        self.directive
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobError({:?}, {:?})", self.message, self.directive)
    }
}

impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> From<E> for JobError {
    fn from(e: E) -> Self {
        let e = e.into();
        // Include the source chain so the failed store explains the cause.
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        JobError::retry(message)
    }
}

/// What a handler knows about the attempt it runs, and its handle on the lease.
#[derive(Clone)]
pub struct JobContext {
    id: JobId,
    name: String,
    queue: QueueName,
    attempt: u32,
    max_tries: u32,
    driver: Arc<dyn Driver>,
    lease: Arc<Mutex<Lease>>,
    trace: Arc<TraceContext>,
    signals: Arc<AttemptSignals>,
}

impl fmt::Debug for JobContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobContext")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("queue", &self.queue)
            .field("attempt", &self.attempt)
            .field("max_tries", &self.max_tries)
            .field("trace", &self.trace)
            .finish()
    }
}

impl JobContext {
    /// Built by the worker for each attempt. `lease` is shared with the worker's
    /// lease keeper so both see the latest deadline.
    pub fn new(
        name: impl Into<String>,
        attempt: u32,
        max_tries: u32,
        driver: Arc<dyn Driver>,
        lease: Arc<Mutex<Lease>>,
    ) -> Self {
        let (id, queue) = {
            let l = lease.lock().unwrap_or_else(|p| p.into_inner());
            (l.job_id.clone(), l.queue.clone())
        };
        JobContext {
            id,
            name: name.into(),
            queue,
            attempt,
            max_tries,
            driver,
            lease,
            trace: Arc::default(),
            signals: Arc::default(),
        }
    }

    /// Shares `signals` with the worker running the attempt (progress, result,
    /// cancel signal); the worker calls this. Without it the context has signals
    /// of its own that nobody cancels.
    pub fn with_signals(mut self, signals: Arc<AttemptSignals>) -> Self {
        self.signals = signals;
        self
    }

    /// Reports progress: `percent` done (clamped to 0–100) and a short message
    /// (cut to [`MAX_PROGRESS_MESSAGE`](crate::MAX_PROGRESS_MESSAGE) bytes). Cheap
    /// enough to call in a tight loop: it only replaces the latest report; the
    /// worker writes the latest one to the backend a few times a second, where
    /// `routemq job show` reads it.
    ///
    /// ```
    /// # use std::sync::{Arc, Mutex};
    /// # use routemq_core::{JobContext, Lease, LeaseToken, MemoryDriver, QueueName, JobId};
    /// # let lease = Lease { job_id: JobId::generate(), queue: QueueName::new("q").unwrap(),
    /// #     token: LeaseToken::random(), expires_at: std::time::SystemTime::now() };
    /// # let ctx = JobContext::new("x", 1, 1, Arc::new(MemoryDriver::new()), Arc::new(Mutex::new(lease)));
    /// for row in 0..1000 {
    ///     ctx.progress(row as f32 / 10.0, format!("row {row} of 1000"));
    /// }
    /// assert_eq!(ctx.last_progress().unwrap().percent, 99.9);
    /// ```
    pub fn progress(&self, percent: f32, message: impl AsRef<str>) {
        self.signals
            .report(Progress::new(percent, message.as_ref()));
    }

    /// The latest progress this attempt reported.
    pub fn last_progress(&self) -> Option<Progress> {
        self.signals.progress()
    }

    /// Keeps `value` as the job's result: when the job type (or the dispatch)
    /// asks for [`JobOptions::keep_result`], the worker stores it with the
    /// succeeded record, and [`Queue::result`](crate::Queue::result) reads it
    /// back. Call it before returning `Ok`; a later call replaces an earlier one.
    /// Fails only when `value` cannot be encoded as JSON.
    pub fn set_result<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), JobError> {
        self.signals
            .set_result(value)
            .map_err(|e| JobError::fatal(e.to_string()))
    }

    /// Completes when the job was cancelled (`routemq cancel`,
    /// [`Queue::cancel`](crate::Queue::cancel)) while it runs: the worker sees the
    /// request within about half a second. Return soon after (the worker drops
    /// the handler's future when its cancel grace is over); a cancelled job is not
    /// retried and not counted as failed, whatever the handler returns.
    ///
    /// ```no_run
    /// # use routemq_core::{JobContext, JobError};
    /// # async fn work(ctx: &JobContext) -> Result<(), JobError> {
    /// tokio::select! {
    ///     _ = ctx.cancelled() => return Err(JobError::fatal("cancelled")),
    ///     _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn cancelled(&self) {
        self.signals.cancelled().await
    }

    /// True once the job was cancelled while it runs.
    pub fn is_cancelled(&self) -> bool {
        self.signals.is_cancelled()
    }

    /// Sets the trace context the job was dispatched with
    /// ([`Envelope::trace`](crate::Envelope::trace)); the worker calls this.
    pub fn with_trace(mut self, trace: TraceContext) -> Self {
        self.trace = Arc::new(trace);
        self
    }

    /// The trace context the job was dispatched with (W3C `traceparent` and
    /// `tracestate` with feature `otel`, or whatever pairs the producer stored);
    /// empty when there was none.
    pub fn trace(&self) -> &TraceContext {
        &self.trace
    }

    /// The job's id.
    pub fn id(&self) -> &JobId {
        &self.id
    }
    /// The job type's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The queue it was claimed from.
    pub fn queue(&self) -> &QueueName {
        &self.queue
    }
    /// This attempt's number, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// Attempts allowed.
    pub fn max_tries(&self) -> u32 {
        self.max_tries
    }
    /// True on the last allowed attempt.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_tries
    }
    /// The current lease deadline.
    pub fn lease_expires_at(&self) -> SystemTime {
        self.lease
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expires_at
    }
    /// Extends the lease to `now + lease_for`. The worker already extends leases
    /// while a job runs; call this only to reserve a longer stretch ahead.
    pub async fn extend_lease(&self, lease_for: Duration) -> Result<SystemTime, DriverError> {
        let current = self.lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let deadline = self.driver.extend_lease(&current, lease_for).await?;
        let mut l = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        if l.expires_at < deadline {
            l.expires_at = deadline;
        }
        Ok(deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_merge_prefers_overrides() {
        let base = JobOptions::new().queue("emails").max_tries(5);
        let over = JobOptions::new()
            .max_tries(9)
            .timeout(Duration::from_secs(2));
        let m = base.merged(&over);
        assert_eq!(m.queue.as_deref(), Some("emails"));
        assert_eq!(m.resolved_max_tries(), 9);
        assert_eq!(m.resolved_timeout(), Duration::from_secs(2));
        assert_eq!(m.resolved_codec(), Codec::Json);
        assert_eq!(
            JobOptions::new().resolved_queue().unwrap().as_str(),
            "default"
        );
        assert_eq!(JobOptions::new().resolved_max_tries(), 3);
        assert_eq!(JobOptions::new().max_tries(0).resolved_max_tries(), 1);
    }

    #[test]
    fn any_error_converts_with_its_chain() {
        let io = std::io::Error::other("disk on fire");
        let e: JobError = io.into();
        assert_eq!(e.message(), "disk on fire");
        assert_eq!(e.directive(), RetryDirective::Backoff);
        let e: JobError = "plain".into();
        assert_eq!(e.to_string(), "plain");
    }
}
