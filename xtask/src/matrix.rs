//! The server matrix of `cargo xtask itest`: after the workspace's own run (on
//! the machine's Redis and MariaDB), the driver suites run again against Redis 5.0
//! and Oracle MySQL, each as a local process and through testcontainers, the
//! Redis suites that can run on a cluster against a local Redis Cluster (3
//! masters + 3 replicas, `ROUTEMQ_TEST_REDIS=cluster`), and a table says what
//! ran where.
//!
//! The test binaries of the base run are reused (built once by
//! `cargo test --workspace --all-features --no-run`) and run directly, one process
//! per binary, so the servers the testkit starts are shared by a binary's tests
//! (nextest would start one per test).
//!
//! Where the servers come from (`.ci/provision/` makes them):
//! - Redis 5.0: `$ROUTEMQ_CACHE/redis-5.0.6/redis-server`
//!   (`.ci/provision/redis5.sh`), and the image `routemq-local/redis:5.0`
//!   (`.ci/provision/docker.sh`);
//! - Oracle MySQL: the sid root `$ROUTEMQ_CACHE/mysql-sid`
//!   (`.ci/provision/mysql-sid.sh`) run through
//!   `.ci/provision/mysql-sid-mysqld.sh`, and the image `routemq-local/mysql:9.7`;
//! - Redis Cluster: the testkit starts it from `redis-server` and `redis-cli`
//!   (`ROUTEMQ_TEST_REDIS_SERVER` / `ROUTEMQ_TEST_REDIS_CLI`, else on `PATH`).
//!
//! `ROUTEMQ_CACHE` defaults to `$HOME/.cache/routemq`; `ROUTEMQ_ITEST_REDIS_IMAGE`
//! and `ROUTEMQ_ITEST_MYSQL_IMAGE` replace the two images. A row whose server
//! cannot be had is shown as skipped, with why.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::testrun::{run_counted, Outcome};

/// One line of the table.
#[derive(Debug)]
pub struct Row {
    /// The server: "Redis", "MariaDB", "Oracle MySQL".
    pub server: String,
    /// Its version as the server reports it.
    pub version: String,
    /// "machine service", "local process", "testcontainers" or "local cluster,
    /// 3 masters + 3 replicas".
    pub how: String,
    /// What ran.
    pub suites: String,
    /// What happened: counts, or why the row was skipped.
    pub result: RowResult,
}

/// A row's result.
#[derive(Debug)]
pub enum RowResult {
    /// The tests ran.
    Ran(Outcome),
    /// The row could not run, and why.
    Skipped(String),
    /// Counted in the row above (one run served both servers).
    SameRunAsAbove,
}

/// A test binary built by the base run.
#[derive(Debug, Clone)]
struct TestBinary {
    package: String,
    target: String,
    executable: PathBuf,
    manifest_dir: PathBuf,
}

fn cache_dir() -> PathBuf {
    std::env::var_os("ROUTEMQ_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/routemq")
        })
}

