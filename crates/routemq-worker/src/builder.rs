//! [`WorkerBuilder`]: the worker's settings, validated by [`WorkerBuilder::build`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use routemq_core::{Driver, Job, Keyring, QueueName, Schedule};

use crate::registry::Registry;
use crate::{Worker, WorkerError};

/// Validated settings of one worker.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) queues: Vec<QueueName>,
    pub(crate) concurrency: usize,
    /// Jobs held claimed beyond `concurrency`, waiting for a slot.
    pub(crate) prefetch: usize,
    pub(crate) lease: Duration,
    pub(crate) sleep: Duration,
    pub(crate) timeout_override: Option<Duration>,
    pub(crate) tries_override: Option<u32>,
    pub(crate) max_jobs: Option<u64>,
    pub(crate) max_time: Option<Duration>,
    pub(crate) once: bool,
    pub(crate) stop_when_empty: bool,
    pub(crate) shutdown_grace: Duration,
    /// How long a cancelled job's handler may take to return by itself.
    pub(crate) cancel_grace: Duration,
    pub(crate) heartbeat_every: Duration,
    /// Opens encrypted job data (`Debug` shows key ids only).
    pub(crate) keyring: Arc<Keyring>,
    /// Schedules declared in code, stored at start.
    pub(crate) schedules: Vec<Schedule>,
    /// Whether this worker runs the scheduler task.
    pub(crate) run_schedules: bool,
    /// Whether this worker adds its counts to the store's throughput history.
    pub(crate) record_history: bool,
    /// How often the counted history is written.
    pub(crate) history_flush: Duration,
}

impl Config {
    /// How often expired leases are reclaimed: every half lease, but never more
    /// often than every 100 ms.
    pub(crate) fn reclaim_every(&self) -> Duration {
        (self.lease / 2).max(Duration::from_millis(100))
    }

    /// How often a running job's lease is extended: every third of the lease.
    pub(crate) fn extend_every(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(1))
    }

    /// The most jobs the worker holds claimed at once: the running ones and
    /// those claimed ahead ([`WorkerBuilder::prefetch`]). `build` checks that
    /// the sum fits a semaphore.
    pub(crate) fn held_at_most(&self) -> usize {
        self.concurrency + self.prefetch
    }

    /// How many jobs may still be started: `once` means one, `max_jobs` caps it.
    pub(crate) fn job_budget(&self) -> Option<u64> {
        match (self.once, self.max_jobs) {
            (true, Some(n)) => Some(n.min(1)),
            (true, None) => Some(1),
            (false, n) => n,
        }
    }
}

/// Builds a [`Worker`]; start with [`Worker::builder`].
///
/// ```no_run
/// # use std::{sync::Arc, time::Duration};
/// # use routemq_core::{Job, JobContext, JobError, MemoryDriver};
/// # use routemq_worker::Worker;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct SendEmail;
/// # impl Job for SendEmail { const NAME: &'static str = "emails.send";
/// #   async fn handle(&self, _: &JobContext) -> Result<(), JobError> { Ok(()) } }
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let worker = Worker::builder(Arc::new(MemoryDriver::new()))
///     .register::<SendEmail>()
///     .queues(["high", "default"])
///     .concurrency(32)
///     .lease(Duration::from_secs(30))
///     .build()?;
/// let report = worker.run().await?;
/// println!("{} processed", report.counts.processed);
/// # Ok(()) }
/// ```
#[must_use = "call build() to get a Worker"]
pub struct WorkerBuilder {
    driver: Arc<dyn Driver>,
    registry: Registry,
    queues: Vec<String>,
    config: Config,
}

impl std::fmt::Debug for WorkerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerBuilder")
            .field("driver", &self.driver)
            .field("jobs", &self.registry.names())
            .field("queues", &self.queues)
            .field("config", &self.config)
            .finish()
    }
}

impl WorkerBuilder {
    pub(crate) fn new(driver: Arc<dyn Driver>) -> Self {
        WorkerBuilder {
            driver,
            registry: Registry::default(),
            queues: Vec::new(),
            config: Config {
                queues: Vec::new(),
                concurrency: 1,
                prefetch: 0,
                lease: Duration::from_secs(30),
                sleep: Duration::from_secs(3),
                timeout_override: None,
                tries_override: None,
                max_jobs: None,
                max_time: None,
                once: false,
                stop_when_empty: false,
                shutdown_grace: Duration::from_secs(30),
                cancel_grace: Duration::from_secs(5),
                heartbeat_every: Duration::from_secs(5),
                keyring: Arc::new(Keyring::empty()),
                schedules: Vec::new(),
                run_schedules: true,
                record_history: true,
                history_flush: Duration::from_secs(5),
            },
        }
    }

