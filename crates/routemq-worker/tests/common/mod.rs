//! Shared test bed: a scriptable job type, probes it reports to, and helpers to run
//! workers over a real `MemoryDriver`.
//!
//! Time: tests whose waiting is in tokio timers (job timeouts, grace periods,
//! heartbeats, backoff sleeps, idle waits, `max_time`) run on tokio's paused clock
//! (`#[tokio::test(start_paused = true)]`, current-thread); the worker's clock is
//! tokio's, and the probes and [`wait_for`] read `tokio::time::Instant`. The
//! memory driver dates leases and due times by the wall clock, which a paused
//! clock does not move: tests that need a lease to expire or a delayed job to
//! come due run on the real clock, or let real time pass with `std::thread::sleep`.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod faulty;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use routemq_core::{
    Backoff, Driver, FailedJob, FailedQuery, Job, JobContext, JobError, JobId, JobOptions,
    MemoryDriver, Queue, QueueName, QueueStats,
};
use routemq_worker::{Worker, WorkerBuilder, WorkerReport};
use serde::{Deserialize, Serialize};

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What a [`Scripted`] job's attempts report.
#[derive(Default)]
pub struct Probe {
    /// Attempts that entered `handle`.
    pub runs: AtomicU64,
    /// Attempts that returned `Ok`.
    pub done: AtomicU64,
    /// Loop iterations of `Act::Tick`.
    pub ticks: AtomicU64,
    running: AtomicI64,
    /// Highest number of attempts running at once.
    pub max_running: AtomicI64,
    /// Calls of the `failed` hook.
    pub hook_calls: AtomicU64,
    /// Error messages the `failed` hook saw.
    pub hook_errors: Mutex<Vec<String>>,
    /// (tag, attempt, lease deadline seen, when) per attempt, in start order.
    pub attempts: Mutex<Vec<(String, u32, Instant)>>,
}

impl Probe {
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::SeqCst)
    }
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::SeqCst)
    }
    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::SeqCst)
    }
    pub fn running(&self) -> i64 {
        self.running.load(Ordering::SeqCst)
    }
    pub fn tags(&self) -> Vec<String> {
        self.attempts
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.0.clone())
            .collect()
    }
    pub fn attempt_times(&self) -> Vec<(u32, Instant)> {
        self.attempts
            .lock()
            .unwrap()
            .iter()
            .map(|a| (a.1, a.2))
            .collect()
    }
}

static PROBES: LazyLock<Mutex<HashMap<String, Arc<Probe>>>> = LazyLock::new(Default::default);

/// The probe for `key` (created on first use).
pub fn probe(key: &str) -> Arc<Probe> {
    PROBES
        .lock()
        .unwrap()
        .entry(key.to_owned())
        .or_default()
        .clone()
}

/// A fresh probe key, unique in the process.
pub fn new_key() -> String {
    JobId::generate().to_string()
}

/// What a [`Scripted`] attempt does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Act {
    Succeed,
    /// Sleeps this many ms, then succeeds.
    Sleep(u64),
    /// Fails (retryable) while `attempt <= n`, then succeeds.
    FailUntil(u32),
    /// Always fails with a retryable error.
    AlwaysFail,
    /// Fails with a fatal error.
    Fatal,
    /// Fails asking to be retried after this many ms.
    RetryAfter(u64),
    /// Panics with "boom".
    Panic,
    /// Increments `ticks` every this many ms, forever.
    Tick(u64),
    /// Fails fatally; its `failed` hook panics.
    FatalWithPanickingHook,
    /// Pushed back by a rate limit (`JobError::rate_limited(ms)`) on the probe's
    /// first `n` runs, then succeeds.
    RateLimitedFirst(u64, u64),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scripted {
    pub key: String,
    pub tag: String,
    pub act: Act,
}

struct RunningGuard(Arc<Probe>);