/// The test binaries of `cargo test --workspace --all-features` (built here if
/// the base run has not), read from cargo's JSON messages.
fn test_binaries() -> Result<Vec<TestBinary>> {
    let out = crate::cargo()
        .args([
            "test",
            "--workspace",
            "--all-features",
            "--no-run",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("cargo test --no-run")?;
    if !out.status.success() {
        bail!("cargo test --no-run failed");
    }
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let (Some(exe), Some(target), Some(manifest)) = (
            msg["executable"].as_str(),
            msg["target"]["name"].as_str(),
            msg["manifest_path"].as_str(),
        ) else {
            continue;
        };
        let manifest_dir = Path::new(manifest)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let package = manifest_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        bins.push(TestBinary {
            package,
            target: target.to_owned(),
            executable: PathBuf::from(exe),
            manifest_dir,
        });
    }
    Ok(bins)
}

/// One extra run: which binaries, with which variables.
struct Extra {
    server: &'static str,
    /// How the server was started; it starts with the `how` of the testkit's
    /// report line (`local process`, `testcontainers`, `local cluster`).
    how: &'static str,
    suites: &'static str,
    /// `(package directory name, target name)`; a target ending in `*` is every
    /// test target whose name starts with what comes before it (`*` alone: every
    /// test target).
    binaries: &'static [(&'static str, &'static str)],
    /// Test names to skip (libtest `--skip`).
    skip: &'static [&'static str],
    env: Vec<(&'static str, String)>,
    /// The report line kind (`redis` or `mysql`).
    kind: &'static str,
    /// Why it cannot run, if it cannot.
    missing: Option<String>,
}

/// The suites that need both servers (Redis queues with a MySQL application
/// database): they run in the rows of either server, the other one being the
/// machine's.
const BRIDGE_BINARIES: [(&str, &str); 4] = [
    ("routemq-outbox", "*"),
    ("routemq-failed-mysql", "*"),
    ("routemq-cli", "outbox"),
    ("routemq-cli", "failed_database"),
];
const REDIS_BINARIES: &[(&str, &str)] = &[
    ("routemq-redis", "*"),
    ("routemq-cli", "redis"),
    ("routemq-cli", "redis_server"),
    BRIDGE_BINARIES[0],
    BRIDGE_BINARIES[1],
    BRIDGE_BINARIES[2],
    BRIDGE_BINARIES[3],
];
const MYSQL_BINARIES: &[(&str, &str)] = &[
    ("routemq-mysql", "*"),
    ("routemq-cli", "mysql"),
    BRIDGE_BINARIES[0],
    BRIDGE_BINARIES[1],
    BRIDGE_BINARIES[2],
    BRIDGE_BINARIES[3],
];
/// What Redis 5.0 lacks: TLS (6.0) and ACL users (6.0).
const REDIS5_SKIP: &[&str] = &["a_tls_connection_round_trips_a_job", "acl_user_auth_works"];
/// The Redis Cluster row: the driver's conformance suite and cluster tests, the
/// CLI's tests that take their Redis from `Backend::redis()` (the other
/// `routemq-redis` tests look at plain-mode keys, restart or configure their own
/// single server), and the e2e cluster tests (`tests/tests/redis_cluster*.rs`).
const CLUSTER_BINARIES: &[(&str, &str)] = &[
    ("routemq-redis", "conformance"),
    ("routemq-redis", "cluster"),
    ("routemq-cli", "redis"),
    ("routemq-cli", "encryption"),
    ("routemq-cli", "browser"),
    BRIDGE_BINARIES[2],
    BRIDGE_BINARIES[3],
    ("tests", "redis_cluster*"),
];
/// Tests of the Redis Cluster row's binaries left out. Every test of them that
/// uses Redis passes on a cluster; these do not use Redis at all.
const CLUSTER_SKIP: &[&str] = &[
    // The MySQL halves of the CLI's two-backend binaries: on the machine's
    // MariaDB, as in the base run.
    "mysql_encrypted_round_trip",
    "dashboard_in_chromium_on_mysql",
];

/// Checks that the Docker engine answers and has `image`.
fn docker_image(image: &str) -> Option<String> {
    let docker = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    };
    match docker(&["info"]) {
        Err(e) => return Some(format!("no docker command ({e})")),
        Ok(s) if !s.success() => return Some("no Docker engine answers".into()),
        Ok(_) => {}
    }
    match docker(&["image", "inspect", image]) {
        Ok(s) if s.success() => None,
        _ => Some(format!(
            "no image {image} (.ci/provision/docker.sh imports it)"
        )),
    }
}