    /// Registers job type `J` under [`Job::NAME`].
    pub fn register<J: Job>(mut self) -> Self {
        self.registry.register::<J>();
        self
    }

    /// The queues to drain, highest priority first (all of the first before any of
    /// the second). Replaces earlier calls. Names are checked by `build`.
    pub fn queues<I, S>(mut self, queues: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.queues = queues.into_iter().map(|q| q.as_ref().to_owned()).collect();
        self
    }

    /// Jobs run at once (default 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n;
        self
    }

    /// Jobs claimed ahead of free slots (default 0), like Celery's prefetch
    /// or RabbitMQ's `basic.qos`: the worker holds up to `concurrency + n`
    /// jobs claimed, runs at most `concurrency` of them, and starts the others
    /// in claim order as slots free. Their leases are extended while they
    /// wait, as a running job's are.
    ///
    /// It keeps slots busy where a claim is slow: a freed slot starts a job
    /// already here instead of waiting for the next claim's reply (MySQL with
    /// the binary log flushed at every commit, where a claim takes
    /// milliseconds; see the MySQL driver's README). The cost: jobs wait in
    /// this worker while another worker may be idle. A cancel request for a
    /// job still waiting here is seen on the worker's next look for cancel
    /// requests (within a quarter second), and the job is settled as
    /// cancelled without starting.
    ///
    /// A job claimed ahead that has not started when shutdown is asked goes
    /// back to its queue at once, its attempt not counted (it never ran). A
    /// worker that dies leaves it leased, like its running jobs: it runs again
    /// once its lease expires.
    pub fn prefetch(mut self, n: usize) -> Self {
        self.config.prefetch = n;
        self
    }

    /// Lease length (default 30 s). A running job's lease is extended every third
    /// of it, so this bounds how long a crashed worker's jobs stay stuck, not how
    /// long a job may run.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config.lease = lease;
        self
    }

    /// Longest idle wait between claims when no job is ready (default 3 s). The
    /// driver wakes the worker earlier when a job arrives.
    pub fn sleep(mut self, sleep: Duration) -> Self {
        self.config.sleep = sleep;
        self
    }

    /// Replaces every job's own timeout (`--timeout`). A zero timeout, here or in a
    /// job's options, means no limit.
    pub fn timeout_override(mut self, timeout: Option<Duration>) -> Self {
        self.config.timeout_override = timeout;
        self
    }

    /// Replaces every job's `max_tries` (`--tries`; 0 is taken as 1).
    pub fn tries_override(mut self, tries: Option<u32>) -> Self {
        self.config.tries_override = tries.map(|t| t.max(1));
        self
    }

    /// Stops after this many attempts finished (`--max-jobs`).
    pub fn max_jobs(mut self, n: Option<u64>) -> Self {
        self.config.max_jobs = n;
        self
    }

    /// Stops claiming after this long (`--max-time`); running jobs finish.
    pub fn max_time(mut self, t: Option<Duration>) -> Self {
        self.config.max_time = t;
        self
    }

    /// Processes at most one job, then stops; if none is ready, waits up to
    /// `sleep` for one (`--once`).
    pub fn once(mut self, once: bool) -> Self {
        self.config.once = once;
        self
    }

    /// Stops when two claims in a row find nothing and no job is running
    /// (`--stop-when-empty`); the second confirms the first, which a backend may
    /// answer empty while another transaction briefly holds the queue's jobs.
    /// Delayed jobs not yet due do not keep the worker alive.
    pub fn stop_when_empty(mut self, yes: bool) -> Self {
        self.config.stop_when_empty = yes;
        self
    }

    /// After shutdown is asked for, how long running jobs may take to finish
    /// before they are stopped and released (default 30 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.config.shutdown_grace = grace;
        self
    }

    /// When a running job is cancelled, how long its handler may take to return
    /// by itself after [`JobContext::cancelled`](routemq_core::JobContext::cancelled)
    /// fires before its future is dropped (default 5 s; zero drops it at once).
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.config.cancel_grace = grace;
        self
    }

    /// How often the worker's heartbeat is written (default 5 s; it lives three
    /// times as long).
    pub fn heartbeat_interval(mut self, every: Duration) -> Self {
        self.config.heartbeat_every = every;
        self
    }

    /// The keys that open encrypted job data (current and previous keys, e.g.
    /// [`Keyring::from_env`]). Without a matching key an encrypted job is moved to
    /// the failed store with the reason and never run.
    pub fn keyring(mut self, keyring: Keyring) -> Self {
        self.config.keyring = Arc::new(keyring);
        self
    }

    /// Declares a recurring job: stored (upserted) when the worker starts, so an
    /// unchanged spec keeps its state and a changed one is rescheduled. Every
    /// worker that runs schedules fires it; a later declaration of the same name
    /// replaces an earlier one.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use routemq_core::{MemoryDriver, Schedule, ScheduleSpec};
    /// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let nightly = Schedule::new(
    ///     "nightly-report",
    ///     ScheduleSpec::cron("0 30 2 * * *", "Europe/Paris")?,
    ///     "reports.nightly",
    /// )?;
    /// let builder = routemq_worker::Worker::builder(Arc::new(MemoryDriver::new()))
    ///     .schedule(nightly);
    /// # let _ = builder; Ok(()) }
    /// ```
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.config.schedules.retain(|s| s.name != schedule.name);
        self.config.schedules.push(schedule);
        self
    }

    /// Whether this worker takes part in firing schedules (default `true`; the
    /// CLI's `routemq work --no-schedules` turns it off). Schedules given to
    /// [`schedule`](Self::schedule) are not stored by a worker that does not.
    pub fn run_schedules(mut self, yes: bool) -> Self {
        self.config.run_schedules = yes;
        self
    }

    /// Whether this worker adds its counts to the store's per-minute throughput
    /// history (default `true`), which `routemq dashboard` charts across every
    /// worker: per queue and minute, the jobs that succeeded, the jobs that failed
    /// for good and the attempts released for a retry (a rate-limit push-back is
    /// not a retry there). Counting costs an atomic add per job; the counts are
    /// written every [`history_flush`](Self::history_flush) in one call, and once
    /// more when the worker stops, after its last job settled. A write that fails
    /// is logged and its counts are added to the next one.
    pub fn record_history(mut self, yes: bool) -> Self {
        self.config.record_history = yes;
        self
    }

    /// How often the counted throughput history is written to the store
    /// (default 5 s; must not be zero: turn the history off with
    /// [`record_history(false)`](Self::record_history)). Longer means fewer
    /// writes and a chart that lags more.
    pub fn history_flush(mut self, every: Duration) -> Self {
        self.config.history_flush = every;
        self
    }

    /// Validates the settings.
    pub fn build(mut self) -> Result<Worker, WorkerError> {
        if self.queues.is_empty() {
            return Err(WorkerError::NoQueues);
        }
        let mut seen = HashSet::new();
        for q in &self.queues {
            let name = QueueName::new(q.as_str()).map_err(WorkerError::InvalidQueue)?;
            if !seen.insert(name.clone()) {
                return Err(WorkerError::DuplicateQueue(q.clone()));
            }
            self.config.queues.push(name);
        }
        if self.config.concurrency == 0 {
            return Err(WorkerError::ZeroConcurrency);
        }
        let held = self.config.concurrency.checked_add(self.config.prefetch);
        if held.is_none_or(|n| n > tokio::sync::Semaphore::MAX_PERMITS) {
            return Err(WorkerError::TooManyHeld {
                concurrency: self.config.concurrency,
                prefetch: self.config.prefetch,
                max: tokio::sync::Semaphore::MAX_PERMITS,
            });
        }
        for (value, setting) in [
            (self.config.lease, "the lease length"),
            (self.config.sleep, "the sleep interval"),
            (self.config.heartbeat_every, "the heartbeat interval"),
            (self.config.history_flush, "the history flush interval"),
        ] {
            if value.is_zero() {
                return Err(WorkerError::ZeroDuration(setting));
            }
        }
        self.registry.check()?;
        Ok(Worker::new(self.driver, self.registry, self.config))
    }
}
