//! `routemq stats`: per-queue counts.

use std::sync::Arc;

use routemq_core::{Driver, QueueStats};

use crate::cli::StatsArgs;
use crate::commands::queue_arg;
use crate::duration::short;
use crate::output::Output;
use crate::CliError;

pub(crate) async fn collect(
    driver: &Arc<dyn Driver>,
    queues: &[String],
) -> Result<Vec<QueueStats>, CliError> {
    let names = if queues.is_empty() {
        // Known queues, and paused or limited ones that hold no jobs yet.
        let mut names = driver.queues().await?;
        names.extend(driver.paused().await?);
        names.extend(driver.rate_limits().await?.into_iter().map(|(q, _)| q));
        names.sort();
        names.dedup();
        names
    } else {
        queues
            .iter()
            .map(|q| queue_arg("--queue", q))
            .collect::<Result<_, _>>()?
    };
    let mut stats = Vec::with_capacity(names.len());
    for q in &names {
        stats.push(driver.stats(q).await?);
    }
    Ok(stats)
}

pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    config: Option<&crate::Config>,
    args: &StatsArgs,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    #[allow(unused_mut)]
    let mut stats = collect(&driver, &args.queue).await?;
    // A Redis connection whose failed store is the database: its counts.
    #[cfg(feature = "failed-mysql")]
    if let Some(store) = match config {
        Some(c) => crate::connect::database_failed_store(c).await?,
        None => None,
    } {
        let counts = store.failed_counts().await?;
        for s in &mut stats {
            s.failed = counts
                .iter()
                .find(|(q, _)| *q == s.queue)
                .map_or(0, |(_, n)| *n);
        }
    }
    #[cfg(not(feature = "failed-mysql"))]
    let _ = config;
    if out.is_json() {
        return out.json(&stats);
    }
    if stats.is_empty() {
        return out.line("no queues yet");
    }
    let rows = stats
        .iter()
        .map(|s| {
            vec![
                s.queue.clone(),
                s.ready.to_string(),
                s.delayed.to_string(),
                s.reserved.to_string(),
                s.failed.to_string(),
                s.oldest_ready_age.map(short).unwrap_or_else(|| "-".into()),
                if s.paused { "yes" } else { "no" }.to_owned(),
                s.rate_limit.map_or_else(|| "-".into(), |l| l.to_string()),
            ]
        })
        .collect();
    out.table(
        &[
            "queue",
            "ready",
            "delayed",
            "reserved",
            "failed",
            "oldest ready",
            "paused",
            "rate limit",
        ],
        rows,
    )
}
