//! Project automation, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! - `itest`: everything CI checks — `cargo fmt --check`, `cargo clippy
//!   --workspace --all-targets -D warnings`, `cargo doc` of every library with
//!   private items and `-D warnings`, every test in the workspace (with
//!   cargo-nextest when installed, else `cargo test`) on the machine's Redis and
//!   MariaDB, doc tests, the umbrella crate `routemq` with each feature set, then
//!   the driver suites again on Redis 5.0 and Oracle MySQL, each as a local
//!   process and through testcontainers, and the cluster-capable Redis suites on
//!   a local Redis Cluster (see `matrix.rs`), and a table of it all.
//! - `bench [memory|redis|redis-cluster|mysql] [--json] [--jobs N] [--concurrency
//!   N] [--queued N] ...`: builds the `routemq` binary in release mode and runs
//!   `routemq bench` (every flag is passed through). `redis-cluster` runs it on
//!   the Redis Cluster named by `REDIS_CLUSTER_NODES` when that is set, else on a
//!   local 3-master, 0-replica cluster of `redis-server` processes the testkit
//!   starts (`RedisCluster::start(3, 0)`), kept for the run and stopped after it;
//!   the nodes are printed and handed to `routemq bench` as
//!   `REDIS_CLUSTER_NODES`. See `bench.rs`.
//! - `soak [--minutes N] [--rate N] [--connection C]`: builds `routemq-soak` in
//!   release mode and runs it (steady load, a worker SIGKILLed every 30 s, every
//!   job accounted for).
//! - `depth [memory|redis|redis-cluster|mysql] [--queued N[,N...]] [--rounds
//!   R] [--jobs N] [--settle D]`: `routemq bench` at 10,000 queued jobs and at each depth
//!   asked for (default 1,000,000), alternating, R rounds (default 3); prints
//!   each depth's median bulk and drain rate against the 10,000 run's. See
//!   `depth.rs`.
//! - `compare-sidekiq [--rounds N] [--jobs N]`: the idle latency of `routemq
//!   bench` and of Sidekiq (Debian's `ruby-sidekiq`) in alternating rounds on
//!   the local Redis, beside the floor of a bare `BLPOP` woken by an `RPUSH`.
//!   See `sidekiq.rs` and `latency_floor.rs`.
//! - `drain-cost [--jobs N] [--redis-server PATH]`: the Redis server's
//!   instructions per drained job under callgrind (valgrind), a figure the
//!   machine's other load does not move. See `drain_cost.rs`.
//!
//! It drives cargo and depends on no workspace crate but one: `routemq-testkit`,
//! for the local Redis Cluster of `bench redis-cluster` (no driver, worker or
//! CLI comes with it; its own dependencies, testcontainers among them, do).

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{bail, Context, Result};

mod bench;
mod depth;
mod drain_cost;
mod latency_floor;
mod matrix;
mod probe;
mod sidekiq;
mod testrun;

