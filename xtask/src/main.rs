//! Project automation, run as `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! - `itest`: everything CI checks — `cargo fmt --check`, `cargo clippy
//!   --workspace --all-targets -D warnings`, every test in the workspace (with
//!   cargo-nextest when installed, else `cargo test`), doc tests.
//! - `bench [memory|redis|mysql] [--json] [--jobs N] [--concurrency N]`: builds the
//!   `routemq` binary in release mode and runs `routemq bench`.
//! - `soak [--minutes N] [--rate N] [--connection C]`: builds `routemq-soak` in
//!   release mode and runs it (steady load, a worker SIGKILLed every 30 s, every
//!   job accounted for).
//!
//! It must not depend on any workspace crate: it drives cargo, nothing more.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{bail, Context, Result};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("itest") => itest(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("soak") => soak(&args[1..]),
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
         itest                      fmt check, clippy -D warnings, all tests (real Redis/MariaDB)\n\
         bench [CONN] [--json] ...  release build + `routemq bench --connection CONN` (memory|redis|mysql)\n\
         soak [--minutes N] ...     release build + `routemq-soak soak` (steady load, worker killed every 30 s)\n"
    );
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut cmd: Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).ok())
        .is_some()
}

/// Points the testkit at the local Redis/MariaDB when they answer and nothing else
/// was configured; otherwise the testkit starts its own servers.
fn test_services_env(cmd: &mut Command) {
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
            Ok(v) => eprintln!("xtask: {var} is set ({})", routemq_core::redact_url(&v)),
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

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn itest(extra: &[String]) -> Result<()> {
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
    test_services_env(&mut tests);
    run(tests)?;

    let mut doc = cargo();
    doc.args(["test", "--workspace", "--all-features", "--doc"]);
    test_services_env(&mut doc);
    run(doc)
}

fn bench(args: &[String]) -> Result<()> {
    let mut rest: Vec<String> = Vec::new();
    let mut connection = None;
    for a in args {
        match a.as_str() {
            "memory" | "redis" | "mysql" | "database" if connection.is_none() => {
                connection = Some(if a == "mysql" { "database" } else { a.as_str() })
            }
            _ => rest.push(a.clone()),
        }
    }
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "routemq-cli",
        "--bin",
        "routemq",
    ]);
    run(build)?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let mut cmd = Command::new(format!("{target}/release/routemq"));
    cmd.arg("bench");
    if let Some(c) = connection {
        cmd.args(["--connection", c]);
    }
    let unset = |v: &str| std::env::var_os(v).is_none();
    if connection == Some("database")
        && unset("DATABASE_URL")
        && unset("DB_NAME")
        && answers("127.0.0.1:3306")
    {
        eprintln!("xtask: DATABASE_URL=mysql://root@127.0.0.1:3306/test (a server answers there)");
        cmd.env("DATABASE_URL", "mysql://root@127.0.0.1:3306/test");
    }
    cmd.args(rest);
    run(cmd)
}

fn soak(args: &[String]) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "routemq-soak"]);
    run(build)?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let mut cmd = Command::new(format!("{target}/release/routemq-soak"));
    cmd.arg("soak").args(args);
    run(cmd)
}
