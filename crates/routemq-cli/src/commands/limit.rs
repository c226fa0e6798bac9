//! `routemq limit set|list|clear`: per-queue rate limits.

use std::sync::Arc;
use std::time::Duration;

use routemq_core::{Driver, RateLimit, RateLimitError};

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
        LimitCommand::Set { queue, jobs, per } => {
            let queue = queue_arg("--queue", queue)?;
            let limit = limit_arg(*jobs, *per)?;
            driver.set_rate_limit(&queue, limit).await?;
            out.either(
                &serde_json::json!({
                    "queue": queue.as_str(),
                    "jobs": limit.jobs,
                    "per_ms": limit.per_ms(),
                }),
                format!(
                    "queue {queue}: at most {} jobs started per {}, all workers together",
                    limit.jobs,
                    per_text(&limit)
                ),
            )
        }
        LimitCommand::List => {
            let limits = driver.rate_limits().await?;
            if out.is_json() {
                let rows: Vec<_> = limits
                    .iter()
                    .map(|(q, l)| {
                        serde_json::json!({ "queue": q.as_str(), "jobs": l.jobs, "per_ms": l.per_ms() })
                    })
                    .collect();
                return out.json(&rows);
            }
            if limits.is_empty() {
                return out.line("no rate limits");
            }
            let rows = limits
                .iter()
                .map(|(q, l)| vec![q.to_string(), l.jobs.to_string(), per_text(l)])
                .collect();
            out.table(&["queue", "jobs", "per"], rows)
        }
        LimitCommand::Clear { queue } => {
            let queue = queue_arg("--queue", queue)?;
            let cleared = driver.clear_rate_limit(&queue).await?;
            let text = if cleared {
                format!("removed the rate limit of queue {queue}")
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

/// The limit of `--jobs` and `--per`, or a usage error naming the flag at fault.
fn limit_arg(jobs: u32, per: Duration) -> Result<RateLimit, CliError> {
    RateLimit::new(jobs, per).map_err(|e| {
        let flag = match e {
            RateLimitError::NoJobs | RateLimitError::TooManyJobs { .. } => "--jobs",
            _ => "--per",
        };
        CliError::usage(flag, e.to_string())
    })
}

/// `1s`, `500ms`: the period as `RateLimit`'s display writes it.
fn per_text(l: &RateLimit) -> String {
    let text = l.to_string();
    text.split_once(" per ")
        .map_or(text.clone(), |(_, per)| per.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_jobs_or_period_is_refused_naming_the_flag() {
        let e = limit_arg(0, Duration::from_secs(1)).unwrap_err();
        assert!(e.to_string().starts_with("--jobs: "), "{e}");
        let e = limit_arg(5, Duration::ZERO).unwrap_err();
        assert!(e.to_string().starts_with("--per: "), "{e}");
        let l = limit_arg(20, Duration::from_secs(1)).unwrap();
        assert_eq!(per_text(&l), "1s");
    }
}