fn extras(root: &Path) -> Vec<Extra> {
    let cache = cache_dir();
    let redis5 = cache.join("redis-5.0.6/redis-server");
    let redis5_missing = (!redis5.is_file()).then(|| {
        format!(
            "no {} (.ci/provision/redis5.sh builds it)",
            redis5.display()
        )
    });
    let mysqld = root.join(".ci/provision/mysql-sid-mysqld.sh");
    let sid = cache.join("mysql-sid/.routemq-complete");
    let mysql_missing = if !mysqld.is_file() {
        Some(format!("no {}", mysqld.display()))
    } else if !sid.is_file() {
        Some(format!(
            "no MySQL root at {} (.ci/provision/mysql-sid.sh builds it)",
            cache.join("mysql-sid").display()
        ))
    } else {
        None
    };
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let cluster_missing = cluster_tools_missing(|name| std::env::var(name).ok());
    let redis_image = var("ROUTEMQ_ITEST_REDIS_IMAGE", "routemq-local/redis:5.0");
    let mysql_image = var("ROUTEMQ_ITEST_MYSQL_IMAGE", "routemq-local/mysql:9.7");
    let redis5_path = redis5.display().to_string();
    let mysqld_path = mysqld.display().to_string();
    vec![
        Extra {
            server: "Redis",
            how: "local process",
            suites: "routemq-redis, routemq-cli redis tests, outbox and failed-store suites (not TLS, ACL)",
            binaries: REDIS_BINARIES,
            skip: REDIS5_SKIP,
            env: vec![
                ("ROUTEMQ_TEST_REDIS", "local".into()),
                ("ROUTEMQ_TEST_REDIS_SERVER", redis5_path.clone()),
            ],
            kind: "redis",
            missing: redis5_missing.clone(),
        },
        Extra {
            server: "Redis",
            how: "testcontainers",
            suites: "routemq-redis, routemq-cli redis tests, outbox and failed-store suites (not TLS, ACL)",
            binaries: REDIS_BINARIES,
            skip: REDIS5_SKIP,
            env: vec![
                ("ROUTEMQ_TEST_REDIS", "container".into()),
                ("ROUTEMQ_TEST_REDIS_IMAGE", redis_image.clone()),
                // Tests that restart their own server run this one.
                ("ROUTEMQ_TEST_REDIS_SERVER", redis5_path),
            ],
            kind: "redis",
            missing: docker_image(&redis_image).or(redis5_missing),
        },
        Extra {
            server: "Oracle MySQL",
            how: "local process",
            suites: "routemq-mysql, routemq-cli mysql tests, outbox and failed-store suites",
            binaries: MYSQL_BINARIES,
            skip: &[],
            env: vec![
                ("ROUTEMQ_TEST_MYSQL", "local".into()),
                ("ROUTEMQ_TEST_MYSQLD", mysqld_path.clone()),
            ],
            kind: "mysql",
            missing: mysql_missing.clone(),
        },
        Extra {
            server: "Oracle MySQL",
            how: "testcontainers",
            suites: "routemq-mysql, routemq-cli mysql tests, outbox and failed-store suites",
            binaries: MYSQL_BINARIES,
            skip: &[],
            env: vec![
                ("ROUTEMQ_TEST_MYSQL", "container".into()),
                ("ROUTEMQ_TEST_MYSQL_IMAGE", mysql_image.clone()),
                // Tests that restart their own server run this one.
                ("ROUTEMQ_TEST_MYSQLD", mysqld_path),
            ],
            kind: "mysql",
            missing: docker_image(&mysql_image).or(mysql_missing),
        },
        Extra {
            server: "Redis Cluster",
            how: "local cluster, 3 masters + 3 replicas",
            suites: "routemq-redis conformance and cluster, routemq-cli redis tests, outbox and failed-store CLI suites, e2e redis_cluster* tests",
            binaries: CLUSTER_BINARIES,
            skip: CLUSTER_SKIP,
            env: vec![("ROUTEMQ_TEST_REDIS", "cluster".into())],
            kind: "redis",
            missing: cluster_missing,
        },
    ]
}

