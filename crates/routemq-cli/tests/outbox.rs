//! The outbox through the CLI, on real Redis and MariaDB/MySQL: `config` and
//! `migrate` with `ROUTEMQ_OUTBOX=true`, `outbox status`, `work` relaying and
//! running staged jobs once (rolled-back ones never), and a relay process
//! SIGKILLed mid-way followed by another: every job in its queue exactly once.

#![cfg(feature = "outbox")]

mod support;

use std::time::{Duration, Instant};

use mysql_async::{Pool, TxOpts};
use routemq_core::{Codec, Envelope, PendingJob, QueueName};
use routemq_outbox::Outbox;
use routemq_redis::{RedisConfig, RedisDriver};
use routemq_testkit::mysql::MysqlSchema;
use support::Backend;

fn noop(queue: &str) -> PendingJob {
    let env = Envelope::new(
        "routemq.noop",
        QueueName::new(queue).unwrap(),
        Codec::Json,
        b"{}".to_vec(),
    );
    PendingJob::new(&env, None).unwrap()
}

/// Redis queues with the outbox in a fresh schema (migrated by `routemq migrate`),
/// and the application's side: its pool and an `Outbox` to stage with.
struct Shop {
    backend: Backend,
    outbox: Outbox,
    pool: Pool,
    runtime: tokio::runtime::Runtime,
    _schema: MysqlSchema,
}

fn shop() -> Shop {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let schema = runtime.block_on(MysqlSchema::create()).unwrap();
    let mut backend = Backend::redis();
    backend.env.push(("ROUTEMQ_OUTBOX".into(), "true".into()));
    backend
        .env
        .push(("DATABASE_URL".into(), schema.url().to_owned()));
    let migrated = backend.ok(&["migrate", "--json"]);
    assert!(
        migrated["applied"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == 9),
        "migrate creates the outbox table on the application database: {migrated}"
    );
    // The Redis settings `routemq` gets (a URL, or a cluster's nodes).
    let config =
        RedisConfig::from_lookup(|k| backend.var(k)).expect("the backend's Redis settings");
    let redis = RedisDriver::new(config).expect("a Redis driver");
    let pool = runtime.block_on(async { Pool::new(schema.url()) });
    let outbox = Outbox::new(pool.clone(), redis);
    Shop {
        backend,
        outbox,
        pool,
        runtime,
        _schema: schema,
    }
}

impl Shop {
    /// Stages `n` no-op jobs on `queue` in one transaction, committed or not.
    fn stage(&self, queue: &str, n: usize, commit: bool) {
        self.runtime.block_on(async {
            let mut conn = self.pool.get_conn().await.unwrap();
            let mut tx = conn.start_transaction(TxOpts::default()).await.unwrap();
            let jobs = (0..n).map(|_| noop(queue)).collect();
            self.outbox.stage_bulk(&mut tx, jobs).await.unwrap();
            if commit {
                tx.commit().await.unwrap();
            } else {
                tx.rollback().await.unwrap();
            }
        });
    }
}

#[test]
fn work_relays_committed_jobs_and_runs_each_once() {
    let s = shop();
    let b = &s.backend;
    let config = b.ok(&["config", "--json"]);
    assert_eq!(config["outbox"]["enabled"], true, "{config}");
    s.stage("orders", 30, true);
    s.stage("orders", 5, false);
    let status = b.ok(&["outbox", "status", "--json"]);
    assert_eq!(status["waiting"], 30, "{status}");
    assert!(status["lag_ms"].is_u64(), "{status}");

    let report = b.ok(&[
        "work",
        "--queue",
        "orders",
        "--max-jobs",
        "30",
        "--max-time",
        "30s",
        "--json",
    ]);
    assert_eq!(report["processed"], 30, "{report}");
    let status = b.ok(&["outbox", "status", "--json"]);
    assert_eq!(
        (&status["waiting"], &status["lag_ms"]),
        (&serde_json::Value::from(0), &serde_json::Value::Null),
        "{status}"
    );
    let s = b.stats("orders");
    assert_eq!(
        (s["ready"].as_u64(), s["failed"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
}

#[test]
fn a_relay_killed_mid_way_loses_and_repeats_nothing() {
    let s = shop();
    let b = &s.backend;
    s.stage("kill", 20_000, true);
    let mut relay = b
        .std_cmd(&["outbox", "relay"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has moved some jobs but (most likely) not all.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = b.stats("kill")["ready"].as_u64().unwrap_or(0);
        if ready > 0 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    relay.kill().unwrap(); // SIGKILL
    relay.wait().unwrap();
    let after_kill = b.ok(&["outbox", "status", "--json"]);
    eprintln!("after SIGKILL: {after_kill}");
    let done = b.ok(&["outbox", "relay", "--until-empty", "--json"]);
    assert!(done["relayed"].is_u64(), "{done}");
    let stats = b.stats("kill");
    assert_eq!(
        stats["ready"].as_u64(),
        Some(20_000),
        "each staged job exactly once in its queue: {stats}"
    );
    assert_eq!(b.ok(&["outbox", "status", "--json"])["waiting"], 0);
}
