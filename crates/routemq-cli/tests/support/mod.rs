//! Shared by the CLI tests: a real Redis / MariaDB from the testkit, and the
//! `routemq` binary run against it with a clean configuration.

#![allow(dead_code)]

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use routemq_testkit::mysql::MysqlSchema;

/// The keys `bench --queued N --json` adds to the report (`FillerReport`).
pub const BENCH_FILLER_KEYS: [&str; 12] = [
    "queued",
    "fill_seconds",
    "fill_per_sec",
    "settle_seconds",
    "filler_payload_bytes",
    "ready_after_fill",
    "ready_after_drain",
    "worker_rss_bytes_before",
    "worker_rss_bytes_after_fill",
    "worker_rss_bytes_after_drain",
    "store_bytes_per_queued_job",
    "store_bytes_per_job_beyond_payload",
];

/// Every variable the CLI reads, plus `RUST_LOG`; removed so the machine's settings
/// never leak in.
fn config_vars() -> impl Iterator<Item = &'static str> {
    routemq_cli::variables().into_iter().chain(["RUST_LOG"])
}

/// A store for one test: the variables that point `routemq` at it.
pub struct Backend {
    pub name: &'static str,
    pub env: Vec<(String, String)>,
    _schema: Option<MysqlSchema>,
    _runtime: Option<tokio::runtime::Runtime>,
}

impl Backend {
    /// Redis with a key prefix of this test's own: `REDIS_URL`, or
    /// `REDIS_CLUSTER_NODES` when the testkit's Redis is a cluster
    /// (`ROUTEMQ_TEST_REDIS=cluster`).
    pub fn redis() -> Backend {
        let target = routemq_testkit::redis::redis();
        let server = match &target.cluster_nodes {
            Some(nodes) => ("REDIS_CLUSTER_NODES".into(), nodes.clone()),
            None => ("REDIS_URL".into(), target.url.clone()),
        };
        Backend {
            name: "redis",
            env: vec![
                ("QUEUE_CONNECTION".into(), "redis".into()),
                server,
                ("REDIS_PREFIX".into(), target.prefix.clone()),
            ],
            _schema: None,
            _runtime: None,
        }
    }

    /// The Redis at `url` (a server of the test's own), under a key prefix of
    /// this test's own.
    pub fn redis_at(url: &str) -> Backend {
        Backend {
            name: "redis",
            env: vec![
                ("QUEUE_CONNECTION".into(), "redis".into()),
                ("REDIS_URL".into(), url.to_owned()),
                (
                    "REDIS_PREFIX".into(),
                    routemq_testkit::redis::unique_prefix(),
                ),
            ],
            _schema: None,
            _runtime: None,
        }
    }

    /// MariaDB/MySQL with a schema of this test's own, migrated with `routemq migrate`.
    pub fn mysql() -> Backend {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        let schema = runtime
            .block_on(MysqlSchema::create())
            .unwrap_or_else(|e| panic!("no MySQL/MariaDB for this test: {e}"));
        let backend = Backend {
            name: "database",
            env: vec![
                ("QUEUE_CONNECTION".into(), "database".into()),
                ("DATABASE_URL".into(), schema.url().to_owned()),
            ],
            _schema: Some(schema),
            _runtime: Some(runtime),
        };
        let out = backend.ok(&["migrate", "--json"]);
        assert!(!out["applied"].as_array().unwrap().is_empty(), "{out}");
        backend
    }

    /// `routemq ARGS` with only this backend's configuration.
    pub fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_cmd(args))
    }

    /// The same as a `std::process::Command`, to spawn and signal.
    pub fn std_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = clean_std_cmd();
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.args(args);
        cmd
    }

    /// The value this backend gives variable `name`, if any.
    pub fn var(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Runs `routemq ARGS`, asserts success, parses stdout as JSON.
    pub fn ok(&self, args: &[&str]) -> serde_json::Value {
        let out = self
            .cmd(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        json_of(&out, args)
    }

    /// `routemq work --queue QUEUE --concurrency N --json EXTRA…` in the
    /// background, its output captured.
    pub fn spawn_worker(&self, queue: &str, concurrency: u32, extra: &[&str]) -> Child {
        let n = concurrency.to_string();
        let mut args = vec!["work", "--queue", queue, "--concurrency", &n, "--json"];
        args.extend_from_slice(extra);
        self.std_cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Stops each worker with SIGTERM, asserts it exited cleanly, and returns
    /// the reports (`work --json`) they printed.
    pub fn stop_workers(&self, workers: Vec<Child>) -> Vec<serde_json::Value> {
        workers
            .into_iter()
            .map(|mut w| {
                terminate(&mut w);
                let out = w.wait_with_output().unwrap();
                assert!(out.status.success(), "{out:?}");
                serde_json::from_slice(&out.stdout).unwrap()
            })
            .collect()
    }

    /// The `stats --queue Q --json` row of `queue`.
    pub fn stats(&self, queue: &str) -> serde_json::Value {
        let all = self.ok(&["stats", "--queue", queue, "--json"]);
        all[0].clone()
    }

    /// Polls `stats` until `pred` holds (10 s at most).
    pub fn wait_stats(
        &self,
        queue: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.stats(queue);
            if pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "stats never matched: {s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Asks `child` to stop as SIGTERM does (a graceful worker shutdown).
pub fn terminate(child: &mut Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `routemq` with every configuration variable removed and no `.env` read.
pub fn clean_cmd() -> Command {
    Command::from_std(clean_std_cmd())
}

/// `routemq` with no configuration variable set, as a `std` command (to spawn
/// and signal it).
pub fn clean_std_cmd() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_routemq"));
    for var in config_vars() {
        cmd.env_remove(var);
    }
    // No `.env` is read unless a test writes one and points at it.
    cmd.env("ROUTEMQ_ENV_FILE", "/dev/null");
    cmd.current_dir(std::env::temp_dir());
    cmd
}

/// Asserts `out` succeeded and parses its stdout as JSON.
pub fn json_of(out: &Output, args: &[&str]) -> serde_json::Value {
    assert!(
        out.status.success(),
        "routemq {args:?} failed with {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "routemq {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A queue name unique to this call.
pub fn queue(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "cli-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}
