//! Redis for tests: each test gets its own key prefix on a real server.
//!
//! Found in this order:
//! 1. `ROUTEMQ_TEST_REDIS_URL` (`cargo xtask itest` sets it when the local Redis
//!    answers): a shared server, isolated by a unique key prefix per test;
//! 2. a `redis-server` the testkit starts on a free port (shared by the tests of
//!    one process, killed by a watchdog once that process exits); the binary is
//!    `ROUTEMQ_TEST_REDIS_SERVER` when set, else `redis-server` on PATH;
//! 3. a container of `ROUTEMQ_TEST_REDIS_IMAGE` (default [`DEFAULT_REDIS_IMAGE`])
//!    started through testcontainers, on the host network, when a Docker engine
//!    answers.
//!
//! `ROUTEMQ_TEST_REDIS` picks one source instead of the order above: `container`
//! (testcontainers only), `local` (the testkit's `redis-server` only), `url`
//! (`ROUTEMQ_TEST_REDIS_URL` only) or `cluster` (a local Redis Cluster, below).
//! `cargo xtask itest` uses it to run the suites once per kind of server.
//!
//! Otherwise [`redis`] panics with a message saying how to provide Redis; it never
//! skips. Tests that restart the server use [`RedisServer`] directly.
//!
//! # Redis Cluster
//! With `ROUTEMQ_TEST_REDIS=cluster`, [`redis`] gives a 3-master/3-replica
//! [`RedisCluster`] of local `redis-server` processes, started once per test
//! process (like the local server; killed by a watchdog once that process exits):
//! [`RedisTarget::url`] is a master's, [`RedisTarget::cluster_nodes`] lists every
//! node (`127.0.0.1:P1,127.0.0.1:P2,...`, the form of `REDIS_CLUSTER_NODES`).
//! [`redis_cluster`] gives that shared cluster whatever `ROUTEMQ_TEST_REDIS` says.
//! The cluster is created with `redis-cli --cluster create`: `redis-cli` is
//! `ROUTEMQ_TEST_REDIS_CLI` when set, else the one next to the `redis-server`
//! binary, else the one on PATH. Tests that kill nodes, fail masters over or must
//! own the whole cluster start their own [`RedisCluster`]; moving a slot of the
//! shared one ([`RedisCluster::migrate_slot`]) is fine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::redis_cluster::{
    redis_cli_binary, RedisCluster, SlotMigration, CLUSTER_SLOTS, REDIS_CLI_VAR,
};
pub use crate::redis_server::{
    redis_image, redis_server_binary, send_raw, wait_ready, RedisContainer, RedisServer,
    RedisServerError, DEFAULT_REDIS_IMAGE,
};

/// The variable that picks one kind of Redis: `container`, `local`, `url` or
/// `cluster`.
pub const REDIS_SOURCE_VAR: &str = "ROUTEMQ_TEST_REDIS";

/// Where a test's Redis is and which key prefix is its own.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    /// Connection URL.
    pub url: String,
    /// A key prefix no other test uses (give it to the driver's config).
    pub prefix: String,
    /// Where the server came from: `env`, `redis-server`, `testcontainers` or
    /// `redis-cluster`.
    pub source: &'static str,
    /// For a Redis Cluster, every node as `host:port,host:port,...` (the form of
    /// `REDIS_CLUSTER_NODES`); `None` for a single server.
    pub cluster_nodes: Option<String>,
    _keep: Option<Arc<Keep>>,
}

impl RedisTarget {
    /// The cluster behind this target, when it is the testkit's local Redis
    /// Cluster (to find slot owners, move slots, ...).
    pub fn cluster(&self) -> Option<&RedisCluster> {
        match self._keep.as_deref() {
            Some(Keep::Cluster(c)) => Some(c),
            _ => None,
        }
    }
}

#[derive(Debug)]
enum Keep {
    Server(RedisServer),
    Container(RedisContainer),
    Cluster(RedisCluster),
}

static SHARED: Mutex<Option<Arc<Keep>>> = Mutex::new(None);
static SHARED_CLUSTER: Mutex<Option<Arc<Keep>>> = Mutex::new(None);

/// A fresh key prefix: `rmqtest:{pid}:{time}:{n}`.
pub fn unique_prefix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "rmqtest:{}:{nanos:x}:{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A Redis for one test, with a unique key prefix. Panics with instructions when
/// no Redis can be found or started.
pub fn redis() -> RedisTarget {
    match try_redis() {
        Ok(t) => t,
        Err(why) => panic!(
            "no Redis for this test: {why}.\n\
             Provide one: set ROUTEMQ_TEST_REDIS_URL=redis://127.0.0.1:6379 (a running Redis 5+), \
             or install redis-server on PATH (apt-get install redis-server), \
             or run a Docker engine (the testkit then starts {}); \
             {REDIS_SOURCE_VAR}=container|local|url|cluster picks one of these.",
            redis_image()
        ),
    }
}

/// The Redis Cluster shared by the tests of this process (3 masters, 3 replicas;
/// see the module docs), with a unique key prefix, whatever `ROUTEMQ_TEST_REDIS`
/// says. Panics with instructions when it cannot be started.
pub fn redis_cluster() -> RedisTarget {
    match shared_cluster() {
        Ok(t) => t,
        Err(why) => panic!(
            "no Redis Cluster for this test: {why}.\n\
             Provide one: install redis-server and redis-cli 5+ on PATH \
             (apt-get install redis-server), or point ROUTEMQ_TEST_REDIS_SERVER (and \
             {REDIS_CLI_VAR}, when redis-cli is not next to it) at them; the testkit \
             then starts a 3-master/3-replica cluster on 127.0.0.1."
        ),
    }
}

