//! A Redis connection's failed store in the database, through the CLI, on real
//! Redis and MariaDB/MySQL: `config` says which store is in use, a job that
//! fails under `routemq work` lands in `queue_failed_jobs` with
//! `connection = 'redis'`, `stats` and `failed list|show|retry` work on it,
//! `retry` puts it back on its Redis queue; `ROUTEMQ_FAILED_STORE=redis` keeps
//! failures in Redis, and a bad value stops the CLI naming the variable.

#![cfg(feature = "failed-mysql")]

mod support;

use mysql_async::prelude::Queryable;
use routemq_testkit::mysql::MysqlSchema;
use serde_json::Value;
use support::Backend;

struct Shop {
    backend: Backend,
    runtime: tokio::runtime::Runtime,
    schema: MysqlSchema,
}

fn shop(extra: &[(&str, &str)]) -> Shop {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let schema = runtime.block_on(MysqlSchema::create()).unwrap();
    let mut backend = Backend::redis();
    backend
        .env
        .push(("DATABASE_URL".into(), schema.url().to_owned()));
    for (k, v) in extra {
        backend.env.push(((*k).into(), (*v).into()));
    }
    let migrated = backend.ok(&["migrate", "--json"]);
    let keeps_redis = extra.contains(&("ROUTEMQ_FAILED_STORE", "redis"));
    assert_eq!(
        migrated["applied"].as_array().unwrap().is_empty(),
        keeps_redis,
        "migrate sets up the application database only when it holds the failed store: {migrated}"
    );
    Shop {
        backend,
        runtime,
        schema,
    }
}

impl Shop {
    /// `SELECT queue, COUNT(*) FROM queue_failed_jobs WHERE connection = 'redis' GROUP BY queue`.
    fn failed_rows(&self) -> Vec<(String, u64)> {
        self.runtime.block_on(async {
            let pool = mysql_async::Pool::new(self.schema.url());
            let mut conn = pool.get_conn().await.unwrap();
            let rows: Vec<(String, u64)> = conn
                .query("SELECT queue, COUNT(*) FROM queue_failed_jobs WHERE connection = 'redis' GROUP BY queue")
                .await
                .unwrap();
            drop(conn);
            pool.disconnect().await.unwrap();
            rows
        })
    }

    /// Pushes one `routemq.fail` job on `queue` and runs a worker until it failed.
    fn fail_one(&self, queue: &str) -> String {
        let b = &self.backend;
        let pushed = b.ok(&[
            "push",
            "--queue",
            queue,
            "--job",
            "routemq.fail",
            "--data",
            r#"{"message":"card declined"}"#,
            "--tries",
            "1",
            "--json",
        ]);
        let id = pushed["id"].as_str().unwrap().to_owned();
        let report = b.ok(&[
            "work",
            "--queue",
            queue,
            "--max-jobs",
            "1",
            "--max-time",
            "30s",
            "--json",
        ]);
        assert_eq!(report["failed"], 1, "{report}");
        id
    }
}

#[test]
fn failures_of_redis_queues_are_kept_in_the_database() {
    let s = shop(&[]);
    let b = &s.backend;
    let config = b.ok(&["config", "--json"]);
    assert_eq!(config["failed_store"], "database", "{config}");

    let id = s.fail_one("payments");
    assert_eq!(
        s.failed_rows(),
        vec![("payments".to_owned(), 1)],
        "the operator's SQL sees the failure"
    );
    let listed = b.ok(&["failed", "list", "--json"]);
    let row = &listed.as_array().unwrap()[0];
    assert_eq!(
        (&row["id"], &row["connection"], &row["queue"]),
        (
            &Value::from(id.as_str()),
            &Value::from("redis"),
            &Value::from("payments")
        ),
        "{listed}"
    );
    let shown = b.ok(&["failed", "show", &id, "--json"]);
    assert!(shown.to_string().contains("card declined"), "{shown}");
    assert_eq!(b.stats("payments")["failed"], 1);

    let retried = b.ok(&["failed", "retry", &id, "--json"]);
    assert!(retried.to_string().contains(&id), "{retried}");
    assert!(
        s.failed_rows().is_empty(),
        "the row is gone after the retry"
    );
    let st = b.stats("payments");
    assert_eq!(
        (st["ready"].as_u64(), st["failed"].as_u64()),
        (Some(1), Some(0)),
        "{st}"
    );
}

#[test]
fn routemq_failed_store_redis_keeps_failures_in_redis() {
    let s = shop(&[("ROUTEMQ_FAILED_STORE", "redis")]);
    let b = &s.backend;
    assert_eq!(b.ok(&["config", "--json"])["failed_store"], "redis");
    let id = s.fail_one("kept");
    // (The database was never migrated: the failed store does not touch it.)
    let listed = b.ok(&["failed", "list", "--json"]);
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    assert_eq!(b.stats("kept")["failed"], 1);

    let out = b
        .cmd(&["config"])
        .env("ROUTEMQ_FAILED_STORE", "sometimes")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ROUTEMQ_FAILED_STORE"), "{err}");
}
