//! `routemq failed list|show|retry|forget|flush|prune`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::SystemTime;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use routemq_core::{unix_ms, Envelope, FailedJob, FailedQuery, FailedStore, JobId};
use serde::Serialize;

use crate::cli::FailedCommand;
use crate::commands::queue_arg;
use crate::output::Output;
use crate::CliError;

/// A failed job as printed: the envelope decoded when possible.
#[derive(Serialize)]
struct FailedView {
    id: String,
    connection: String,
    queue: String,
    /// The job's fair group (a retry puts it back there).
    group: Option<String>,
    job: Option<String>,
    failed_at: String,
    failed_at_ms: i64,
    exception: String,
    max_tries: Option<u32>,
    /// Whether the job's data is encrypted (then `data` only describes it).
    encrypted: bool,
    data: serde_json::Value,
}

impl FailedView {
    fn new(job: &FailedJob) -> Self {
        let envelope = Envelope::decode(&job.payload).ok();
        let data = match &envelope {
            // Never shown as if it were data: the ciphertext means nothing to a reader.
            Some(env) if env.encryption.is_some() => serde_json::Value::String(format!(
                "<encrypted with key {}, {} bytes>",
                env.encryption
                    .map(|e| e.key_id.to_string())
                    .unwrap_or_default(),
                env.data.len()
            )),
            Some(env) => env
                .codec
                .decode::<serde_json::Value>("job data", &env.data)
                .unwrap_or_else(|e| serde_json::Value::String(format!("<{e}>"))),
            None => serde_json::Value::String(String::from_utf8_lossy(&job.payload).into_owned()),
        };
        FailedView {
            id: job.id.to_string(),
            connection: job.connection.clone(),
            queue: job.queue.clone(),
            group: job.group.as_ref().map(|g| g.as_str().to_owned()),
            job: envelope.as_ref().map(|e| e.name.clone()),
            failed_at: humantime::format_rfc3339_seconds(job.failed_at).to_string(),
            failed_at_ms: unix_ms(job.failed_at),
            exception: job.exception.clone(),
            max_tries: envelope.as_ref().map(|e| e.max_tries),
            encrypted: envelope.as_ref().is_some_and(|e| e.encryption.is_some()),
            data,
        }
    }
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > max {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

pub(crate) async fn run(
    store: Arc<dyn FailedStore>,
    command: &FailedCommand,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    match command {
        FailedCommand::List {
            queue,
            limit,
            offset,
        } => list(store, queue.as_deref(), *limit, *offset, out).await,
        FailedCommand::Show { id } => {
            let job = store
                .failed_show(&JobId::from(id.as_str()))
                .await?
                .ok_or_else(|| CliError::NotFound(format!("no failed job with id {id}")))?;
            show(&job, out)
        }
        FailedCommand::Retry { ids, all, queue } => {
            if *all {
                retry_all(store, queue.as_deref(), out).await
            } else {
                retry_ids(store, ids, out).await
            }
        }
        FailedCommand::Forget { id } => {
            if !store.failed_forget(&JobId::from(id.as_str())).await? {
                return Err(CliError::NotFound(format!("no failed job with id {id}")));
            }
            out.either(
                &serde_json::json!({ "forgotten": id }),
                format!("forgot failed job {id}"),
            )
        }
        FailedCommand::Flush { queue } => {
            let queue = queue
                .as_deref()
                .map(|q| queue_arg("--queue", q))
                .transpose()?;
            let n = store.failed_flush(queue.as_ref()).await?;
            out.either(
                &serde_json::json!({ "flushed": n }),
                format!("deleted {n} failed job(s)"),
            )
        }
        FailedCommand::Prune { older_than } => {
            let cutoff = SystemTime::now()
                .checked_sub(*older_than)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let n = store.failed_prune(cutoff).await?;
            out.either(
                &serde_json::json!({ "pruned": n, "cutoff": humantime::format_rfc3339_seconds(cutoff).to_string() }),
                format!(
                    "deleted {n} failed job(s) that failed before {}",
                    humantime::format_rfc3339_seconds(cutoff)
                ),
            )
        }
    }
}

async fn list(
    store: Arc<dyn FailedStore>,
    queue: Option<&str>,
    limit: usize,
    offset: usize,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let query = FailedQuery {
        queue: queue.map(|q| queue_arg("--queue", q)).transpose()?,
        offset,
        limit,
    };
    let jobs: Vec<FailedView> = store
        .failed_list(&query)
        .await?
        .iter()
        .map(FailedView::new)
        .collect();
    if out.is_json() {
        return out.json(&jobs);
    }
    if jobs.is_empty() {
        return out.line("no failed jobs");
    }
    let rows = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.clone(),
                j.queue.clone(),
                j.job.clone().unwrap_or_else(|| "<undecodable>".into()),
                j.failed_at.clone(),
                first_line(&j.exception, 60),
            ]
        })
        .collect();
    out.table(&["id", "queue", "job", "failed at", "error"], rows)
}

fn show(job: &FailedJob, out: &mut Output<'_>) -> Result<(), CliError> {
    let view = FailedView::new(job);
    if out.is_json() {
        return out.json(&view);
    }
    let data = match &view.data {
        serde_json::Value::String(text) if view.encrypted => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    let rows = vec![
        vec!["id".into(), view.id.clone()],
        vec![
            "job".into(),
            view.job
                .clone()
                .unwrap_or_else(|| "<undecodable payload>".into()),
        ],
        vec!["queue".into(), view.queue.clone()],
        vec![
            "group".into(),
            view.group.clone().unwrap_or_else(|| "-".into()),
        ],
        vec!["connection".into(), view.connection.clone()],
        vec!["failed at".into(), view.failed_at.clone()],
        vec![
            "max tries".into(),
            view.max_tries
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into()),
        ],
        vec!["error".into(), view.exception.clone()],
        vec!["data".into(), data],
    ];
    out.table(&["field", "value"], rows)
}

async fn retry_ids(
    store: Arc<dyn FailedStore>,
    ids: &[String],
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let mut retried = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        if store.failed_retry(&JobId::from(id.as_str())).await? {
            retried.push(id.clone());
        } else {
            missing.push(id.clone());
        }
    }
    if out.is_json() {
        out.json(&serde_json::json!({ "retried": retried, "not_found": missing }))?;
    } else {
        for id in &retried {
            out.line(format!("retried {id}"))?;
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CliError::NotFound(format!(
            "no failed job with id {}",
            missing.join(", ")
        )))
    }
}

async fn retry_all(
    store: Arc<dyn FailedStore>,
    queue: Option<&str>,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let queue = queue.map(|q| queue_arg("--queue", q)).transpose()?;
    let bar = progress_bar();
    let mut seen: HashSet<JobId> = HashSet::new();
    let mut retried = 0u64;
    loop {
        // Retrying removes jobs from the store, so the first page is always the next.
        let page = store
            .failed_list(&FailedQuery {
                queue: queue.clone(),
                offset: 0,
                limit: 500,
            })
            .await?;
        let fresh: Vec<&FailedJob> = page.iter().filter(|j| !seen.contains(&j.id)).collect();
        if fresh.is_empty() {
            break;
        }
        for job in fresh {
            seen.insert(job.id.clone());
            if store.failed_retry(&job.id).await? {
                retried += 1;
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    out.either(
        &serde_json::json!({ "retried": retried }),
        format!("retried {retried} failed job(s)"),
    )
}

/// A spinner-with-count on stderr when it is a terminal; hidden otherwise.
pub(crate) fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} job(s) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}