impl RunningGuard {
    fn enter(p: Arc<Probe>) -> Self {
        let now = p.running.fetch_add(1, Ordering::SeqCst) + 1;
        p.max_running.fetch_max(now, Ordering::SeqCst);
        RunningGuard(p)
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Job for Scripted {
    const NAME: &'static str = "test.scripted";

    fn options() -> JobOptions {
        JobOptions::new()
            .max_tries(3)
            .backoff(Backoff::fixed(Duration::ZERO))
    }

    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        let p = probe(&self.key);
        p.runs.fetch_add(1, Ordering::SeqCst);
        p.attempts
            .lock()
            .unwrap()
            .push((self.tag.clone(), ctx.attempt(), Instant::now()));
        let _running = RunningGuard::enter(p.clone());
        match &self.act {
            Act::Succeed => {}
            Act::Sleep(n) => tokio::time::sleep(ms(*n)).await,
            Act::FailUntil(n) if ctx.attempt() <= *n => {
                return Err(JobError::retry(format!(
                    "flaky on attempt {}",
                    ctx.attempt()
                )))
            }
            Act::FailUntil(_) => {}
            Act::AlwaysFail => return Err(JobError::retry("always fails")),
            Act::Fatal => return Err(JobError::fatal("fatal problem")),
            Act::RetryAfter(n) => return Err(JobError::retry_after("come back later", ms(*n))),
            Act::Panic => panic!("boom"),
            Act::Tick(n) => loop {
                p.ticks.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(ms(*n)).await;
            },
            Act::FatalWithPanickingHook => return Err(JobError::fatal("fatal, hook panics")),
            Act::RateLimitedFirst(n, hold) if p.runs.load(Ordering::SeqCst) <= *n => {
                return Err(JobError::rate_limited(ms(*hold)))
            }
            Act::RateLimitedFirst(..) => {}
        }
        p.done.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn failed(&self, _ctx: &JobContext, error: &JobError) {
        let p = probe(&self.key);
        p.hook_calls.fetch_add(1, Ordering::SeqCst);
        p.hook_errors
            .lock()
            .unwrap()
            .push(error.message().to_owned());
        if let Act::FatalWithPanickingHook = self.act {
            panic!("hook boom");
        }
    }
}

/// Installs a test log subscriber once (honours `RUST_LOG`).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A fresh memory driver as the worker sees it.
pub fn memory() -> Arc<dyn Driver> {
    init_tracing();
    Arc::new(MemoryDriver::new())
}

/// A fresh fault injector over a memory driver: the handle to script faults and
/// read call counts, and the same driver as the worker sees it.
pub fn faulty() -> (Arc<faulty::FaultyDriver>, Arc<dyn Driver>) {
    init_tracing();
    let f = Arc::new(faulty::FaultyDriver::default());
    let d: Arc<dyn Driver> = f.clone();
    (f, d)
}

/// Pushes a job named `name` with raw `data` (no type check) on `default`.
pub async fn dispatch_raw(driver: &Arc<dyn Driver>, name: &str, data: &[u8]) -> JobId {
    Queue::from_arc(driver.clone())
        .dispatch_raw(name, data.to_vec(), &JobOptions::new(), None)
        .await
        .unwrap()
}

pub fn qn(name: &str) -> QueueName {
    QueueName::new(name).unwrap()
}

/// A worker on queue `default` with short waits, registered for [`Scripted`].
/// Someone else reclaiming expired leases on `default` every 20 ms, as other
/// workers would: a job whose lease is not kept alive gets taken away.
pub fn spawn_reclaimer(driver: &Arc<dyn Driver>) -> tokio::task::JoinHandle<()> {
    let d = driver.clone();
    tokio::spawn(async move {
        loop {
            d.reclaim_expired(&[qn("default")]).await.unwrap();
            tokio::time::sleep(ms(20)).await;
        }
    })
}

pub fn builder(driver: &Arc<dyn Driver>) -> WorkerBuilder {
    Worker::builder(driver.clone())
        .register::<Scripted>()
        .queues(["default"])
        .sleep(ms(50))
        .lease(Duration::from_secs(5))
        .shutdown_grace(Duration::from_secs(5))
        .heartbeat_interval(ms(100))
}

pub async fn dispatch(driver: &Arc<dyn Driver>, key: &str, tag: &str, act: Act) -> JobId {
    dispatch_with(driver, key, tag, act, JobOptions::new()).await
}

pub async fn dispatch_with(
    driver: &Arc<dyn Driver>,
    key: &str,
    tag: &str,
    act: Act,
    options: JobOptions,
) -> JobId {
    let job = Scripted {
        key: key.to_owned(),
        tag: tag.to_owned(),
        act,
    };
    Queue::from_arc(driver.clone())
        .dispatch_with(job, &options, None)
        .await
        .unwrap()
}

pub async fn stats(driver: &Arc<dyn Driver>, queue: &str) -> QueueStats {
    driver.stats(&qn(queue)).await.unwrap()
}

pub async fn failed_jobs(driver: &Arc<dyn Driver>) -> Vec<FailedJob> {
    driver.failed_list(&FailedQuery::default()).await.unwrap()
}

/// Runs `worker` until `shutdown`, failing the test if it takes over 20 s.
pub async fn run_until(worker: Worker, shutdown: impl Future<Output = ()>) -> WorkerReport {
    tokio::time::timeout(Duration::from_secs(20), worker.run_until(shutdown))
        .await
        .expect("worker did not stop within 20 s")
        .expect("worker run failed")
}

/// A worker running in its own task until [`Running::stop`] or a limit.
pub struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    run: tokio::task::JoinHandle<WorkerReport>,
}

/// Starts `worker` in its own task; it runs until [`Running::stop`] (or a limit).
pub fn spawn_worker(worker: Worker) -> Running {
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(run_until(worker, async move {
        let _ = rx.await;
    }));
    Running { stop, run }
}

impl Running {
    /// Asks the worker to shut down and waits for its report; fails the test if
    /// the worker had already stopped.
    pub async fn stop(self) -> WorkerReport {
        self.stop
            .send(())
            .expect("the worker stopped before it was asked to");
        self.run.await.expect("worker task panicked")
    }

