//! Shared set-up for the Redis driver's tests: a driver over a unique key prefix
//! on a real server (see `routemq_testkit::redis`), and a raw client to look at
//! the keys it writes.

#![allow(dead_code)]

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use routemq_core::{Codec, Envelope, JobId, PendingJob, QueueName, TraceContext};
use routemq_redis::{KeyMode, RedisConfig, RedisDriver};
use routemq_testkit::redis::RedisTarget;

pub struct Setup {
    pub driver: RedisDriver,
    pub target: RedisTarget,
    pub raw: MultiplexedConnection,
}

pub async fn setup(mode: KeyMode) -> Setup {
    let target = routemq_testkit::redis::redis();
    setup_on(target, mode).await
}

pub async fn setup_on(target: RedisTarget, mode: KeyMode) -> Setup {
    let config = RedisConfig::from_url(&target.url)
        .unwrap()
        .prefix(target.prefix.clone())
        .key_mode(mode);
    let driver = RedisDriver::new(config).unwrap();
    let raw = redis::Client::open(target.url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    Setup {
        driver,
        target,
        raw,
    }
}

pub fn queue(name: &str) -> QueueName {
    QueueName::new(name).unwrap()
}

/// A JSON job envelope for `queue`.
pub fn job(queue_name: &str, n: usize, max_tries: u32) -> PendingJob {
    job_at(queue_name, n, max_tries, None)
}

pub fn job_at(
    queue_name: &str,
    n: usize,
    max_tries: u32,
    at: Option<std::time::SystemTime>,
) -> PendingJob {
    let envelope = Envelope {
        id: JobId::generate(),
        name: "test.job".into(),
        queue: queue(queue_name),
        codec: Codec::Json,
        data: format!(r#"{{"n":{n}}}"#).into_bytes(),
        encryption: None,
        max_tries,
        timeout: Duration::from_secs(30),
        backoff: Default::default(),
        created_at_ms: 0,
        trace: TraceContext::new(),
        keep_result: None,
    };
    PendingJob::new(&envelope, at).unwrap()
}
