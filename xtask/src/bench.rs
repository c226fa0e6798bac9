//! `cargo xtask bench [memory|redis|redis-cluster|mysql] [flags]`: builds the
//! release `routemq` binary and runs `routemq bench` with the flags as given.
//!
//! `redis-cluster` is `--connection redis` on a Redis Cluster: the one named by
//! `REDIS_CLUSTER_NODES` when that is set (the child inherits it; the Redis
//! driver reads it through `RedisConfig::from_lookup`), else a local
//! 3-master, 0-replica cluster of `redis-server` processes started by
//! `routemq_testkit::redis::RedisCluster::start(3, 0)` (`ROUTEMQ_TEST_REDIS_SERVER`
//! and `ROUTEMQ_TEST_REDIS_CLI` pick the binaries), whose nodes are printed and
//! set as `REDIS_CLUSTER_NODES` for the child. It is kept for the run and
//! stopped when this returns.

use std::process::Command;

use anyhow::{anyhow, Context, Result};
use routemq_testkit::redis::RedisCluster;

use crate::{answers, cargo, run};

/// The variable naming a Redis Cluster's seed nodes (read by the Redis driver).
const CLUSTER_NODES_VAR: &str = "REDIS_CLUSTER_NODES";

/// Which store the benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Memory,
    Redis,
    RedisCluster,
    Database,
}

impl Target {
    fn parse(arg: &str) -> Option<Self> {
        Some(match arg {
            "memory" => Target::Memory,
            "redis" => Target::Redis,
            "redis-cluster" => Target::RedisCluster,
            "mysql" | "database" => Target::Database,
            _ => return None,
        })
    }

    /// `routemq --connection` for this target.
    fn connection(self) -> &'static str {
        match self {
            Target::Memory => "memory",
            Target::Redis | Target::RedisCluster => "redis",
            Target::Database => "database",
        }
    }
}

/// The target (the first argument naming one) and every other argument, in order.
pub(crate) fn split_args(args: &[String]) -> (Option<Target>, Vec<String>) {
    let mut target = None;
    let mut rest = Vec::new();
    for a in args {
        match Target::parse(a) {
            Some(t) if target.is_none() => target = Some(t),
            _ => rest.push(a.clone()),
        }
    }
    (target, rest)
}

/// Builds the release `routemq` binary; returns its path.
pub(crate) fn build_routemq() -> Result<String> {
    release_build(&["-p", "routemq-cli", "--bin", "routemq"], "routemq")
}

/// Runs `cargo build --release` with `what` (a package and its target);
/// returns the path of `artifact` under the release directory.
pub(crate) fn release_build(what: &[&str], artifact: &str) -> Result<String> {
    let mut build = cargo();
    build.args(["build", "--release"]).args(what);
    run(build)?;
    let target_dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    Ok(format!("{target_dir}/release/{artifact}"))
}

pub(crate) fn bench(args: &[String]) -> Result<()> {
    let (target, rest) = split_args(args);
    let routemq = build_routemq()?;
    // Kept until the run ends: a cluster started here lives as long.
    let on = BenchOn::target(target)?;
    let mut cmd = on.command(&routemq);
    cmd.args(rest);
    run(cmd)
}

/// Where `routemq bench` runs: its `--connection`, the variables that point
/// it at the store, and a local Redis Cluster started for the runs (stopped
/// when this is dropped).
pub(crate) struct BenchOn {
    connection: Option<&'static str>,
    env: Vec<(&'static str, String)>,
    _cluster: Option<RedisCluster>,
}

impl BenchOn {
    /// Sets up `target` (none: the configured connection, as given):
    /// `DATABASE_URL` for the local MariaDB when the database target has no
    /// store configured and one answers on 127.0.0.1:3306, a Redis Cluster
    /// for `redis-cluster` (see the module docs).
    pub(crate) fn target(target: Option<Target>) -> Result<Self> {
        let mut env = Vec::new();
        let unset = |v: &str| std::env::var_os(v).is_none();
        if target == Some(Target::Database)
            && unset("DATABASE_URL")
            && unset("DB_NAME")
            && answers("127.0.0.1:3306")
        {
            eprintln!(
                "xtask: DATABASE_URL=mysql://root@127.0.0.1:3306/test (a server answers there)"
            );
            env.push((
                "DATABASE_URL",
                "mysql://root@127.0.0.1:3306/test".to_owned(),
            ));
        }
        let cluster = match target {
            Some(Target::RedisCluster) => local_cluster()?,
            _ => None,
        };
        if let Some(cluster) = &cluster {
            env.push((CLUSTER_NODES_VAR, cluster.nodes_env()));
        }
        Ok(BenchOn {
            connection: target.map(Target::connection),
            env,
            _cluster: cluster,
        })
    }

    /// `routemq bench` (at `routemq`) on this target; the caller adds flags.
    pub(crate) fn command(&self, routemq: &str) -> Command {
        let mut cmd = Command::new(routemq);
        cmd.arg("bench");
        if let Some(connection) = self.connection {
            cmd.args(["--connection", connection]);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// The report `routemq bench --json` printed.
pub(crate) fn bench_report(json: &str) -> Result<serde_json::Value> {
    serde_json::from_str(json).context("routemq bench --json printed no JSON report")
}

/// The number under `key` in a [`bench_report`].
pub(crate) fn report_number(report: &serde_json::Value, key: &str) -> Result<f64> {
    report[key]
        .as_f64()
        .with_context(|| format!("routemq bench's report has no number {key:?}"))
}

/// A local Redis Cluster started now, unless `REDIS_CLUSTER_NODES` names one
/// (which the child then inherits).
fn local_cluster() -> Result<Option<RedisCluster>> {
    if let Some(nodes) = std::env::var(CLUSTER_NODES_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        eprintln!("xtask: {CLUSTER_NODES_VAR}={nodes} is set: benchmarking that cluster");
        return Ok(None);
    }
    eprintln!("xtask: {CLUSTER_NODES_VAR} is unset: starting a local Redis Cluster (3 masters, no replicas)");
    let cluster = RedisCluster::start(3, 0)
        .map_err(|e| anyhow!("cannot start a local Redis Cluster: {e}"))?;
    eprintln!(
        "xtask: {CLUSTER_NODES_VAR}={} (the local cluster, stopped after the run)",
        cluster.nodes_env()
    );
    Ok(Some(cluster))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_target_is_taken_and_every_flag_passed_through() {
        let (target, rest) = split_args(&strings(&["redis-cluster", "--queued", "500", "--json"]));
        assert_eq!(target, Some(Target::RedisCluster));
        assert_eq!(rest, strings(&["--queued", "500", "--json"]));
        assert_eq!(Target::RedisCluster.connection(), "redis");
        let (target, rest) = split_args(&strings(&["--jobs", "10", "mysql", "redis"]));
        assert_eq!(target, Some(Target::Database));
        assert_eq!(rest, strings(&["--jobs", "10", "redis"]));
        assert_eq!(split_args(&[]), (None, Vec::new()));
    }
}
