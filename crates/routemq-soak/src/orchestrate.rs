//! The soak run: producer, the two worker processes, the kill schedule and the
//! final accounting.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use routemq_cli::{connect, migrate_if_database, Config, Unconfigured};
use routemq_core::{Driver, FailedQuery, Queue, QueueName};

use crate::ledger::{read_runs, LEDGER_DIR_VAR};
use crate::SoakJob;

/// The queue the soak run uses.
pub const QUEUE: &str = "routemq-soak";

/// Lease given to the workers: a killed worker's jobs come back after this.
const LEASE: &str = "5s";

struct Settings {
    minutes: f64,
    rate: u64,
    kill_every: Duration,
    connection: String,
    concurrency: u32,
}

fn parse(args: &[String]) -> Result<Settings> {
    let mut s = Settings {
        minutes: 1.0,
        rate: 1_000,
        kill_every: Duration::from_secs(30),
        connection: "redis".into(),
        concurrency: 16,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--minutes" => s.minutes = value()?.parse().context("--minutes: a number")?,
            "--rate" => s.rate = value()?.parse().context("--rate: jobs per second")?,
            "--kill-every" => {
                s.kill_every = humantime::parse_duration(&value()?)
                    .context("--kill-every: a duration like 30s")?
            }
            "--connection" => s.connection = value()?,
            "--concurrency" => {
                s.concurrency = value()?.parse().context("--concurrency: a number")?
            }
            other => bail!(
                "unknown flag {other:?}; use --minutes N --rate R --kill-every 30s --connection redis|database --concurrency N"
            ),
        }
    }
    if s.minutes <= 0.0 || s.rate == 0 || s.concurrency == 0 || s.kill_every.is_zero() {
        bail!("--minutes, --rate, --concurrency and --kill-every must be positive");
    }
    Ok(s)
}

fn spawn_worker(s: &Settings, ledger: &Path) -> Result<Child> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    Command::new(exe)
        .args(["work", "--connection", &s.connection, "--queue", QUEUE])
        .args([
            "--concurrency",
            &s.concurrency.to_string(),
            "--lease",
            LEASE,
        ])
        .env(LEDGER_DIR_VAR, ledger)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start a worker process")
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn terminate(child: &mut Child) -> Result<()> {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .context("cannot run kill")?;
    if !status.success() {
        bail!("kill -TERM {} failed", child.id());
    }
    child.wait().context("waiting for a worker to stop")?;
    Ok(())
}

async fn outstanding(driver: &Arc<dyn Driver>, queue: &QueueName) -> Result<u64> {
    let st = driver.stats(queue).await?;
    Ok(st.ready + st.delayed + st.reserved)
}

/// Runs the soak; `Ok(true)` when every job is accounted for.
pub async fn soak(args: &[String]) -> Result<bool> {
    let s = parse(args)?;
    if s.connection == "redis" && std::env::var("REDIS_PREFIX").is_err() {
        // Children inherit it: the run's keys never touch anyone else's.
        std::env::set_var(
            "REDIS_PREFIX",
            format!("routemq-soak-{}", std::process::id()),
        );
    }
    let config = Config::from_env(Some(&s.connection), Unconfigured::Refuse)?;
    migrate_if_database(&config).await?;
    let driver = connect(&config).await?;
    let queue_name = QueueName::new(QUEUE)?;
    driver.clear(&queue_name).await?;
    driver.failed_flush(Some(&queue_name)).await?;
    let queue = Queue::from_arc(driver.clone());
    let ledger = tempfile::tempdir().context("cannot create the ledger directory")?;

    println!(
        "soak: connection={} minutes={} rate={}/s kill_every={} concurrency={} per worker",
        s.connection,
        s.minutes,
        s.rate,
        humantime::format_duration(s.kill_every),
        s.concurrency
    );
    let mut steady = spawn_worker(&s, ledger.path())?;
    let mut victim = spawn_worker(&s, ledger.path())?;

    let run_for = Duration::from_secs_f64(s.minutes * 60.0);
    let started = Instant::now();
    let mut next_kill = started + s.kill_every;
    let mut rss_start = None;
    let mut dispatched: u64 = 0;
    let mut kills = 0u32;
    let per_tick = (s.rate / 10).max(1);
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    while started.elapsed() < run_for {
        ticker.tick().await;
        let jobs: Vec<SoakJob> = (dispatched..dispatched + per_tick)
            .map(|n| SoakJob { n })
            .collect();
        queue.dispatch_bulk(jobs).await?;
        dispatched += per_tick;
        if rss_start.is_none() && started.elapsed() >= Duration::from_secs(5) {
            rss_start = rss_kib(steady.id());
        }
        if Instant::now() >= next_kill {
            victim.kill().context("SIGKILL of the worker")?;
            victim.wait()?;
            kills += 1;
            victim = spawn_worker(&s, ledger.path())?;
            next_kill += s.kill_every;
        }
    }

    // Drain: killed workers' jobs come back once their lease expires.
    let drain_deadline = Instant::now() + Duration::from_secs(120);
    while outstanding(&driver, &queue_name).await? > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rss_end = rss_kib(steady.id());
    terminate(&mut steady)?;
    terminate(&mut victim)?;

    let runs = read_runs(ledger.path())?;
    let failed_jobs = driver
        .failed_list(&FailedQuery {
            queue: Some(queue_name.clone()),
            offset: 0,
            limit: usize::MAX / 2,
        })
        .await?;
    let mut failed_ns = HashSet::new();
    for f in &failed_jobs {
        let n = routemq_core::Envelope::decode(&f.payload)
            .ok()
            .and_then(|e| e.codec.decode::<SoakJob>("soak job", &e.data).ok())
            .map(|j| j.n);
        if let Some(n) = n {
            failed_ns.insert(n);
        }
    }
    let remaining = outstanding(&driver, &queue_name).await?;
    let completed = (0..dispatched).filter(|n| runs.contains_key(n)).count() as u64;
    let failed_only = failed_ns.iter().filter(|n| !runs.contains_key(n)).count() as u64;
    let lost = dispatched.saturating_sub(completed + failed_only + remaining);
    let run_twice = runs.values().filter(|&&c| c > 1).count();
    println!(
        "soak: elapsed={:.0}s kills={kills} dispatched={dispatched} completed={completed} failed={} queued={remaining} lost={lost} run_twice={run_twice}",
        started.elapsed().as_secs_f64(),
        failed_jobs.len()
    );
    match (rss_start, rss_end) {
        (Some(a), Some(b)) => println!(
            "soak: steady worker RSS start={a} KiB end={b} KiB ({:+.1}%)",
            (b as f64 - a as f64) * 100.0 / a as f64
        ),
        _ => println!("soak: steady worker RSS not sampled (run shorter than 5 s?)"),
    }
    driver.clear(&queue_name).await?;
    driver.failed_flush(Some(&queue_name)).await?;
    Ok(lost == 0 && remaining == 0)
}
