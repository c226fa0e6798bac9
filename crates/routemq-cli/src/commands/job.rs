//! `routemq job show ID` (where a job is: state, attempts, worker, progress,
//! last error, kept result) and `routemq cancel ID` (a waiting job is removed, a
//! running one stopped by its worker). Both look on `--queue` or on every known
//! queue, then in the failed store.

use std::sync::Arc;
use std::time::SystemTime;

use routemq_core::{
    cancel_job, find_job, from_unix_ms, CancelOutcome, Driver, FailedStore, JobId, JobState,
    JobStatus, QueueName,
};

use serde::Serialize;

use crate::cli::JobArgs;
use crate::commands::queue_arg;
use crate::output::Output;
use crate::CliError;

fn when(ms: i64) -> String {
    humantime::format_rfc3339_millis(from_unix_ms(ms)).to_string()
}

fn queue_of(args: &JobArgs) -> Result<Option<QueueName>, CliError> {
    args.queue
        .as_deref()
        .map(|q| queue_arg("--queue", q))
        .transpose()
}

/// `routemq job show ID`.
pub(crate) async fn show(
    driver: Arc<dyn Driver>,
    failed: Arc<dyn FailedStore>,
    args: &JobArgs,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let id = JobId::from(args.id.as_str());
    let queue = queue_of(args)?;
    let status = find_job(&*driver, &*failed, &id, queue.as_ref())
        .await?
        .ok_or_else(|| not_found(&id, queue.as_ref()))?;
    let result = if status.has_result {
        driver.job_result(&status.queue, &id).await?
    } else {
        None
    };
    let result_json = result
        .as_deref()
        .map(|bytes| {
            serde_json::from_slice::<serde_json::Value>(bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
            })
        })
        .unwrap_or(serde_json::Value::Null);
    if out.is_json() {
        return out.json(&Shown {
            status: &status,
            result: result_json,
        });
    }
    for line in describe(&status, result.as_deref()) {
        out.line(line)?;
    }
    Ok(())
}

/// `job show --json`: the status with the kept result (JSON, else text).
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    status: &'a JobStatus,
    result: serde_json::Value,
}

/// The lines `job show` prints.
fn describe(s: &JobStatus, result: Option<&[u8]>) -> Vec<String> {
    let mut lines = vec![
        format!("job       {}", s.id),
        format!("queue     {}", s.queue),
        format!("state     {}", s.state),
    ];
    let tries = if s.max_tries > 0 {
        format!("{} of {}", s.attempts, s.max_tries)
    } else {
        s.attempts.to_string()
    };
    if s.state != JobState::Failed {
        lines.push(format!("attempts  {tries}"));
    }
    if let Some(at) = s.due_at_ms {
        lines.push(format!("due at    {}", when(at)));
    }
    if s.state == JobState::Running {
        lines.push(format!(
            "worker    {}",
            s.worker
                .as_deref()
                .unwrap_or("(not reported yet: it started less than a second ago)")
        ));
        if let Some(p) = &s.progress {
            let age = SystemTime::now()
                .duration_since(from_unix_ms(p.at_ms))
                .map(|d| {
                    format!(
                        "{} ago",
                        humantime::format_duration(std::time::Duration::from_secs(d.as_secs()))
                    )
                })
                .unwrap_or_else(|_| "just now".into());
            lines.push(format!("progress  {:.1}% {} ({age})", p.percent, p.message));
        }
        if let Some(at) = s.lease_until_ms {
            lines.push(format!("lease     until {}", when(at)));
        }
        if s.cancel_requested {
            lines.push("cancel    requested; its worker stops it within a second".into());
        }
    }
    if let Some(e) = &s.last_error {
        lines.push(format!("error     {e}"));
    }
    if let Some(at) = s.finished_at_ms {
        lines.push(format!("finished  {}", when(at)));
    }
    if let Some(r) = result {
        lines.push(format!("result    {}", String::from_utf8_lossy(r)));
    }
    lines
}

fn not_found(id: &JobId, queue: Option<&QueueName>) -> CliError {
    let place = match queue {
        Some(q) => format!("on queue {q}"),
        None => "on any known queue".to_owned(),
    };
    CliError::NotFound(format!(
        "no job {id} {place} nor in the failed store (a job that succeeded without keep_result leaves no record, and kept records expire)"
    ))
}

/// `routemq cancel ID`.
pub(crate) async fn cancel(
    driver: Arc<dyn Driver>,
    failed: Arc<dyn FailedStore>,
    args: &JobArgs,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let id = JobId::from(args.id.as_str());
    let queue = queue_of(args)?;
    let (found_on, outcome) = cancel_job(&*driver, &*failed, &id, queue.as_ref()).await?;
    let text = match outcome {
        CancelOutcome::Removed => {
            format!("cancelled job {id} of queue {found_on}: it was waiting and will not run")
        }
        CancelOutcome::Requested => format!(
            "asked the worker running job {id} of queue {found_on} to stop it (within a second); it will not run again"
        ),
        CancelOutcome::AlreadyFinished(state) => {
            format!("job {id} of queue {found_on} had already finished: {state}; nothing changed")
        }
        CancelOutcome::NotFound => return Err(not_found(&id, queue.as_ref())),
    };
    out.either(
        &serde_json::json!({ "id": id.as_str(), "queue": found_on.as_str(), "outcome": outcome }),
        text,
    )
}
