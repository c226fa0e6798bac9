//! Job tracking through a running worker (memory driver, real clock): progress
//! and the worker's id while a job runs, kept results, the last error of a job
//! waiting for its retry, and cancellation of running jobs — a handler that
//! honours `ctx.cancelled()` and one that ignores it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use routemq_core::{
    CancelOutcome, Job, JobContext, JobError, JobId, JobOptions, JobState, JobStatus, MemoryDriver,
    Queue,
};
use routemq_worker::{Worker, WorkerReport};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Sums 1..=steps, one step every 20 ms, reporting progress at every step.
#[derive(Serialize, Deserialize)]
struct Crunch {
    steps: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Sum {
    total: u64,
}

impl Job for Crunch {
    const NAME: &'static str = "test.crunch";
    fn options() -> JobOptions {
        JobOptions::new()
            .queue("track")
            .keep_result(Duration::from_secs(60))
    }
    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        let mut total = 0;
        for step in 1..=self.steps {
            total += step;
            // Many reports per step: the worker keeps only the latest.
            for _ in 0..100 {
                ctx.progress(
                    step as f32 * 100.0 / self.steps as f32,
                    format!("step {step}"),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ctx.set_result(&Sum { total })
    }
}

static POLITE_STOPPED: AtomicU64 = AtomicU64::new(0);
static STUBBORN_DROPPED: LazyLock<Arc<AtomicBool>> = LazyLock::new(Arc::default);

/// Waits for its cancel and returns an error when it comes.
#[derive(Serialize, Deserialize)]
struct Polite;

impl Job for Polite {
    const NAME: &'static str = "test.polite";
    fn options() -> JobOptions {
        JobOptions::new().queue("track")
    }
    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        tokio::select! {
            _ = ctx.cancelled() => {
                POLITE_STOPPED.fetch_add(1, Ordering::SeqCst);
                Err(JobError::retry("stopped on request"))
            }
            _ = tokio::time::sleep(Duration::from_secs(30)) => Ok(()),
        }
    }
}

/// Ignores its cancel; notes when its future is dropped.
#[derive(Serialize, Deserialize)]
struct Stubborn;

struct OnDrop(Arc<AtomicBool>);
impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Job for Stubborn {
    const NAME: &'static str = "test.stubborn";
    fn options() -> JobOptions {
        JobOptions::new().queue("track")
    }
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        let _guard = OnDrop(STUBBORN_DROPPED.clone());
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(())
    }
}

/// Fails its first attempt, then succeeds (retry after 2 s).
#[derive(Serialize, Deserialize)]
struct SecondTime;

impl Job for SecondTime {
    const NAME: &'static str = "test.second_time";
    fn options() -> JobOptions {
        JobOptions::new().queue("track")
    }
    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        if ctx.attempt() == 1 {
            return Err(JobError::retry_after(
                "the mail server said 451",
                Duration::from_secs(2),
            ));
        }
        Ok(())
    }
}

/// A worker over `driver` on queue `track`, stopped by the returned token.
fn start(
    driver: &MemoryDriver,
    grace: Duration,
) -> (CancellationToken, tokio::task::JoinHandle<WorkerReport>) {
    let worker = Worker::builder(Arc::new(driver.clone()))
        .register::<Crunch>()
        .register::<Polite>()
        .register::<Stubborn>()
        .register::<SecondTime>()
        .queues(["track"])
        .concurrency(4)
        .cancel_grace(grace)
        .sleep(Duration::from_millis(20))
        .build()
        .expect("valid worker");
    let stop = CancellationToken::new();
    let s = stop.clone();
    let task = tokio::spawn(async move {
        worker
            .run_until(async move { s.cancelled().await })
            .await
            .expect("the worker runs")
    });
    (stop, task)
}