/// Why the testkit cannot start a local Redis Cluster, if it cannot: it needs
/// `redis-server` (`ROUTEMQ_TEST_REDIS_SERVER`, else on PATH) and `redis-cli`
/// (`ROUTEMQ_TEST_REDIS_CLI`, else next to that `redis-server`, else on PATH),
/// as the testkit looks for them. `var` reads the environment.
fn cluster_tools_missing(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let path = var("PATH").unwrap_or_default();
    // A path as it is, a bare name looked up on PATH.
    let locate = |name: &str| {
        if name.contains('/') {
            Some(PathBuf::from(name)).filter(|p| p.is_file())
        } else {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        }
    };
    let named = |v: &str| var(v).filter(|s| !s.is_empty());
    let server = match named("ROUTEMQ_TEST_REDIS_SERVER") {
        Some(name) => match locate(&name) {
            Some(found) => found,
            None => return Some(format!("no {name} (ROUTEMQ_TEST_REDIS_SERVER)")),
        },
        None => match locate("redis-server") {
            Some(found) => found,
            None => return Some("no redis-server on PATH".into()),
        },
    };
    match named("ROUTEMQ_TEST_REDIS_CLI") {
        Some(name) => locate(&name)
            .is_none()
            .then(|| format!("no {name} (ROUTEMQ_TEST_REDIS_CLI)")),
        None => (!server.with_file_name("redis-cli").is_file() && locate("redis-cli").is_none())
            .then(|| format!("no redis-cli next to {} or on PATH", server.display())),
    }
}

/// Whether test target `name` is one of `pattern` (see [`Extra::binaries`]).
fn target_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(start) => name.starts_with(start),
        None => name == pattern,
    }
}

