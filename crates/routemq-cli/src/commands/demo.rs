//! `routemq demo`: enqueue a few hundred example jobs (quick, slow, delayed, flaky
//! and failing ones), run a worker on them with a progress bar, print a summary.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use routemq_core::{Backoff, Driver, JobOptions, PendingJob, Queue, QueueName, When};
use serde::Serialize;

use crate::cli::DemoArgs;
use crate::commands::queue_arg;
use crate::commands::work::worker_error;
use crate::jobs::{Fail, Flaky, Noop, Sleep};
use crate::output::Output;
use crate::{App, CliError};

/// The demo gives up after this long (it normally takes a few seconds).
const DEADLINE: Duration = Duration::from_secs(45);

/// What was enqueued.
#[derive(Debug, Default, Serialize)]
struct Plan {
    total: u64,
    quick: u64,
    slow: u64,
    delayed: u64,
    flaky: u64,
    failing: u64,
    flaky_retries: u64,
}

/// What happened.
#[derive(Debug, Serialize)]
struct Summary {
    driver: String,
    queue: String,
    plan: Plan,
    succeeded: u64,
    retried: u64,
    failed: u64,
    in_failed_store: u64,
    left_in_queue: u64,
    elapsed_ms: u64,
    jobs_per_sec: f64,
    complete: bool,
}

fn build_plan(
    queue_api: &Queue,
    queue: &QueueName,
    n: usize,
) -> Result<(Plan, Vec<PendingJob>), CliError> {
    let mut plan = Plan::default();
    let mut pending = Vec::with_capacity(n);
    let base = JobOptions::new().queue(queue.as_str());
    let retrying = base
        .clone()
        .max_tries(3)
        .backoff(Backoff::fixed(Duration::from_millis(200)));
    for i in 0..n {
        // A fixed pattern of ten: 4 quick, 2 slow, 2 delayed, 1 flaky, 1 failing.
        let job = match i % 10 {
            0..=3 => {
                plan.quick += 1;
                queue_api.pending(&Noop {}, &base, None)?
            }
            4 | 5 => {
                plan.slow += 1;
                let ms = 20 + (i as u64 * 7) % 60;
                queue_api.pending(&Sleep { ms }, &base, None)?
            }
            6 | 7 => {
                plan.delayed += 1;
                let delay = Duration::from_millis(500 + (i as u64 * 37) % 2_000);
                queue_api.pending(&Sleep { ms: 10 }, &base, Some(When::After(delay)))?
            }
            8 => {
                plan.flaky += 1;
                let fail_times = 1 + (i as u32 / 10) % 2;
                plan.flaky_retries += u64::from(fail_times);
                queue_api.pending(&Flaky { fail_times }, &retrying, None)?
            }
            _ => {
                plan.failing += 1;
                let message = format!("demo job {i}: the payment provider said no");
                queue_api.pending(&Fail { message }, &retrying.clone().max_tries(2), None)?
            }
        };
        pending.push(job);
    }
    plan.total = n as u64;
    Ok((plan, pending))
}

