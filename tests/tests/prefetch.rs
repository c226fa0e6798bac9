//! A worker that claims ahead of its free slots (`WorkerBuilder::prefetch`) on
//! the real drivers: stopped mid-drain, it gives every job it had not started
//! back unstarted, with the attempt its claim counted given back too, and a
//! second worker runs the rest: every job runs exactly once, at attempt 1, and
//! never more of them at once than the concurrency. And a job waiting for a
//! slot keeps its lease past several lease lengths, and one cancelled while it
//! waits never runs.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use routemq_core::{
    CancelOutcome, Driver, Job, JobContext, JobError, JobOptions, JobState, Queue, QueueName,
};
use routemq_e2e::accounting::{counts, drain, worker, QueueCounts};
use routemq_e2e::run_ledger::RunId;
use routemq_e2e::stores::{MysqlStore, RedisStore};
use serde::{Deserialize, Serialize};

const JOBS: u64 = 400;
const CONCURRENCY: usize = 4;
const PREFETCH: usize = 12;

/// Per test run: the attempt numbers each job ran with, and how many of the
/// run's jobs run now and ran at most at once.
#[derive(Default)]
struct Ledger {
    attempts: HashMap<u64, Vec<u32>>,
    running: i64,
    max_running: i64,
}

static LEDGERS: LazyLock<Mutex<HashMap<RunId, Ledger>>> = LazyLock::new(Default::default);

fn with_ledger<T>(run: RunId, f: impl FnOnce(&mut Ledger) -> T) -> T {
    f(LEDGERS.lock().unwrap().entry(run).or_default())
}

/// Records its attempt number, then sleeps `pause_ms` (20 ms in the
/// shutdown test, so the worker has jobs running and jobs waiting ahead
/// whenever it is stopped).
#[derive(Debug, Serialize, Deserialize)]
struct AttemptRecorded {
    run: RunId,
    n: u64,
    pause_ms: u64,
}

impl Job for AttemptRecorded {
    const NAME: &'static str = "e2e.attempt-recorded";

    fn options() -> JobOptions {
        JobOptions::new().max_tries(5)
    }

    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        with_ledger(self.run, |l| {
            l.attempts.entry(self.n).or_default().push(ctx.attempt());
            l.running += 1;
            l.max_running = l.max_running.max(l.running);
        });
        tokio::time::sleep(Duration::from_millis(self.pause_ms)).await;
        with_ledger(self.run, |l| l.running -= 1);
        Ok(())
    }
}

