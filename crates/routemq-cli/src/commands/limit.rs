//! `routemq limit set|list|clear`: per-queue and per-group rate limits, and the
//! group concurrency cap.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use routemq_core::{checked_group_concurrency, Driver, RateLimit, RateLimitError};

use crate::cli::LimitCommand;
use crate::commands::queue_arg;
use crate::output::Output;
use crate::CliError;

/// Runs one `limit` subcommand.
pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    cmd: &LimitCommand,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    match cmd {
        LimitCommand::Set {
            queue,
            jobs,
            per,
            per_group,
            group_concurrency,
        } => {
            let queue = queue_arg("--queue", queue)?;
            // Both checked before anything is stored.
            let limit = match (jobs, per) {
                (Some(jobs), Some(per)) => Some(limit_arg(*jobs, *per, *per_group)?),
                _ => None,
            };
            let cap = group_concurrency.map(cap_arg).transpose()?;
            let mut lines = Vec::new();
            if let Some(limit) = limit {
                driver.set_rate_limit(&queue, limit).await?;
                let whom = if limit.per_group {
                    "per group (the ungrouped jobs as one more group), all workers together"
                } else {
                    "all workers together"
                };
                lines.push(format!(
                    "queue {queue}: at most {} jobs started per {}, {whom}",
                    limit.jobs,
                    per_text(&limit)
                ));
            }
            if let Some(cap) = cap {
                driver.set_group_concurrency(&queue, cap).await?;
                lines.push(format!(
                    "queue {queue}: at most {cap} jobs of one group running at once, all workers together"
                ));
            }
            out.either(
                &serde_json::json!({
                    "queue": queue.as_str(),
                    "jobs": limit.map(|l| l.jobs),
                    "per_ms": limit.map(|l| l.per_ms()),
                    "per_group": limit.is_some_and(|l| l.per_group),
                    "group_concurrency": cap,
                }),
                lines.join("\n"),
            )
        }
        LimitCommand::List => {
            // queue → (rate limit, group concurrency cap)
            let mut rows: BTreeMap<String, (Option<RateLimit>, Option<u32>)> = BTreeMap::new();
            for (q, l) in driver.rate_limits().await? {
                rows.entry(q.to_string()).or_default().0 = Some(l);
            }
            for (q, cap) in driver.group_concurrency_limits().await? {
                rows.entry(q.to_string()).or_default().1 = Some(cap);
            }
            if out.is_json() {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|(q, (l, cap))| {
                        serde_json::json!({
                            "queue": q,
                            "jobs": l.map(|l| l.jobs),
                            "per_ms": l.map(|l| l.per_ms()),
                            "per_group": l.is_some_and(|l| l.per_group),
                            "group_concurrency": cap,
                        })
                    })
                    .collect();
                return out.json(&rows);
            }
            if rows.is_empty() {
                return out.line("no rate limits");
            }
            let dash = || "-".to_owned();
            let rows = rows
                .into_iter()
                .map(|(q, (l, cap))| {
                    vec![
                        q,
                        l.map_or_else(dash, |l| l.jobs.to_string()),
                        l.map_or_else(dash, |l| per_text(&l)),
                        match l {
                            Some(l) if l.per_group => "group".to_owned(),
                            Some(_) => "queue".to_owned(),
                            None => dash(),
                        },
                        cap.map_or_else(dash, |c| c.to_string()),
                    ]
                })
                .collect();
            out.table(
                &["queue", "jobs", "per", "window of", "group concurrency"],
                rows,
            )
        }
        LimitCommand::Clear { queue } => {
            let queue = queue_arg("--queue", queue)?;
            let cleared = driver.clear_rate_limit(&queue).await?;
            let text = if cleared {
                format!("removed the rate limit, group concurrency cap and holds of queue {queue}")
            } else {
                format!("queue {queue} had no rate limit")
            };
            out.either(
                &serde_json::json!({ "queue": queue.as_str(), "cleared": cleared }),
                text,
            )
        }
    }
}

/// The cap of `--group-concurrency`, or a usage error naming the flag.
fn cap_arg(cap: u32) -> Result<u32, CliError> {
    checked_group_concurrency(cap)
        .map_err(|e| CliError::usage("--group-concurrency", e.to_string()))
}

/// The limit of `--jobs`, `--per` and `--per-group`, or a usage error naming the
/// flag at fault.
fn limit_arg(jobs: u32, per: Duration, per_group: bool) -> Result<RateLimit, CliError> {
    let limit = RateLimit::new(jobs, per).map_err(|e| {
        let flag = match e {
            RateLimitError::NoJobs | RateLimitError::TooManyJobs { .. } => "--jobs",
            _ => "--per",
        };
        CliError::usage(flag, e.to_string())
    })?;
    Ok(if per_group { limit.per_group() } else { limit })
}

/// `1s`, `500ms`: the period as `RateLimit`'s display writes it.
fn per_text(l: &RateLimit) -> String {
    let text = RateLimit {
        per_group: false,
        ..*l
    }
    .to_string();
    text.split_once(" per ")
        .map_or(text.clone(), |(_, per)| per.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_jobs_or_period_is_refused_naming_the_flag() {
        let e = limit_arg(0, Duration::from_secs(1), false).unwrap_err();
        assert!(e.to_string().starts_with("--jobs: "), "{e}");
        let e = limit_arg(5, Duration::ZERO, true).unwrap_err();
        assert!(e.to_string().starts_with("--per: "), "{e}");
        let l = limit_arg(20, Duration::from_secs(1), false).unwrap();
        assert_eq!(per_text(&l), "1s");
        let l = limit_arg(20, Duration::from_secs(1), true).unwrap();
        assert!(l.per_group);
        assert_eq!(per_text(&l), "1s");
        let e = cap_arg(0).unwrap_err();
        assert!(e.to_string().starts_with("--group-concurrency: "), "{e}");
        assert_eq!(cap_arg(4).unwrap(), 4);
    }
}