fn progress(total: u64, quiet: bool) -> ProgressBar {
    let target = if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} jobs done {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

pub(crate) async fn run(
    app: &App,
    driver: Arc<dyn Driver>,
    args: &DemoArgs,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    if args.jobs == 0 {
        return Err(CliError::usage("--jobs", "must be at least 1"));
    }
    let queue = queue_arg("--queue", &args.queue)?;
    driver.clear(&queue).await?;
    driver.failed_flush(Some(&queue)).await?;

    let queue_api = Queue::from_arc(driver.clone());
    let (plan, pending) = build_plan(&queue_api, &queue, args.jobs)?;
    eprintln!(
        "routemq demo on the {} driver: {} jobs on queue {queue} ({} quick, {} slow, {} delayed, {} flaky, {} failing)",
        driver.connection_name(),
        plan.total,
        plan.quick,
        plan.slow,
        plan.delayed,
        plan.flaky,
        plan.failing
    );
    driver.push_bulk(pending).await?;

    let worker = app
        .worker_builder(driver.clone())
        .queues([queue.as_str()])
        .concurrency(args.concurrency)
        .sleep(Duration::from_millis(100))
        .shutdown_grace(Duration::from_secs(5))
        .build()
        .map_err(worker_error)?;
    let stats = worker.stats();
    let bar = progress(plan.total, args.quiet || out.is_json());
    let started = Instant::now();
    let watch_driver = driver.clone();
    let watch_queue = queue.clone();
    let watch_bar = bar.clone();
    let watch_error = Arc::new(Mutex::new(None));
    let watch_error_out = watch_error.clone();
    let done = async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let s = stats.snapshot();
            watch_bar.set_position(s.processed + s.failed);
            watch_bar.set_message(format!("({} retries, {} failed)", s.retried, s.failed));
            let left = match watch_driver.stats(&watch_queue).await {
                Ok(q) => q.ready + q.delayed + q.reserved,
                Err(e) => {
                    *watch_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    break;
                }
            };
            if left == 0 || started.elapsed() > DEADLINE {
                break;
            }
        }
    };
    let report = worker.run_until(done).await.map_err(worker_error)?;
    bar.finish_and_clear();
    if let Some(e) = watch_error_out
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(e.into());
    }

    let end = driver.stats(&queue).await?;
    let elapsed = started.elapsed();
    let left = end.ready + end.delayed + end.reserved;
    let summary = Summary {
        driver: driver.connection_name().to_owned(),
        queue: queue.to_string(),
        succeeded: report.counts.processed,
        retried: report.counts.retried,
        failed: report.counts.failed,
        in_failed_store: end.failed,
        left_in_queue: left,
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        jobs_per_sec: (report.counts.processed + report.counts.failed) as f64
            / elapsed.as_secs_f64().max(1e-6),
        complete: left == 0
            && report.counts.processed == plan.total - plan.failing
            && report.counts.failed == plan.failing,
        plan,
    };
    print_summary(&summary, out)?;
    if summary.complete {
        Ok(())
    } else {
        Err(CliError::DemoIncomplete {
            deadline_secs: DEADLINE.as_secs(),
            left: summary.left_in_queue,
        })
    }
}

fn print_summary(s: &Summary, out: &mut Output<'_>) -> Result<(), CliError> {
    if out.is_json() {
        return out.json(s);
    }
    let p = &s.plan;
    let rows = vec![
        vec![
            "jobs enqueued".into(),
            p.total.to_string(),
            s.plan.total.to_string(),
        ],
        vec![
            "succeeded (quick, slow, delayed, flaky)".into(),
            (p.total - p.failing).to_string(),
            s.succeeded.to_string(),
        ],
        vec![
            "retries (flaky jobs' failed attempts + failing jobs' first tries)".into(),
            (p.flaky_retries + p.failing).to_string(),
            s.retried.to_string(),
        ],
        vec![
            "failed for good (2 tries each)".into(),
            p.failing.to_string(),
            s.failed.to_string(),
        ],
        vec![
            "in the failed store".into(),
            p.failing.to_string(),
            s.in_failed_store.to_string(),
        ],
        vec![
            "left in the queue".into(),
            "0".into(),
            s.left_in_queue.to_string(),
        ],
        vec![
            "elapsed".into(),
            "-".into(),
            crate::duration::short(Duration::from_millis(s.elapsed_ms)),
        ],
        vec![
            "jobs/s (incl. delays)".into(),
            "-".into(),
            format!("{:.0}", s.jobs_per_sec),
        ],
    ];
    let title = format!("demo on {}", s.driver);
    out.table(&[title.as_str(), "expected", "actual"], rows)?;
    out.line(format!(
        "Next: `routemq failed list --queue {}` shows the failed jobs{}.",
        s.queue,
        if s.driver == "memory" {
            " (on Redis or MySQL; the memory driver forgets them when the demo ends)"
        } else {
            ""
        }
    ))
}
