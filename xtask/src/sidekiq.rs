//! `cargo xtask compare-sidekiq [--rounds N] [--jobs N]`: the idle latency of
//! RouteMQ and of Sidekiq on the same machine and Redis, in alternating rounds,
//! so the two figures come from the same minutes (issue 16, part 5, compares
//! them).
//!
//! Each round first measures the floor (`latency_floor.rs`: a bare `BLPOP`
//! woken by a bare `RPUSH`, the same N sent 5 ms apart), then runs
//! `routemq bench --connection redis --latency-jobs N --json`
//! (its latency phase: jobs sent 5 ms apart to an idle worker of concurrency
//! 32, the wait from just before the push to the handler's start), then
//! `xtask/compare/sidekiq_latency.rb`, which measures Sidekiq the same way
//! with its default concurrency of 10 and the jobs sent from a process of
//! their own. Sidekiq comes from Debian's `ruby-sidekiq` package (6.4.1 on
//! bookworm, the version the issue names); it is not installed by this
//! command. Sidekiq runs on database 9 of the local Redis
//! (`COMPARE_SIDEKIQ_REDIS` names another), which must be empty and is
//! emptied after.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::bench::{bench_report, build_routemq, report_number};
use crate::latency_floor::latency_floor;
use crate::output_of;

/// Where Sidekiq runs unless `COMPARE_SIDEKIQ_REDIS` says otherwise.
const SIDEKIQ_REDIS: &str = "redis://127.0.0.1:6379/9";
/// Where RouteMQ (`routemq bench`) and the floor run unless `REDIS_URL` says
/// otherwise.
const ROUTEMQ_REDIS: &str = "redis://127.0.0.1:6379";
/// The pause between two jobs sent, as the bench's latency phase and the
/// Sidekiq script send them.
const EVERY: Duration = Duration::from_millis(5);

/// p50 and p99 of one run, in milliseconds.
pub(crate) type Waits = (f64, f64);

pub(crate) fn compare_sidekiq(args: &[String]) -> Result<()> {
    let (rounds, jobs) = parse_args(args)?;
    if Command::new("sidekiq").arg("--help").output().is_err() {
        bail!("`sidekiq` is not on PATH: install Debian's ruby-sidekiq (apt-get install ruby-sidekiq)");
    }
    let routemq = build_routemq()?;
    let sidekiq_redis =
        std::env::var("COMPARE_SIDEKIQ_REDIS").unwrap_or_else(|_| SIDEKIQ_REDIS.into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/compare/sidekiq_latency.rb");
    let routemq_redis = std::env::var("REDIS_URL").unwrap_or_else(|_| ROUTEMQ_REDIS.into());
    let mut table = Vec::new();
    for round in 1..=rounds {
        let floor = latency_floor(&routemq_redis, jobs, EVERY)?;
        let mut bench = Command::new(&routemq);
        bench.args(["bench", "--connection", "redis", "--jobs", "2000", "--json"]);
        bench.args(["--latency-jobs", &jobs.to_string()]);
        bench.env("REDIS_URL", &routemq_redis);
        let ours = routemq_waits(&output_of(bench)?)?;
        let mut ruby = Command::new("ruby");
        ruby.arg(script).arg(jobs.to_string()).arg("10");
        ruby.env("COMPARE_SIDEKIQ_REDIS", &sidekiq_redis);
        let theirs = sidekiq_waits(&output_of(ruby)?)?;
        eprintln!("xtask: round {round} of {rounds} done");
        table.push((round, floor, ours, theirs));
    }
    println!("idle latency, {jobs} jobs 5 ms apart (p50 / p99 ms)");
    println!("round  floor (BLPOP)    routemq          sidekiq 6.4");
    for (round, floor, ours, theirs) in table {
        println!(
            "{round:<6} {:.3} / {:.3}    {:.3} / {:.3}    {:.3} / {:.3}",
            floor.0, floor.1, ours.0, ours.1, theirs.0, theirs.1
        );
    }
    Ok(())
}

/// `--rounds N` (default 3) and `--jobs N` (default 1000).
fn parse_args(args: &[String]) -> Result<(usize, usize)> {
    let (mut rounds, mut jobs) = (3, 1_000);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let slot = match flag.as_str() {
            "--rounds" => &mut rounds,
            "--jobs" => &mut jobs,
            other => bail!("compare-sidekiq: unknown argument {other:?} (--rounds N, --jobs N)"),
        };
        let value = it
            .next()
            .with_context(|| format!("compare-sidekiq: {flag} needs a number"))?;
        *slot = value
            .parse()
            .with_context(|| format!("compare-sidekiq: {flag} {value:?} is not a number"))?;
    }
    if rounds == 0 || jobs == 0 {
        bail!("compare-sidekiq: --rounds and --jobs must be at least 1");
    }
    Ok((rounds, jobs))
}

/// The latency phase's p50 and p99 from `routemq bench --json`.
fn routemq_waits(json: &str) -> Result<Waits> {
    let report = bench_report(json)?;
    let ms = |key: &str| report_number(&report, key);
    Ok((ms("latency_p50_ms")?, ms("latency_p99_ms")?))
}

/// p50 and p99 from the Sidekiq script's last line, "p50_ms p99_ms count".
fn sidekiq_waits(stdout: &str) -> Result<Waits> {
    let line = stdout.lines().last().unwrap_or_default();
    let fields: Vec<f64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("the Sidekiq script printed {line:?}, not \"p50 p99 count\""))?;
    match fields.as_slice() {
        [p50, p99, _count] => Ok((*p50, *p99)),
        _ => bail!("the Sidekiq script printed {line:?}, not \"p50 p99 count\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read_and_bad_ones_named() {
        let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_args(&[]).unwrap(), (3, 1_000));
        assert_eq!(
            parse_args(&strings(&["--jobs", "200", "--rounds", "1"])).unwrap(),
            (1, 200)
        );
        let err = parse_args(&strings(&["--jobs", "many"])).unwrap_err();
        assert!(format!("{err:#}").contains("\"many\" is not a number"));
        assert!(parse_args(&strings(&["--fast"])).is_err());
        assert!(parse_args(&strings(&["--rounds", "0"])).is_err());
    }

    #[test]
    fn both_reports_are_read() {
        let json = r#"{"latency_p50_ms": 0.39, "latency_p99_ms": 0.688}"#;
        assert_eq!(routemq_waits(json).unwrap(), (0.39, 0.688));
        assert!(routemq_waits("{}").is_err());
        assert_eq!(sidekiq_waits("0.472 0.915 1000\n").unwrap(), (0.472, 0.915));
        assert!(sidekiq_waits("compare-sidekiq: boom").is_err());
    }
}
