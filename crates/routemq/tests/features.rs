//! The umbrella crate exposes what its features promise, and the core always.

use routemq::{Job, JobContext, JobError, MemoryDriver, Queue};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Ping {
    n: u32,
}

impl Job for Ping {
    const NAME: &'static str = "umbrella.ping";
    async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

#[tokio::test]
async fn the_core_dispatches_on_the_memory_driver() {
    let queue = Queue::new(MemoryDriver::new());
    let a = queue.dispatch(Ping { n: 1 }).await.unwrap();
    let b = queue.dispatch(Ping { n: 2 }).await.unwrap();
    assert_ne!(a, b);
}

#[cfg(feature = "redis")]
#[test]
fn redis_config_parses_urls() {
    let config = routemq::RedisConfig::from_url("redis://127.0.0.1:6379/2").unwrap();
    let _: routemq::redis::RedisConfig = config;
}

#[cfg(feature = "mysql")]
#[test]
fn mysql_config_parses_urls() {
    let config = routemq::MysqlConfig::from_url("mysql://root@127.0.0.1:3306/test").unwrap();
    let _: routemq::mysql::MysqlConfig = config;
}

#[cfg(feature = "worker")]
#[tokio::test]
async fn a_worker_builds_on_the_memory_driver() {
    let queue = Queue::new(MemoryDriver::new());
    let worker = routemq::Worker::builder(queue.driver())
        .register::<Ping>()
        .queues(["default"])
        .build();
    assert!(worker.is_ok());
}

#[cfg(feature = "cli")]
#[test]
fn the_cli_app_takes_job_types() {
    let _app = routemq::cli::App::new().register::<Ping>();
}

/// With `msgpack`, MessagePack jobs round-trip through a queue.
#[cfg(feature = "msgpack")]
#[tokio::test]
async fn msgpack_jobs_dispatch_and_decode() {
    use routemq::prelude::*;
    let driver = MemoryDriver::new();
    let queue = Queue::new(driver.clone());
    let options = routemq::JobOptions::new().codec(routemq::Codec::MsgPack);
    queue
        .dispatch_with(Ping { n: 7 }, &options, None)
        .await
        .unwrap();
    let claimed = driver
        .claim(
            &[routemq::QueueName::new("default").unwrap()],
            1,
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap();
    let envelope = claimed[0].envelope().unwrap();
    assert_eq!(envelope.codec, routemq::Codec::MsgPack);
}

/// Without `msgpack`, a MessagePack job is refused at dispatch with a reason that
/// says how to turn it on; nothing is stored.
#[cfg(not(feature = "msgpack"))]
#[tokio::test]
async fn without_msgpack_a_msgpack_job_is_refused_with_the_reason() {
    use routemq::prelude::*;
    let driver = MemoryDriver::new();
    let queue = Queue::new(driver.clone());
    let options = routemq::JobOptions::new().codec(routemq::Codec::MsgPack);
    let err = queue
        .dispatch_with(Ping { n: 7 }, &options, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`msgpack` feature"), "{err}");
    let stats = driver
        .stats(&routemq::QueueName::new("default").unwrap())
        .await
        .unwrap();
    assert_eq!(stats.ready, 0);
}
