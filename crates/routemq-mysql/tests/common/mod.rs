//! Shared by the integration tests: a migrated driver over a fresh schema, held
//! together with the schema so both drop together.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use routemq_core::{JobId, PendingJob, QueueName};
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_testkit::mysql::MysqlSchema;

/// A migrated driver over a fresh schema; `tune` adjusts the settings.
pub async fn fresh_with(tune: impl FnOnce(&mut MysqlConfig)) -> Held {
    let schema = MysqlSchema::create()
        .await
        .expect("a MySQL/MariaDB for tests");
    let mut config = MysqlConfig::from_url(schema.url()).unwrap();
    tune(&mut config);
    let driver = MysqlDriver::connect_and_migrate(config)
        .await
        .expect("connect and migrate");
    Held {
        driver,
        _schema: Arc::new(schema),
    }
}

/// A migrated driver over a fresh schema with default settings.
pub async fn fresh() -> Held {
    fresh_with(|_| {}).await
}

/// The driver and the schema it lives in (dropped together).
#[derive(Debug, Clone)]
pub struct Held {
    pub driver: MysqlDriver,
    _schema: Arc<MysqlSchema>,
}

pub fn q(name: &str) -> QueueName {
    QueueName::new(name).unwrap()
}

impl std::ops::Deref for Held {
    type Target = MysqlDriver;
    fn deref(&self) -> &MysqlDriver {
        &self.driver
    }
}

/// A pending job `n` on `queue` (JSON envelope), claimable at `at`.
pub fn job(queue: &QueueName, n: u64, at: Option<SystemTime>) -> PendingJob {
    let envelope = routemq_core::Envelope {
        id: JobId::generate(),
        name: "mysql.test".into(),
        queue: queue.clone(),
        codec: routemq_core::Codec::Json,
        data: format!("{{\"n\":{n}}}").into_bytes(),
        encryption: None,
        max_tries: 3,
        timeout: Duration::from_secs(30),
        backoff: routemq_core::Backoff::fixed(Duration::from_secs(1)),
        created_at_ms: routemq_core::unix_ms(SystemTime::now()),
        trace: Default::default(),
        keep_result: None,
    };
    PendingJob::new(&envelope, at).unwrap()
}

/// A connection to the driver's schema for raw SQL.
pub async fn raw(held: &Held) -> routemq_mysql::mysql_async::Conn {
    held.driver.pool().get_conn().await.unwrap()
}