async fn stopped_mid_drain(driver: Arc<dyn Driver>, label: &str) {
    let queue = QueueName::new("prefetch").unwrap();
    let run = RunId::fresh();
    let dispatch = Queue::from_arc(driver.clone());
    let options = JobOptions::new().queue(queue.as_str());
    let jobs = (0..JOBS)
        .map(|n| {
            let job = AttemptRecorded {
                run,
                n,
                pause_ms: 20,
            };
            dispatch.pending(&job, &options, None)
        })
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    driver.push_bulk(jobs).await.unwrap();

    let first = worker(driver.clone(), &queue, CONCURRENCY)
        .register::<AttemptRecorded>()
        .prefetch(PREFETCH)
        .stop_when_empty(false)
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let first = tokio::spawn(first.run_until(async move {
        let _ = stopped.await;
    }));
    // Stop it once about a quarter of the jobs ran.
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while with_ledger(run, |l| l.attempts.len()) < (JOBS / 4) as usize {
        assert!(
            tokio::time::Instant::now() < until,
            "{label}: the first worker stalled"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(()).unwrap();
    let first = first.await.unwrap().unwrap();
    assert!(
        first.counts.released_on_shutdown > 0,
        "{label}: the stopped worker held no job unstarted: {first:?}"
    );
    let left = counts(&*driver, &queue).await;
    assert_eq!(left.reserved, 0, "{label}: a job stayed leased: {left:?}");
    assert_eq!(
        left.ready,
        JOBS - first.counts.processed,
        "{label}: {first:?}"
    );

    let second = drain(
        worker(driver.clone(), &queue, CONCURRENCY)
            .register::<AttemptRecorded>()
            .prefetch(PREFETCH),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(first.counts.processed + second.counts.processed, JOBS);

    let ledger = LEDGERS.lock().unwrap().remove(&run).unwrap();
    let wrong: Vec<_> = (0..JOBS)
        .filter(|n| ledger.attempts.get(n).map(Vec::as_slice) != Some(&[1]))
        .map(|n| (n, ledger.attempts.get(&n).cloned()))
        .take(10)
        .collect();
    assert!(
        wrong.is_empty(),
        "{label}: jobs that did not run exactly once at attempt 1 (job, attempts): {wrong:?}"
    );
    assert!(
        ledger.max_running <= CONCURRENCY as i64,
        "{label}: {} jobs ran at once at concurrency {CONCURRENCY}",
        ledger.max_running
    );
    assert_eq!(counts(&*driver, &queue).await, QueueCounts::default());
    eprintln!(
        "{label}: the first worker ran {} and gave back {} unstarted; the second ran {}",
        first.counts.processed, first.counts.released_on_shutdown, second.counts.processed
    );
}

/// Job 0 runs 1.5 s on the only slot while jobs 1 and 2 wait ahead, with a
/// 400 ms lease the worker itself reclaims every 200 ms: their leases must be
/// kept. Job 2 is cancelled while it waits: it never runs and ends cancelled.
async fn waiting_jobs_keep_their_lease_and_can_be_cancelled(driver: Arc<dyn Driver>, label: &str) {
    let queue = QueueName::new("prefetch-wait").unwrap();
    let run = RunId::fresh();
    let dispatch = Queue::from_arc(driver.clone());
    let options = JobOptions::new().queue(queue.as_str());
    let jobs = [1_500, 0, 0]
        .into_iter()
        .enumerate()
        .map(|(n, pause_ms)| {
            let job = AttemptRecorded {
                run,
                n: n as u64,
                pause_ms,
            };
            dispatch.pending(&job, &options, None)
        })
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let ids = driver.push_bulk(jobs).await.unwrap();

    let drained = tokio::spawn(drain(
        worker(driver.clone(), &queue, 1)
            .register::<AttemptRecorded>()
            .prefetch(2)
            .lease(Duration::from_millis(400)),
        Duration::from_secs(30),
    ));
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let c = counts(&*driver, &queue).await;
        if c.reserved == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "{label}: the worker did not claim all three: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        driver.cancel(&queue, &ids[2]).await.unwrap(),
        CancelOutcome::Requested,
        "{label}: a job claimed ahead is held by its worker"
    );
    let report = drained.await.unwrap();

    let ledger = LEDGERS.lock().unwrap().remove(&run).unwrap();
    let mut ran: Vec<_> = ledger.attempts.into_iter().collect();
    ran.sort();
    assert_eq!(
        ran,
        [(0, vec![1]), (1, vec![1])],
        "{label}: job 1 ran once at attempt 1 after waiting, job 2 never: {report:?}"
    );
    assert_eq!(
        (
            report.counts.processed,
            report.counts.cancelled,
            report.counts.lease_lost
        ),
        (2, 1, 0),
        "{report:?}"
    );
    let status = driver.job_status(&queue, &ids[2]).await.unwrap().unwrap();
    assert_eq!(status.state, JobState::Cancelled, "{label}: {status:?}");
    assert_eq!(counts(&*driver, &queue).await, QueueCounts::default());
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_jobs_claimed_ahead_keep_their_lease_and_can_be_cancelled() {
    let store = RedisStore::new().await;
    waiting_jobs_keep_their_lease_and_can_be_cancelled(store.dyn_driver(), "redis").await;
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_jobs_claimed_ahead_keep_their_lease_and_can_be_cancelled() {
    let store = MysqlStore::new().await;
    waiting_jobs_keep_their_lease_and_can_be_cancelled(store.dyn_driver(), "mysql").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_worker_with_prefetch_gives_back_unstarted_jobs_at_shutdown() {
    let store = RedisStore::new().await;
    stopped_mid_drain(store.dyn_driver(), "redis").await;
    store.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mysql_worker_with_prefetch_gives_back_unstarted_jobs_at_shutdown() {
    let store = MysqlStore::new().await;
    stopped_mid_drain(store.dyn_driver(), "mysql").await;
}
