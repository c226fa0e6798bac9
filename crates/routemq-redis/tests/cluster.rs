//! What only a Redis Cluster shows, on the testkit's shared local cluster
//! (3 masters, 3 replicas): an idle wait over queues whose slots live on
//! different masters (one `BLPOP` per queue, each ended by the first to
//! return), a wait on one queue that carries its claim in the same pipeline,
//! and every key a queue writes hashing to that queue's slot. The
//! whole conformance suite runs on the cluster too (`ROUTEMQ_TEST_REDIS=cluster`).

mod common;

use std::time::{Duration, Instant};

use routemq_core::prelude::*;
use routemq_core::{PendingJob, QueueName};
use routemq_redis::RedisDriver;
use routemq_testkit::redis::{redis_cluster, RedisCluster, RedisTarget};

fn driver(target: &RedisTarget) -> RedisDriver {
    assert!(target.cluster_nodes.is_some(), "a cluster target");
    RedisDriver::new(common::config_for(target)).unwrap()
}

fn job(queue: &QueueName) -> PendingJob {
    common::job(queue.as_str(), 0, 3)
}

fn job_at(queue: &QueueName, at: Option<std::time::SystemTime>) -> PendingJob {
    common::job_at(queue.as_str(), 0, 3, at)
}

/// Two queue names whose slots are owned by different masters.
fn queues_on_two_masters(cluster: &RedisCluster) -> (QueueName, QueueName) {
    let owner = |name: &str| cluster.slot_owner(RedisCluster::key_slot(&format!("{{{name}}}")));
    let first = "wake-0".to_owned();
    let second = (1..1000)
        .map(|i| format!("wake-{i}"))
        .find(|name| owner(name) != owner(&first))
        .expect("a name on another master");
    (
        QueueName::new(first).unwrap(),
        QueueName::new(second).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_over_queues_on_two_masters_wakes_on_a_push_to_either() {
    let target = redis_cluster();
    let cluster = target.cluster().expect("the testkit's cluster");
    let (a, b) = queues_on_two_masters(cluster);
    let driver = driver(&target);
    let queues = [a.clone(), b.clone()];
    for pushed_to in [&b, &a] {
        let waiting = {
            let (driver, queues) = (driver.clone(), queues.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                driver
                    .wait_for_jobs(&queues, Duration::from_secs(20))
                    .await
                    .unwrap();
                started.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        driver.push(job(pushed_to)).await.unwrap();
        let waited = waiting.await.unwrap();
        assert!(
            waited < Duration::from_secs(10),
            "a push to {pushed_to} did not end the wait (it took {waited:?} of 20 s)"
        );
        let claimed = driver
            .claim(&queues, 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(&claimed[0].lease.queue, pushed_to);
        driver.ack(&claimed[0].lease).await.unwrap();
    }
    // Nothing pushed: both BLPOPs are ended at the timeout by their private
    // keys, and the connections are used again by the next wait.
    for _ in 0..3 {
        let started = Instant::now();
        driver
            .wait_for_jobs(&queues, Duration::from_millis(400))
            .await
            .unwrap();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(350),
            "an empty wait returned after {waited:?}, before its 400 ms"
        );
    }
}

/// A `wait_and_claim` on one queue sends its claim behind its `BLPOP`, as on
/// one server: the claim runs the moment the push's token arrives, with the
/// clock read when the pipeline was built. So the lease it returns ends
/// before the push's instant plus the lease, which a claim sent after the
/// wait (one more round trip) could not do. An attempt whose wait had not
/// blocked yet when the job was pushed (a slow machine) proves nothing, so
/// the test allows three; a claim that never rides with its wait fails all
/// of them.
#[tokio::test(flavor = "multi_thread")]
async fn a_wait_on_one_queue_carries_its_claim() {
    let target = redis_cluster();
    let driver = driver(&target);
    let q = QueueName::new("fused").unwrap();
    let lease = Duration::from_secs(60);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let stop = tokio_util::sync::CancellationToken::new();
        let waiting = {
            let (driver, q, stop) = (driver.clone(), q.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    let got = driver
                        .wait_and_claim(
                            std::slice::from_ref(&q),
                            1,
                            lease,
                            Duration::from_secs(20),
                            &stop,
                        )
                        .await
                        .unwrap();
                    if let Some(r) = got.into_iter().next() {
                        return r;
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pushed_at = std::time::SystemTime::now();
        driver.push(job(&q)).await.unwrap();
        let r = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the push ends the wait")
            .unwrap();
        driver.ack(&r.lease).await.unwrap();
        let early = (pushed_at + lease).duration_since(r.lease.expires_at).ok();
        if early.is_some_and(|d| d >= Duration::from_millis(100)) {
            return;
        }
        seen.push(early);
    }
    panic!(
        "no claim's lease was read before its push (its lease ended this much before \
         the push plus the lease, per attempt: {seen:?}): the claim was not sent with the wait"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_key_a_queue_writes_hashes_to_its_slot() {
    let target = redis_cluster();
    let cluster = target.cluster().expect("the testkit's cluster");
    let driver = driver(&target);
    let (a, b) = queues_on_two_masters(cluster);
    for q in [&a, &b] {
        driver.push(job(q)).await.unwrap();
        let later = std::time::SystemTime::now() + Duration::from_secs(3600);
        driver.push(job_at(q, Some(later))).await.unwrap();
    }
    let claimed = driver
        .claim(&[a.clone(), b.clone()], 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    driver
        .fail(&claimed[0].lease, "failed on purpose")
        .await
        .unwrap();
    driver.pause(&b).await.unwrap();

    let mut keys = Vec::new();
    for node in cluster.masters() {
        let mut conn = redis::Client::open(format!("redis://{node}"))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let found: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", target.prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(found);
    }
    let queue_keys: Vec<&String> = keys.iter().filter(|k| k.contains(":queue:")).collect();
    assert!(queue_keys.len() >= 6, "too few keys written: {keys:?}");
    for key in queue_keys {
        let tag = key
            .split_once('{')
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(tag, _)| tag)
            .unwrap_or_else(|| panic!("{key} has no hash tag"));
        assert!(
            tag == a.as_str() || tag == b.as_str(),
            "{key} is tagged {tag:?}, not with its queue"
        );
    }
}
