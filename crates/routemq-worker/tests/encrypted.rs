//! Encrypted job data on the memory driver: a worker with the key runs the job with
//! its plaintext; a worker without a matching key, or a tampered job, moves it to
//! the failed store with the reason and never runs the handler.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use routemq_core::prelude::*;
use routemq_core::{
    EncryptionKey, Envelope, FailedQuery, Job, JobContext, JobError, JobOptions, Keyring,
    MemoryDriver, PendingJob, Queue,
};
use routemq_worker::Worker;
use serde::{Deserialize, Serialize};

const SECRET: &str = "s3cret-card-4111";

/// Cards the handler received, per test (keyed by a tag in the job).
static SEEN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

#[derive(Serialize, Deserialize)]
struct Charge {
    tag: String,
    card: String,
}

impl Job for Charge {
    const NAME: &'static str = "payments.charge";
    fn options() -> JobOptions {
        JobOptions::new().queue("payments").max_tries(3).encrypted()
    }
    async fn handle(&self, _: &JobContext) -> Result<(), JobError> {
        SEEN.lock()
            .unwrap()
            .push((self.tag.clone(), self.card.clone()));
        Ok(())
    }
}

fn seen(tag: &str) -> Vec<String> {
    SEEN.lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == tag)
        .map(|(_, c)| c.clone())
        .collect()
}

async fn drain(driver: Arc<dyn Driver>, keyring: Keyring) -> routemq_worker::WorkerReport {
    let worker = Worker::builder(driver)
        .register::<Charge>()
        .queues(["payments"])
        .keyring(keyring)
        .sleep(Duration::from_millis(50))
        .stop_when_empty(true)
        .build()
        .expect("valid worker");
    tokio::time::timeout(Duration::from_secs(20), worker.run())
        .await
        .expect("the worker stops")
        .expect("the worker runs")
}

async fn only_failed(driver: &Arc<dyn Driver>) -> routemq_core::FailedJob {
    let failed = driver.failed_list(&FailedQuery::default()).await.unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    failed.into_iter().next().unwrap()
}

#[tokio::test]
async fn an_encrypted_job_runs_with_its_plaintext() {
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let key = EncryptionKey::generate();
    let queue = Queue::from_arc(driver.clone()).with_keyring(Keyring::new(key.clone()));
    queue
        .dispatch(Charge {
            tag: "runs".into(),
            card: SECRET.into(),
        })
        .await
        .unwrap();
    let report = drain(driver.clone(), Keyring::new(key)).await;
    assert_eq!(report.counts.processed, 1, "{report:?}");
    assert_eq!(report.counts.failed, 0, "{report:?}");
    assert_eq!(seen("runs"), vec![SECRET.to_owned()]);
}

#[tokio::test]
async fn a_rotated_key_still_opens_jobs_sealed_with_the_old_one() {
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let old = EncryptionKey::generate();
    Queue::from_arc(driver.clone())
        .with_keyring(Keyring::new(old.clone()))
        .dispatch(Charge {
            tag: "rotated".into(),
            card: SECRET.into(),
        })
        .await
        .unwrap();
    let ring = Keyring::new(EncryptionKey::generate()).with_previous(old);
    let report = drain(driver, ring).await;
    assert_eq!(report.counts.processed, 1, "{report:?}");
    assert_eq!(seen("rotated"), vec![SECRET.to_owned()]);
}

#[tokio::test]
async fn without_a_matching_key_the_job_fails_with_the_reason_and_never_runs() {
    for (tag, worker_ring) in [
        ("no-key", Keyring::empty()),
        ("wrong-key", Keyring::new(EncryptionKey::generate())),
    ] {
        let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
        let key = EncryptionKey::generate();
        let id = Queue::from_arc(driver.clone())
            .with_keyring(Keyring::new(key.clone()))
            .dispatch(Charge {
                tag: tag.into(),
                card: SECRET.into(),
            })
            .await
            .unwrap();
        let report = drain(driver.clone(), worker_ring).await;
        assert_eq!(report.counts.failed, 1, "{tag}: {report:?}");
        assert_eq!(report.counts.retried, 0, "{tag}: never retried");
        assert!(seen(tag).is_empty(), "{tag}: the handler ran");
        let failed = only_failed(&driver).await;
        assert_eq!(failed.id, id);
        let reason = &failed.exception;
        assert!(reason.contains("cannot decrypt job data"), "{reason}");
        assert!(reason.contains(&key.id().to_string()), "{reason}");
        assert!(reason.contains("ROUTEMQ_ENCRYPTION_KEY"), "{reason}");
        assert!(reason.contains("not run"), "{reason}");
        // The failed store keeps the sealed payload, not the plaintext.
        assert!(!String::from_utf8_lossy(&failed.payload).contains(SECRET));
        let q = routemq_core::QueueName::new("payments").unwrap();
        let stats = driver.stats(&q).await.unwrap();
        assert_eq!(stats.ready + stats.delayed + stats.reserved, 0, "{stats:?}");
        assert_eq!(stats.failed, 1, "{stats:?}");
    }
}

#[tokio::test]
async fn a_tampered_job_fails_as_tampered_and_never_runs() {
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let key = EncryptionKey::generate();
    let ring = Keyring::new(key.clone());
    let queue = Queue::from_arc(driver.clone()).with_keyring(ring.clone());
    let pending = queue
        .pending(
            &Charge {
                tag: "tampered".into(),
                card: SECRET.into(),
            },
            &JobOptions::new(),
            None,
        )
        .unwrap();
    let mut env = Envelope::decode(&pending.payload).unwrap();
    let last = env.data.len() - 1;
    env.data[last] ^= 0x80;
    driver
        .push(PendingJob::new(&env, None).unwrap())
        .await
        .unwrap();
    let report = drain(driver.clone(), ring).await;
    assert_eq!(report.counts.failed, 1, "{report:?}");
    assert!(seen("tampered").is_empty(), "the handler ran");
    let reason = only_failed(&driver).await.exception;
    assert!(reason.contains("authentication failed"), "{reason}");
    assert!(reason.contains(&key.id().to_string()), "{reason}");
}