/// The shared cluster, started on first use.
fn shared_cluster() -> Result<RedisTarget, String> {
    let mut shared = SHARED_CLUSTER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(keep) = shared.as_ref() {
        return Ok(target(keep.clone()));
    }
    let cluster = RedisCluster::start(3, 1).map_err(|e| format!("local Redis Cluster: {e}"))?;
    let keep = Arc::new(Keep::Cluster(cluster));
    report(&keep);
    *shared = Some(keep.clone());
    Ok(target(keep))
}

/// Like [`redis`], returning why none could be provided instead of panicking.
pub fn try_redis() -> Result<RedisTarget, String> {
    let only = std::env::var(REDIS_SOURCE_VAR).unwrap_or_default();
    let (use_url, use_local, use_container) = match only.as_str() {
        "" | "auto" => (true, true, true),
        "url" => (true, false, false),
        "local" => (false, true, false),
        "container" => (false, false, true),
        "cluster" => return shared_cluster(),
        other => {
            return Err(format!(
                "{REDIS_SOURCE_VAR}={other:?}: expected container, local, url, cluster or auto"
            ))
        }
    };
    let url = std::env::var("ROUTEMQ_TEST_REDIS_URL").unwrap_or_default();
    if use_url && !url.is_empty() {
        return Ok(RedisTarget {
            url,
            prefix: unique_prefix(),
            source: "env",
            cluster_nodes: None,
            _keep: None,
        });
    }
    let mut tried = Vec::new();
    if use_url {
        tried.push("ROUTEMQ_TEST_REDIS_URL is not set".to_owned());
    }
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(keep) = shared.as_ref() {
        return Ok(target(keep.clone()));
    }
    if use_local {
        match RedisServer::start_new() {
            Ok(server) => {
                let keep = Arc::new(Keep::Server(server));
                report(&keep);
                *shared = Some(keep.clone());
                return Ok(target(keep));
            }
            Err(e) => tried.push(e.to_string()),
        }
    }
    if use_container {
        match RedisContainer::start_default() {
            Ok(c) => {
                let keep = Arc::new(Keep::Container(c));
                report(&keep);
                *shared = Some(keep.clone());
                return Ok(target(keep));
            }
            Err(e) => tried.push(format!("testcontainers: {e}")),
        }
    }
    Err(tried.join("; "))
}

/// Tells the report file (see [`crate::SERVER_REPORT_VAR`]) about a shared server,
/// with the version its `INFO server` gives.
fn report(keep: &Keep) {
    let (port, how) = match keep {
        Keep::Server(s) => (s.port(), "local process"),
        Keep::Container(c) => (c.port(), "testcontainers"),
        Keep::Cluster(c) => (cluster_port(c), "local cluster"),
    };
    let info = crate::redis_server::send_raw(port, b"INFO server\r\n", &[]).unwrap_or_default();
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("unknown");
    crate::report::server_started("redis", how, version);
}

/// The port of the cluster's first master (the owner of slot 0), or of its first
/// node when none answers.
fn cluster_port(cluster: &RedisCluster) -> u16 {
    cluster
        .try_masters()
        .ok()
        .and_then(|m| m.into_iter().next())
        .or_else(|| cluster.nodes().into_iter().next())
        .and_then(|a| a.rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
        .unwrap_or(0)
}

fn target(keep: Arc<Keep>) -> RedisTarget {
    let (url, source, cluster_nodes) = match &*keep {
        Keep::Server(s) => (s.url(), "redis-server", None),
        Keep::Container(c) => (c.url(), "testcontainers", None),
        Keep::Cluster(c) => (
            format!("redis://127.0.0.1:{}", cluster_port(c)),
            "redis-cluster",
            Some(c.nodes_env()),
        ),
    };
    RedisTarget {
        url,
        prefix: unique_prefix(),
        source,
        cluster_nodes,
        _keep: Some(keep),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_unique() {
        let a = unique_prefix();
        let b = unique_prefix();
        assert_ne!(a, b);
        assert!(a.starts_with("rmqtest:"));
    }

    #[test]
    fn own_server_starts_answers_and_restarts() {
        let server =
            RedisServer::start_new().expect("redis-server must be installed for this test");
        crate::redis_server::wait_ready(server.port(), std::time::Duration::from_secs(1)).unwrap();
        server.stop();
        assert!(
            crate::redis_server::wait_ready(server.port(), std::time::Duration::from_millis(200))
                .is_err(),
            "stopped server still answers"
        );
        server.start().unwrap();
        crate::redis_server::wait_ready(server.port(), std::time::Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn a_container_answers_on_loopback_and_goes_away_when_dropped() {
        if let Err(why) = crate::docker_engine() {
            eprintln!("container path not tested: {why}");
            return;
        }
        let c = RedisContainer::start_default().expect("a Redis container");
        let info = crate::redis_server::send_raw(c.port(), b"INFO server\r\n", &[]).unwrap();
        assert!(info.contains("redis_version:"), "{info}");
        let port = c.port();
        drop(c);
        assert!(
            crate::redis_server::wait_ready(port, std::time::Duration::from_millis(300)).is_err(),
            "the container still answers after its handle dropped"
        );
    }
}