    /// [`Running::stop`], failing the test unless the worker stops within
    /// `within_ms` of the request.
    pub async fn stop_within(self, within_ms: u64) -> WorkerReport {
        let asked = Instant::now();
        let report = self.stop().await;
        assert!(
            asked.elapsed() < ms(within_ms),
            "shutdown took {:?}",
            asked.elapsed()
        );
        report
    }
}

/// Runs `worker` for `n` ms, then asks it to shut down.
pub async fn run_for(worker: Worker, n: u64) -> WorkerReport {
    run_until(worker, tokio::time::sleep(ms(n))).await
}

/// Runs `worker` until a limit stops it.
pub async fn run_to_limit(worker: Worker) -> WorkerReport {
    run_until(worker, std::future::pending()).await
}

/// Runs a [`builder`] worker with `stop_when_empty` until the queue is empty.
pub async fn run_until_empty(driver: &Arc<dyn Driver>) -> WorkerReport {
    run_to_limit(builder(driver).stop_when_empty(true).build().unwrap()).await
}

/// Runs a [`builder`] worker with a `lease_ms` lease, 2 slots and
/// `stop_when_empty` while [`spawn_reclaimer`] takes expired leases away: a job
/// whose lease is not kept alive runs again on the free slot.
pub async fn run_with_reclaimer(driver: &Arc<dyn Driver>, lease_ms: u64) -> WorkerReport {
    let reclaimer = spawn_reclaimer(driver);
    let w = builder(driver)
        .lease(ms(lease_ms))
        .concurrency(2)
        .stop_when_empty(true)
        .build()
        .unwrap();
    let report = run_to_limit(w).await;
    reclaimer.abort();
    report
}

/// Polls `cond` every 5 ms until it holds, failing the test after `within_ms`.
pub async fn wait_for(what: &str, within_ms: u64, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + ms(within_ms);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for: {what}");
        tokio::time::sleep(ms(5)).await;
    }
}
