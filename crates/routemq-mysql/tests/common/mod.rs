//! Shared by the integration tests: a migrated driver over a fresh schema, held
//! together with the schema so both drop together.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use routemq_core::{JobId, PendingJob, QueueName};
use routemq_mysql::mysql_async::prelude::Queryable;
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
        schema: Arc::new(schema),
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
    schema: Arc<MysqlSchema>,
}

pub fn q(name: &str) -> QueueName {
    QueueName::new(name).unwrap()
}

impl Held {
    /// The URL of the schema the driver lives in (for a connection of the
    /// test's own, outside the driver's pool).
    pub fn url(&self) -> &str {
        self.schema.url()
    }
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

/// What `EXPLAIN FORMAT=JSON` (the one EXPLAIN format both servers share: MySQL
/// 9 prints a tree by default, MariaDB has no FORMAT=TRADITIONAL) says about
/// `sql` with `params`: (table, index, access) of every table access, and
/// whether anything is sorted. Reads the three JSON shapes there are: MariaDB's
/// (`key`, `access_type`, a `filesort` node), MySQL's version 1 (`key`,
/// `access_type`, `using_filesort: true`) and MySQL's version 2, the default of
/// 9.x (`index_name`, `index_access_type` such as `index_range_scan`, a node with
/// `access_type: sort`). Accesses are named as MariaDB does (range, ref, …).
pub async fn plan(
    c: &mut routemq_mysql::mysql_async::Conn,
    sql: &str,
    params: impl Into<routemq_mysql::mysql_async::Params> + Send,
) -> (Vec<(String, String, String)>, bool, String) {
    fn walk(v: &serde_json::Value, tables: &mut Vec<(String, String, String)>, sorts: &mut bool) {
        match v {
            serde_json::Value::Object(map) => {
                let field = |k: &str| map.get(k).and_then(|v| v.as_str());
                if let Some(table) = field("table_name") {
                    let key = field("key").or(field("index_name")).unwrap_or_default();
                    let access = match field("index_access_type") {
                        Some("index_range_scan") => "range",
                        Some("index_lookup") => "ref",
                        Some(other) => other,
                        None => field("access_type").unwrap_or_default(),
                    };
                    tables.push((table.to_owned(), key.to_owned(), access.to_owned()));
                }
                if field("access_type") == Some("sort") {
                    *sorts = true;
                }
                for (k, v) in map {
                    if k == "filesort" || (k == "using_filesort" && v.as_bool() == Some(true)) {
                        *sorts = true;
                    }
                    walk(v, tables, sorts);
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    walk(v, tables, sorts);
                }
            }
            _ => {}
        }
    }
    let text: Option<String> = c
        .exec_first(format!("EXPLAIN FORMAT=JSON {sql}"), params)
        .await
        .unwrap();
    let text = text.expect("EXPLAIN returns the plan");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (mut tables, mut sorts) = (Vec::new(), false);
    walk(&json, &mut tables, &mut sorts);
    (tables, sorts, text)
}