/// Polls `queue.status(id)` until `pred` holds (at most 10 s).
async fn wait_status(
    queue: &Queue,
    id: &JobId,
    what: &str,
    pred: impl Fn(&JobStatus) -> bool,
) -> JobStatus {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let s = queue.status(id).await.expect("status");
        if let Some(s) = s.filter(|s| pred(s)) {
            return s;
        }
        assert!(Instant::now() < until, "{what}: not reached in 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_worker_show_while_running_and_the_result_is_kept() {
    let driver = MemoryDriver::new();
    let queue = Queue::new(driver.clone());
    let id = queue
        .dispatch(Crunch { steps: 40 })
        .await
        .expect("dispatch");
    let (stop, task) = start(&driver, Duration::from_secs(5));
    let running = wait_status(&queue, &id, "progress shown", |s| {
        s.state == JobState::Running && s.progress.as_ref().is_some_and(|p| p.percent > 0.0)
    })
    .await;
    let p = running.progress.clone().expect("progress");
    assert!(p.message.starts_with("step "), "{p:?}");
    let done = wait_status(&queue, &id, "succeeded", |s| s.state == JobState::Succeeded).await;
    assert!(done.has_result && done.finished_at_ms.is_some(), "{done:?}");
    assert_eq!(done.attempts, 1);
    let sum: Option<Sum> = queue.result(&id).await.expect("result");
    assert_eq!(sum, Some(Sum { total: 40 * 41 / 2 }));
    stop.cancel();
    let report = task.await.expect("worker task");
    assert_eq!(
        running.worker.as_deref(),
        Some(report.worker_id.as_str()),
        "the running job names the worker that runs it"
    );
    assert_eq!(report.counts.processed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_running_job_stops_within_a_second() {
    let driver = MemoryDriver::new();
    let queue = Queue::new(driver.clone());
    let id = queue.dispatch(Polite).await.expect("dispatch");
    let (stop, task) = start(&driver, Duration::from_secs(5));
    wait_status(&queue, &id, "running", |s| s.state == JobState::Running).await;
    let asked = Instant::now();
    assert_eq!(
        queue.cancel(&id).await.expect("cancel"),
        CancelOutcome::Requested
    );
    let s = wait_status(&queue, &id, "cancelled", |s| s.state == JobState::Cancelled).await;
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "a running job is stopped within 1 s of its cancel, took {took:?}"
    );
    assert_eq!(s.attempts, 1);
    assert_eq!(POLITE_STOPPED.load(Ordering::SeqCst), 1);
    stop.cancel();
    let report = task.await.expect("worker task");
    assert_eq!(
        (
            report.counts.cancelled,
            report.counts.failed,
            report.counts.retried
        ),
        (1, 0, 0),
        "a cancelled job is neither failed nor retried"
    );
    let stats = routemq_core::QueueAdmin::stats(&driver, &"track".parse().unwrap())
        .await
        .expect("stats");
    assert_eq!((stats.ready, stats.delayed, stats.failed), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_ignoring_its_cancel_is_dropped_after_the_grace() {
    let driver = MemoryDriver::new();
    let queue = Queue::new(driver.clone());
    let id = queue.dispatch(Stubborn).await.expect("dispatch");
    let grace = Duration::from_millis(300);
    let (stop, task) = start(&driver, grace);
    wait_status(&queue, &id, "running", |s| s.state == JobState::Running).await;
    let asked = Instant::now();
    queue.cancel(&id).await.expect("cancel");
    wait_status(&queue, &id, "cancelled", |s| s.state == JobState::Cancelled).await;
    let took = asked.elapsed();
    assert!(
        took >= grace && took < grace + Duration::from_secs(1),
        "dropped after its {grace:?} grace, took {took:?}"
    );
    assert!(
        STUBBORN_DROPPED.load(Ordering::SeqCst),
        "the handler's future was dropped"
    );
    stop.cancel();
    assert_eq!(task.await.expect("worker task").counts.cancelled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_waiting_for_its_retry_shows_the_last_error() {
    let driver = MemoryDriver::new();
    let queue = Queue::new(driver.clone());
    let id = queue.dispatch(SecondTime).await.expect("dispatch");
    let (stop, task) = start(&driver, Duration::from_secs(5));
    let s = wait_status(&queue, &id, "waiting for the retry", |s| {
        s.state == JobState::Delayed
    })
    .await;
    assert_eq!(s.attempts, 1);
    assert_eq!(s.last_error.as_deref(), Some("the mail server said 451"));
    assert!(s.worker.is_none() && s.progress.is_none(), "{s:?}");

    // Cancelling it while it waits removes it: it never runs again.
    assert_eq!(
        queue.cancel(&id).await.expect("cancel"),
        CancelOutcome::Removed
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.cancel();
    let report = task.await.expect("worker task");
    assert_eq!((report.counts.processed, report.counts.retried), (0, 1));
    let s = queue.status(&id).await.expect("status").expect("known");
    assert_eq!(s.state, JobState::Cancelled);
}