use matrix::{Row, RowResult};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("itest") => itest(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("soak") => soak(&args[1..]),
        Some("compare-sidekiq") => sidekiq::compare_sidekiq(&args[1..]),
        Some("depth") => depth::depth(&args[1..]),
        Some("drain-cost") => drain_cost::drain_cost(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            print_help();
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!(
            "unknown xtask command {other:?}; run `cargo xtask help`"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    println!(
        "cargo xtask <command>\n\n\
         itest                      fmt check, clippy and private docs -D warnings, all tests (real Redis/MariaDB)\n\
         bench [CONN] [--json] ...  release build + `routemq bench --connection CONN` (memory|redis|mysql|redis-cluster)\n\
         soak [--minutes N] ...     release build + `routemq-soak soak` (steady load, worker killed every 30 s)\n\
         depth [CONN] [--queued N[,N...]] [--rounds R] [--jobs N] [--settle D]  bulk and drain at 10000 queued and deeper, alternating, medians compared\n\
         compare-sidekiq [--rounds N] [--jobs N]  idle latency of routemq and Sidekiq 6.4 (ruby-sidekiq), alternating, beside a bare BLPOP\n\
         drain-cost [--jobs N] [--redis-server PATH]  Redis server instructions per drained job (callgrind)\n"
    );
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub(crate) fn run(mut cmd: Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Runs `cmd`, its stderr shown; its stdout when it succeeds.
pub(crate) fn output_of(mut cmd: Command) -> Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {shown}"))?;
    if !out.status.success() {
        bail!("{shown} failed ({})", out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).ok())
        .is_some()
}

/// Points the testkit at the local Redis/MariaDB when they answer and nothing else
/// was configured; otherwise the testkit starts its own servers.
pub(crate) fn test_services_env(cmd: &mut Command) {
    for (var, addr, url) in [
        (
            "ROUTEMQ_TEST_REDIS_URL",
            "127.0.0.1:6379",
            "redis://127.0.0.1:6379",
        ),
        (
            "ROUTEMQ_TEST_MYSQL_URL",
            "127.0.0.1:3306",
            "mysql://root@127.0.0.1:3306/test",
        ),
    ] {
        match std::env::var(var) {
            Ok(v) => eprintln!("xtask: {var} is set ({})", redact(&v)),
            Err(_) if answers(addr) => {
                eprintln!("xtask: {var}={url} (a server answers there)");
                cmd.env(var, url);
            }
            Err(_) => eprintln!(
                "xtask: nothing answers on {addr} and {var} is unset: the testkit will start its own server"
            ),
        }
    }
}

/// Points the testkit's container tests at the local images of
/// `.ci/provision/docker.sh` when they exist and no image was chosen (no container
/// registry may be reachable).
fn local_images_env(cmd: &mut Command) {
    for (var, image) in [
        ("ROUTEMQ_TEST_REDIS_IMAGE", "routemq-local/redis:5.0"),
        ("ROUTEMQ_TEST_MYSQL_IMAGE", "routemq-local/mysql:9.7"),
    ] {
        if std::env::var_os(var).is_some() {
            continue;
        }
        let present = Command::new("docker")
            .args(["image", "inspect", image])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if present {
            eprintln!("xtask: {var}={image} (a local image)");
            cmd.env(var, image);
        }
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn itest(extra: &[String]) -> Result<()> {
    let root = std::env::current_dir().context("current directory")?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run(fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;

    // Private items too: a broken link in an internal doc is caught here, not
    // by the next reader. Libraries only (the CLI's binary and the umbrella
    // crate share the name `routemq`, and their doc pages would collide).
    let mut private_docs = cargo();
    private_docs
        .args([
            "doc",
            "--workspace",
            "--all-features",
            "--no-deps",
            "--document-private-items",
            "--lib",
        ])
        .env("RUSTDOCFLAGS", "-D warnings");
    run(private_docs)?;

    let mut rows = base_rows(extra)?;

    let mut doc = cargo();
    doc.args(["test", "--workspace", "--all-features", "--doc"]);
    test_services_env(&mut doc);
    let doc = testrun::run_counted(doc)?;
    rows.push(Row {
        server: "-".into(),
        version: "-".into(),
        how: "-".into(),
        suites: "doc tests".into(),
        result: RowResult::Ran(doc),
    });

    rows.push(umbrella_features()?);
    rows.extend(matrix::extra_rows(&root)?);

    matrix::print_table(&rows);
    let (mut passed, mut failed, mut bad) = (0, 0, Vec::new());
    for r in &rows {
        if let RowResult::Ran(o) = &r.result {
            passed += o.passed;
            failed += o.failed;
            if !o.success || o.failed > 0 {
                bad.push(format!("{} {} ({})", r.server, r.how, r.suites));
            }
        }
    }
    println!("itest: {passed} passed, {failed} failed");
    if !bad.is_empty() {
        bail!("failed: {}", bad.join("; "));
    }
    Ok(())
}

/// The workspace's own run, on the machine's services (or the testkit's own
/// servers when none answers), as two rows of the table.
fn base_rows(extra: &[String]) -> Result<Vec<Row>> {
    let report =
        std::env::temp_dir().join(format!("routemq-itest-{}-base.servers", std::process::id()));
    let _ = std::fs::remove_file(&report);
    let mut tests = cargo();
    if has_nextest() {
        tests.args([
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ]);
    } else {
        eprintln!("xtask: cargo-nextest not found, using cargo test");
        tests.args(["test", "--workspace", "--all-features", "--no-fail-fast"]);
    }
    tests.args(extra);
    tests.env("ROUTEMQ_TEST_SERVER_REPORT", &report);
    test_services_env(&mut tests);
    local_images_env(&mut tests);
    let redis_url = env_of(&tests, "ROUTEMQ_TEST_REDIS_URL");
    let mysql_url = env_of(&tests, "ROUTEMQ_TEST_MYSQL_URL");
    let outcome = testrun::run_counted(tests)?;
    let started = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = std::fs::remove_file(&report);
    let own = |kind: &str| {
        started
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .find(|(k, _)| *k == kind)
            .and_then(|(_, rest)| rest.split_once('\t'))
            .map(|(how, v)| (how.to_owned(), v.to_owned()))
    };
    let (redis_how, redis_version) = match redis_url.as_deref().and_then(host_port) {
        Some(addr) => (
            "machine service".to_owned(),
            probe::redis_version(&addr).unwrap_or_else(|| "?".into()),
        ),
        None => own("redis").unwrap_or(("testkit".into(), "?".into())),
    };
    let (mysql_how, mysql_version) = match mysql_url.as_deref().and_then(host_port) {
        Some(addr) => (
            "machine service".to_owned(),
            probe::mysql_version(&addr).unwrap_or_else(|| "?".into()),
        ),
        None => own("mysql").unwrap_or(("testkit".into(), "?".into())),
    };
    let mysql_name = if mysql_version.to_lowercase().contains("mariadb") {
        "MariaDB"
    } else {
        "MySQL/MariaDB"
    };
    Ok(vec![
        Row {
            server: "Redis".into(),
            version: redis_version,
            how: redis_how,
            suites: "whole workspace (one run for both rows)".into(),
            result: RowResult::Ran(outcome.clone()),
        },
        Row {
            server: mysql_name.into(),
            version: mysql_version,
            how: mysql_how,
            suites: "whole workspace (one run for both rows)".into(),
            result: RowResult::SameRunAsAbove,
        },
    ])
}

/// The value a command will see for `var`: set on it, else inherited.
fn env_of(cmd: &Command, var: &str) -> Option<String> {
    cmd.get_envs()
        .find(|(k, _)| *k == var)
        .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
        .or_else(|| std::env::var(var).ok())
        .filter(|v| !v.is_empty())
}

/// `host:port` of a `scheme://[user@]host:port/...` URL, resolved to an address.
fn host_port(url: &str) -> Option<String> {
    use std::net::ToSocketAddrs;
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let addr = hostport.to_socket_addrs().ok()?.next()?;
    Some(addr.to_string())
}

/// The umbrella crate `routemq` with each feature set a user may pick: checked,
/// and its tests (doc tests included) run.
fn umbrella_features() -> Result<Row> {
    let sets = [
        "",
        "redis",
        "mysql",
        "worker,redis",
        "msgpack",
        "outbox",
        "failed-mysql",
        "redis,mysql,worker,cli,tls,msgpack,outbox,failed-mysql",
    ];
    let mut total = testrun::Outcome {
        success: true,
        ..Default::default()
    };
    for features in sets {
        let mut test = cargo();
        test.args(["test", "-p", "routemq", "--no-default-features"]);
        if !features.is_empty() {
            test.args(["--features", features]);
        }
        let outcome = testrun::run_counted(test)?;
        total.add(&outcome);
    }
    Ok(Row {
        server: "-".into(),
        version: "-".into(),
        how: "-".into(),
        suites:
            "routemq umbrella: none, redis, mysql, worker+redis, msgpack, outbox, failed-mysql, all"
                .into(),
        result: RowResult::Ran(total),
    })
}

fn soak(args: &[String]) -> Result<()> {
    let soak = bench::release_build(&["-p", "routemq-soak"], "routemq-soak")?;
    let mut cmd = Command::new(soak);
    cmd.arg("soak").args(args);
    run(cmd)
}
