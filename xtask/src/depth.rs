//! `cargo xtask depth [memory|redis|redis-cluster|mysql] [--queued N[,N...]]
//! [--rounds R] [--jobs N]`: whether the bulk enqueue and the drain keep their
//! rate as the queue grows (issue 16, part 2).
//!
//! It builds the release `routemq` binary once, then runs `routemq bench
//! --queued D --jobs N --json` for D = 10,000 and each depth asked for
//! (default 1,000,000), the depths in turn, R rounds (default 3). One reading
//! of each swings here by more than the 10 % the issue allows, between minutes
//! more than between depths, so the depths alternate within a round and the
//! table compares medians: each depth's median bulk and drain rate against
//! the 10,000 run's, with the store's bytes per queued job beyond its
//! payload and the bench process's resident memory after its drain. The
//! target works as in `cargo xtask bench` (`bench.rs`); the latency phase is
//! cut to 100 jobs, which the table does not show. `--settle 30s` is passed
//! on to every run: a pause between the fill and the measured phases.

use anyhow::{bail, Context, Result};

use crate::bench::{bench_report, build_routemq, report_number, split_args, BenchOn};
use crate::output_of;

/// The depth every other is compared with.
const BASE: u64 = 10_000;
/// What the issue allows a deep run's median to fall below the base's.
const ALLOWED_DROP: f64 = 0.10;

/// What the flags ask for.
#[derive(Debug, PartialEq)]
struct Plan {
    /// Depths besides [`BASE`], in the order run.
    queued: Vec<u64>,
    rounds: usize,
    /// `--jobs` for `routemq bench` (its own default when `None`).
    jobs: Option<u64>,
    /// `--settle` for `routemq bench`, as given (a pause after the fill).
    settle: Option<String>,
}

/// One `routemq bench` run's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    bulk: f64,
    drain: f64,
    /// The store's bytes per queued job beyond its payload, when the driver
    /// can tell.
    store_bytes: Option<f64>,
    /// The bench process's resident memory after the drain, in bytes.
    rss_after_drain: Option<f64>,
}

pub(crate) fn depth(args: &[String]) -> Result<()> {
    let (target, rest) = split_args(args);
    let plan = parse_args(&rest)?;
    let routemq = build_routemq()?;
    let on = BenchOn::target(target)?;
    let depths: Vec<u64> = std::iter::once(BASE)
        .chain(plan.queued.iter().copied())
        .collect();
    let mut readings: Vec<Vec<Reading>> = vec![Vec::new(); depths.len()];
    for round in 1..=plan.rounds {
        for (at, &queued) in depths.iter().enumerate() {
            let mut bench = on.command(&routemq);
            bench.args([
                "--queued",
                &queued.to_string(),
                "--latency-jobs",
                "100",
                "--json",
            ]);
            if let Some(jobs) = plan.jobs {
                bench.args(["--jobs", &jobs.to_string()]);
            }
            if let Some(settle) = &plan.settle {
                bench.args(["--settle", settle]);
            }
            let reading = read_report(&output_of(bench)?)?;
            eprintln!(
                "xtask: round {round} of {}, {queued} queued: bulk {:.0}/s, drain {:.0}/s",
                plan.rounds, reading.bulk, reading.drain
            );
            readings[at].push(reading);
        }
    }
    print!("{}", table(&depths, &readings));
    Ok(())
}

/// `--queued N[,N...]` (default 1,000,000; 10,000 is always run), `--rounds
/// R` (default 3), `--jobs N`, `--settle DURATION` (passed on; `routemq
/// bench` checks it).
fn parse_args(args: &[String]) -> Result<Plan> {
    let mut plan = Plan {
        queued: vec![1_000_000],
        rounds: 3,
        jobs: None,
        settle: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = match flag.as_str() {
            "--queued" | "--rounds" | "--jobs" | "--settle" => it
                .next()
                .with_context(|| format!("depth: {flag} needs a value"))?,
            other => bail!(
                "depth: unknown argument {other:?} (a target, --queued N[,N...], --rounds R, --jobs N, --settle DURATION)"
            ),
        };
        let number = |text: &str| -> Result<u64> {
            match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => bail!("depth: {flag} {text:?} is not a whole number of 1 or more"),
            }
        };
        match flag.as_str() {
            "--settle" => plan.settle = Some(value.clone()),
            "--queued" => {
                plan.queued = value
                    .split(',')
                    .map(number)
                    .collect::<Result<Vec<_>>>()?
                    .into_iter()
                    .filter(|&d| d != BASE)
                    .collect();
            }
            "--rounds" => plan.rounds = usize::try_from(number(value)?)?,
            _ => plan.jobs = Some(number(value)?),
        }
    }
    if plan.queued.is_empty() {
        bail!("depth: --queued needs a depth other than {BASE}, which is always run");
    }
    Ok(plan)
}

