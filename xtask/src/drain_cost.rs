//! `cargo xtask drain-cost [--jobs N] [--redis-server PATH]`: the Redis
//! server's instructions per drained job, counted by callgrind. The count does
//! not move with the machine's other load, where wall-clock drain rates on a
//! shared machine swing by a factor of two (ARCHITECTURE.md, "A claim reads its
//! metadata from the bytes").
//!
//! It builds the Redis driver's `redis-throughput` example, starts `PATH`
//! (default: the testkit's server, `ROUTEMQ_TEST_REDIS_SERVER` or
//! `redis-server` on `PATH`) under `valgrind --tool=callgrind
//! --instr-atstart=no` on a free loopback port with nothing persisted, and runs
//! the example's drain alone (`ROUTEMQ_BENCH_ONLY=drain`: N jobs pushed, then
//! claimed and acknowledged by 32 claimers of 32) with
//! `ROUTEMQ_BENCH_CALLGRIND_PID`, which turns the server's counting on for the
//! drain only. Then it stops the server and prints the total over N (default
//! 5,000). The callgrind file is kept and its path printed, for
//! `callgrind_annotate`; a server built with symbols (the Redis 5.0 that
//! `.ci/provision/redis5.sh` builds) names Lua's own C functions in it.
//! valgrind is not installed by this command (Debian: `apt-get install
//! valgrind`).

use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use routemq_testkit::redis::{redis_server_binary, send_raw, wait_ready};

use crate::bench::release_build;
use crate::run;

/// Claimers and claim size of the measured drain (the example's defaults).
const CLAIMERS: &str = "32";
const CLAIM_SIZE: &str = "32";

/// How long a Redis server under valgrind may take to answer its first PING.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn drain_cost(args: &[String]) -> Result<()> {
    let (jobs, server) = parse_args(args)?;
    for tool in ["valgrind", "callgrind_control"] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("`{tool}` is not on PATH: install valgrind (Debian: apt-get install valgrind)");
        }
    }
    let version = Command::new(&server)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {server} --version"))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let example = release_build(
        &["-p", "routemq-redis", "--example", "redis-throughput"],
        "examples/redis-throughput",
    )?;

    let port = routemq_testkit::free_port().context("no free loopback port")?;
    let dir = std::env::temp_dir().join(format!("routemq-drain-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let log = std::fs::File::create(dir.join("valgrind.log"))?;
    let child = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--instr-atstart=no")
        .arg(format!(
            "--callgrind-out-file={}/callgrind.out.%p",
            dir.display()
        ))
        .arg(&server)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start valgrind {server}"))?;
    let mut server_proc = ServerUnderValgrind(child);
    let pid = server_proc.0.id();
    wait_ready(port, START_TIMEOUT).context("the Redis server under valgrind did not start")?;

    let mut drain = Command::new(&example);
    drain
        .arg(format!("redis://127.0.0.1:{port}"))
        .args([&jobs.to_string(), CLAIMERS, CLAIM_SIZE])
        .env("ROUTEMQ_BENCH_ONLY", "drain")
        .env("ROUTEMQ_BENCH_CALLGRIND_PID", pid.to_string());
    run(drain)?;
    // The server closes the connection as it stops (send_raw takes that as
    // an empty reply); a connect or write error means it did not get the
    // command, and returning it kills the server (ServerUnderValgrind).
    send_raw(port, b"SHUTDOWN NOSAVE\r\n", &[])
        .with_context(|| format!("cannot send SHUTDOWN to the Redis server on port {port}"))?;
    let status = server_proc.0.wait()?;
    if !status.success() {
        bail!(
            "valgrind {server} ended with {status} (see {}/valgrind.log)",
            dir.display()
        );
    }

    let out = dir.join(format!("callgrind.out.{pid}"));
    let text = std::fs::read_to_string(&out)
        .with_context(|| format!("no callgrind output at {}", out.display()))?;
    let total = totals(&text).with_context(|| format!("{} has no totals line", out.display()))?;
    println!(
        "drain cost: {} server instructions a drained job ({total} over {jobs} jobs, {CLAIMERS} claimers of {CLAIM_SIZE}; {version})",
        total / jobs
    );
    println!("callgrind output: {}", out.display());
    Ok(())
}

/// `--jobs N` (default 5,000) and `--redis-server PATH` (default: the
/// testkit's `redis_server_binary`, `ROUTEMQ_TEST_REDIS_SERVER` or
/// `redis-server`).
fn parse_args(args: &[String]) -> Result<(u64, String)> {
    let (mut jobs, mut server) = (5_000u64, redis_server_binary());
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next();
        match (flag.as_str(), value) {
            ("--jobs", Some(v)) => {
                jobs = v
                    .parse()
                    .with_context(|| format!("drain-cost: --jobs {v:?} is not a number"))?
            }
            ("--redis-server", Some(v)) => server = v.clone(),
            ("--jobs" | "--redis-server", None) => bail!("drain-cost: {flag} needs a value"),
            (other, _) => {
                bail!("drain-cost: unknown argument {other:?} (--jobs N, --redis-server PATH)")
            }
        }
    }
    if jobs == 0 {
        bail!("drain-cost: --jobs must be at least 1");
    }
    Ok((jobs, server))
}

/// The event count of a callgrind file's `totals:` line.
fn totals(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("totals:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The server under valgrind, killed if this command stops before shutting it
/// down.
struct ServerUnderValgrind(Child);

impl Drop for ServerUnderValgrind {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_and_bad_ones_named() {
        let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&[]).unwrap(), (5_000, redis_server_binary()));
        assert_eq!(
            parse_args(&strings(&["--redis-server", "/opt/r5", "--jobs", "200"])).unwrap(),
            (200, "/opt/r5".into())
        );
        let err = parse_args(&strings(&["--jobs", "many"])).unwrap_err();
        assert!(format!("{err:#}").contains("\"many\" is not a number"));
        assert!(parse_args(&strings(&["--jobs"])).is_err());
        assert!(parse_args(&strings(&["--jobs", "0"])).is_err());
        assert!(parse_args(&strings(&["--fast", "1"])).is_err());
    }

    #[test]
    fn the_totals_line_is_read() {
        let file = "events: Ir\nsummary: 0\n\nfn=(1) main\n3 4\ntotals: 465577184\n";
        assert_eq!(totals(file), Some(465_577_184));
        assert_eq!(totals("events: Ir\nsummary: 0\n"), None);
    }
}
