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