/// The figures of `routemq bench --json`.
fn read_report(json: &str) -> Result<Reading> {
    let report = bench_report(json)?;
    let rate = |key: &str| report_number(&report, key);
    Ok(Reading {
        bulk: rate("bulk_enqueue_per_sec")?,
        drain: rate("drain_per_sec")?,
        store_bytes: report["store_bytes_per_job_beyond_payload"].as_f64(),
        rss_after_drain: report["worker_rss_bytes_after_drain"].as_f64(),
    })
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `median` against `base`: "+3.1 %", and whether it stays within the
/// allowed drop.
fn against_base(median: f64, base: f64) -> String {
    let change = median / base - 1.0;
    let verdict = if change >= -ALLOWED_DROP {
        "within 10 %"
    } else {
        "below by more than 10 %"
    };
    format!("{:+.1} % ({verdict})", change * 100.0)
}

/// The report: per depth, every reading, the median and its change against
/// the base depth's median.
fn table(depths: &[u64], readings: &[Vec<Reading>]) -> String {
    let medians: Vec<(f64, f64)> = readings
        .iter()
        .map(|runs| {
            let pick = |f: fn(&Reading) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
            (pick(|r| r.bulk), pick(|r| r.drain))
        })
        .collect();
    let base = medians[0];
    let mut out = String::new();
    for (at, (&queued, runs)) in depths.iter().zip(readings).enumerate() {
        let list = |f: fn(&Reading) -> f64| {
            runs.iter()
                .map(|r| format!("{:.0}", f(r)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let (bulk, drain) = medians[at];
        let (bulk_vs, drain_vs) = match at {
            0 => ("the base".to_owned(), "the base".to_owned()),
            _ => (against_base(bulk, base.0), against_base(drain, base.1)),
        };
        out.push_str(&format!("{queued} queued\n"));
        out.push_str(&format!(
            "  bulk enqueue  {}: median {bulk:.0} jobs/s, {bulk_vs}\n",
            list(|r| r.bulk)
        ));
        out.push_str(&format!(
            "  drain         {}: median {drain:.0} jobs/s, {drain_vs}\n",
            list(|r| r.drain)
        ));
        let store: Vec<f64> = runs.iter().filter_map(|r| r.store_bytes).collect();
        if !store.is_empty() {
            out.push_str(&format!(
                "  store         {:.0} B per queued job beyond its payload (median)\n",
                median(&store)
            ));
        }
        let rss: Vec<f64> = runs.iter().filter_map(|r| r.rss_after_drain).collect();
        if !rss.is_empty() {
            out.push_str(&format!(
                "  bench RSS     {:.1} MiB after the drain (median)\n",
                median(&rss) / (1024.0 * 1024.0)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_are_read_and_bad_ones_named() {
        assert_eq!(
            parse_args(&[]).unwrap(),
            Plan {
                queued: vec![1_000_000],
                rounds: 3,
                jobs: None,
                settle: None
            }
        );
        assert_eq!(
            parse_args(&strings(&[
                "--queued",
                "1000000,10000,10000000",
                "--rounds",
                "2",
                "--jobs",
                "20000",
                "--settle",
                "30s"
            ]))
            .unwrap(),
            Plan {
                queued: vec![1_000_000, 10_000_000],
                rounds: 2,
                jobs: Some(20_000),
                settle: Some("30s".into())
            }
        );
        let err = format!(
            "{:#}",
            parse_args(&strings(&["--queued", "1000,lots"])).unwrap_err()
        );
        assert!(err.contains("\"lots\""), "{err}");
        assert!(parse_args(&strings(&["--rounds", "0"])).is_err());
        assert!(parse_args(&strings(&["--jobs"])).is_err());
        assert!(parse_args(&strings(&["--fast"])).is_err());
        assert!(parse_args(&strings(&["--queued", "10000"])).is_err());
    }

    #[test]
    fn a_report_is_read_with_or_without_the_store_figures() {
        let json = r#"{"bulk_enqueue_per_sec": 410501.3, "drain_per_sec": 53045.7,
            "store_bytes_per_job_beyond_payload": 196.1, "worker_rss_bytes_after_drain": 17215488}"#;
        let r = read_report(json).unwrap();
        assert_eq!((r.bulk, r.drain), (410501.3, 53045.7));
        assert_eq!(r.store_bytes, Some(196.1));
        let r = read_report(r#"{"bulk_enqueue_per_sec": 1, "drain_per_sec": 2}"#).unwrap();
        assert_eq!((r.store_bytes, r.rss_after_drain), (None, None));
        assert!(read_report(r#"{"drain_per_sec": 2}"#).is_err());
        assert!(read_report("routemq: boom").is_err());
    }

    #[test]
    fn medians_decide_and_a_drop_past_ten_percent_is_called_out() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(against_base(95.0, 100.0), "-5.0 % (within 10 %)");
        assert_eq!(
            against_base(89.0, 100.0),
            "-11.0 % (below by more than 10 %)"
        );
        assert_eq!(against_base(120.0, 100.0), "+20.0 % (within 10 %)");
        let reading = |bulk, drain| Reading {
            bulk,
            drain,
            store_bytes: None,
            rss_after_drain: None,
        };
        let out = table(
            &[10_000, 1_000_000],
            &[
                vec![
                    reading(100.0, 50.0),
                    reading(300.0, 70.0),
                    reading(200.0, 60.0),
                ],
                vec![
                    reading(150.0, 40.0),
                    reading(190.0, 50.0),
                    reading(250.0, 45.0),
                ],
            ],
        );
        assert!(
            out.contains("100 / 300 / 200: median 200 jobs/s, the base"),
            "{out}"
        );
        assert!(
            out.contains("median 190 jobs/s, -5.0 % (within 10 %)"),
            "{out}"
        );
        assert!(
            out.contains("median 45 jobs/s, -25.0 % (below by more than 10 %)"),
            "{out}"
        );
    }
}
