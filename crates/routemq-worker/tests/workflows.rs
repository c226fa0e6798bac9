//! Chains and batches through a running worker (memory driver): links run in
//! order, a failing link runs the chain's catch job, a batch's callbacks run
//! once each after its jobs.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use routemq_core::{Job, JobContext, JobError, JobOptions, MemoryDriver, Queue};
use routemq_worker::Worker;
use serde::{Deserialize, Serialize};

/// What ran, in order.
static LOG: LazyLock<Mutex<Vec<String>>> = LazyLock::new(Mutex::default);

fn log(entry: String) {
    LOG.lock().unwrap().push(entry);
}

fn entries(prefix: &str) -> Vec<String> {
    LOG.lock()
        .unwrap()
        .iter()
        .filter(|e| e.starts_with(prefix))
        .cloned()
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Step {
    tag: String,
    fail: bool,
}

impl Job for Step {
    const NAME: &'static str = "test.step";
    fn options() -> JobOptions {
        JobOptions::new().queue("flows").max_tries(1)
    }
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        log(self.tag.clone());
        if self.fail {
            return Err(JobError::fatal("asked to fail"));
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Other {
    tag: String,
}

impl Job for Other {
    const NAME: &'static str = "test.other";
    fn options() -> JobOptions {
        JobOptions::new().queue("flows")
    }
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        log(self.tag.clone());
        Ok(())
    }
}

fn step(tag: &str, fail: bool) -> Step {
    Step {
        tag: tag.into(),
        fail,
    }
}

fn worker_clone(driver: &MemoryDriver) -> Worker {
    Worker::builder(Arc::new(driver.clone()))
        .register::<Step>()
        .register::<Other>()
        .queues(["flows"])
        .concurrency(8)
        .stop_when_empty(true)
        .build()
        .expect("valid worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_links_run_in_order_and_a_failure_runs_catch() {
    let driver = MemoryDriver::new();
    let queue = Queue::new(driver.clone());
    queue
        .chain()
        .then(step("ok-1", false))
        .then(Other { tag: "ok-2".into() })
        .then(step("ok-3", false))
        .catch(Other {
            tag: "ok-catch".into(),
        })
        .dispatch()
        .await
        .expect("chain");
    queue
        .chain()
        .then(step("bad-1", false))
        .then(step("bad-2", true))
        .then(step("bad-3", false))
        .catch(Other {
            tag: "bad-catch".into(),
        })
        .dispatch()
        .await
        .expect("chain");
    run_to_empty(&driver).await;
    assert_eq!(entries("ok-"), ["ok-1", "ok-2", "ok-3"]);
    assert_eq!(entries("bad-"), ["bad-1", "bad-2", "bad-catch"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_callbacks_run_once_after_its_jobs() {
    let driver = MemoryDriver::new();
    let queue = Queue::new(driver.clone());
    let mut batch = queue.batch("rows");
    for n in 0..50 {
        batch = batch.job(step(&format!("row-{n}"), n == 7));
    }
    let info = batch
        .then(Other {
            tag: "cb-then".into(),
        })
        .catch(Other {
            tag: "cb-catch".into(),
        })
        .finally(Other {
            tag: "cb-finally".into(),
        })
        .allow_failures()
        .dispatch()
        .await
        .expect("batch");
    run_to_empty(&driver).await;
    assert_eq!(entries("row-").len(), 50);
    assert_eq!(entries("cb-"), ["cb-catch", "cb-finally"]);
    let done = queue.batch_info(&info.id).await.unwrap().unwrap();
    assert_eq!(
        (done.total, done.pending, done.succeeded, done.failed),
        (50, 0, 49, 1)
    );

    let refused = queue
        .chain()
        .then(step("x", false))
        .then_with(step("y", false), &JobOptions::new().queue("elsewhere"))
        .dispatch()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("elsewhere") && refused.contains("one queue"),
        "{refused}"
    );
}

/// Runs workers until the queue has nothing ready, delayed or reserved.
async fn run_to_empty(driver: &MemoryDriver) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        worker_clone(driver)
            .run_until(std::future::pending::<()>())
            .await
            .expect("worker");
        let s = routemq_core::QueueAdmin::stats(driver, &"flows".parse().unwrap())
            .await
            .unwrap();
        if s.ready + s.delayed + s.reserved == 0 {
            return;
        }
        assert!(Instant::now() < until, "not drained in 10 s: {s:?}");
    }
}