/// Runs the extra rows.
pub fn extra_rows(root: &Path) -> Result<Vec<Row>> {
    let extras = extras(root);
    let bins = if extras.iter().any(|e| e.missing.is_none()) {
        test_binaries()?
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    for (i, extra) in extras.into_iter().enumerate() {
        let row = |version: String, result| Row {
            server: extra.server.to_owned(),
            version,
            how: extra.how.to_owned(),
            suites: extra.suites.to_owned(),
            result,
        };
        if let Some(why) = &extra.missing {
            eprintln!("xtask: skipping {} ({}): {why}", extra.server, extra.how);
            rows.push(row("-".into(), RowResult::Skipped(why.clone())));
            continue;
        }
        let report =
            std::env::temp_dir().join(format!("routemq-itest-{}-{i}.servers", std::process::id()));
        let _ = std::fs::remove_file(&report);
        let mut total = Outcome {
            success: true,
            ..Outcome::default()
        };
        for &(package, target) in extra.binaries {
            let matching = bins
                .iter()
                .filter(|b| b.package == package && target_matches(target, &b.target));
            let mut any = false;
            for bin in matching {
                any = true;
                let mut cmd = Command::new(&bin.executable);
                cmd.current_dir(&bin.manifest_dir)
                    .env("CARGO_MANIFEST_DIR", &bin.manifest_dir)
                    .env("ROUTEMQ_TEST_SERVER_REPORT", &report);
                // The server of this row comes from the row's settings; the
                // other one (for the suites that need both) is the machine's.
                crate::test_services_env(&mut cmd);
                cmd.env_remove(if extra.kind == "redis" {
                    "ROUTEMQ_TEST_REDIS_URL"
                } else {
                    "ROUTEMQ_TEST_MYSQL_URL"
                });
                for (k, v) in &extra.env {
                    cmd.env(k, v);
                }
                for s in extra.skip {
                    cmd.args(["--skip", s]);
                }
                let outcome = run_counted(cmd)?;
                total.add(&outcome);
            }
            if !any {
                bail!("no test binary {package}/{target} was built");
            }
        }
        let version = std::fs::read_to_string(&report)
            .ok()
            .and_then(|text| {
                text.lines()
                    .filter_map(|l| {
                        let mut f = l.split('\t');
                        Some((f.next()?, f.next()?, f.next()?))
                    })
                    .find(|(kind, how, _)| *kind == extra.kind && extra.how.starts_with(how))
                    .map(|(_, _, v)| v.to_owned())
            })
            .unwrap_or_else(|| "? (no shared server was started)".into());
        let _ = std::fs::remove_file(&report);
        rows.push(row(version, RowResult::Ran(total)));
    }
    Ok(rows)
}

/// Prints the table.
pub fn print_table(rows: &[Row]) {
    let header = ["server", "version", "started as", "suites", "tests"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            let result = match &r.result {
                RowResult::Ran(o) => format!(
                    "{} passed, {} failed{} ({:.0} s)",
                    o.passed,
                    o.failed,
                    if o.success { "" } else { ", exit status not 0" },
                    o.elapsed.as_secs_f64()
                ),
                RowResult::Skipped(why) => format!("skipped: {why}"),
                RowResult::SameRunAsAbove => "(the same run as the row above)".to_owned(),
            };
            [
                r.server.clone(),
                r.version.clone(),
                r.how.clone(),
                r.suites.clone(),
                result,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let padded: Vec<String> = cols
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!();
    println!("{}", line(&header.map(String::from)));
    println!("|-{}-|", rule.join("-|-"));
    for row in &cells {
        println!("{}", line(row));
    }
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_without_their_servers_are_skipped_saying_why() {
        let empty = std::env::temp_dir().join(format!("routemq-no-cache-{}", std::process::id()));
        // Only this test reads or writes these variables in this process.
        std::env::set_var("ROUTEMQ_CACHE", &empty);
        std::env::set_var("ROUTEMQ_TEST_REDIS_SERVER", empty.join("redis-server"));
        let rows = extras(Path::new("/nonexistent-checkout"));
        std::env::remove_var("ROUTEMQ_CACHE");
        std::env::remove_var("ROUTEMQ_TEST_REDIS_SERVER");
        assert_eq!(rows.len(), 5);
        for row in rows {
            let why = row.missing.unwrap_or_default();
            assert!(
                why.starts_with("no "),
                "{} {}: {why:?}",
                row.server,
                row.how
            );
        }
    }

    #[test]
    fn targets_match_by_name_or_by_start() {
        assert!(target_matches("*", "conformance"));
        assert!(target_matches("redis", "redis"));
        assert!(!target_matches("redis", "redis_server"), "a name is exact");
        assert!(target_matches(
            "redis_cluster*",
            "redis_cluster_exactly_once"
        ));
        assert!(target_matches("redis_cluster*", "redis_cluster"));
        assert!(!target_matches("redis_cluster*", "redis"));
    }

    #[test]
    fn the_cluster_row_needs_redis_server_and_redis_cli() {
        let dir =
            std::env::temp_dir().join(format!("routemq-cluster-tools-{}", std::process::id()));
        let elsewhere = dir.join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let (dir_text, server) = (dir.display().to_string(), dir.join("redis-server"));
        std::fs::write(&server, "").unwrap();
        // PATH and the two variables, as given.
        let env = |path: &str, server: Option<String>, cli: Option<&str>| {
            let (path, cli) = (path.to_owned(), cli.map(str::to_owned));
            move |name: &str| match name {
                "PATH" => Some(path.clone()),
                "ROUTEMQ_TEST_REDIS_SERVER" => server.clone(),
                "ROUTEMQ_TEST_REDIS_CLI" => cli.clone(),
                _ => None,
            }
        };
        assert_eq!(
            cluster_tools_missing(env("/nonexistent", None, None)),
            Some("no redis-server on PATH".into())
        );
        assert_eq!(
            cluster_tools_missing(env(&dir_text, None, None)),
            Some(format!(
                "no redis-cli next to {} or on PATH",
                server.display()
            )),
            "redis-server alone is not enough"
        );
        assert_eq!(
            cluster_tools_missing(env(&dir_text, None, Some("/nonexistent/redis-cli"))),
            Some("no /nonexistent/redis-cli (ROUTEMQ_TEST_REDIS_CLI)".into())
        );
        std::fs::write(dir.join("redis-cli"), "").unwrap();
        assert_eq!(cluster_tools_missing(env(&dir_text, None, None)), None);
        // Named by the variable, off PATH: redis-cli is found next to it.
        let named = Some(server.display().to_string());
        assert_eq!(
            cluster_tools_missing(env("/nonexistent", named, None)),
            None
        );
        let moved = Some(elsewhere.join("redis-server").display().to_string());
        let err = cluster_tools_missing(env(&dir_text, moved, None)).unwrap_or_default();
        assert!(err.ends_with("(ROUTEMQ_TEST_REDIS_SERVER)"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
