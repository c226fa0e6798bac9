//! `GET api/queues/{queue}/jobs` (a queue's jobs in one state, a page at a
//! time), `GET api/jobs/{id}` (one job with its data) and
//! `POST api/jobs/{id}/cancel`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use routemq_core::{
    cancel_job, find_job, unix_ms, CancelOutcome, JobId, JobState, JobSummary, ListPage,
    MAX_LIST_PAGE,
};
use serde::Serialize;
use serde_json::{json, Value};

use super::job_data::{self, Header};
use super::params::{queue_name, Params};
use crate::error::ApiError;
use crate::Dashboard;

/// One line of a queue's listing: never the job's data.
#[derive(Debug, Serialize)]
struct JobRow {
    id: JobId,
    state: JobState,
    attempts: u32,
    due_at_ms: Option<i64>,
    lease_until_ms: Option<i64>,
    #[serde(flatten)]
    header: Option<Header>,
    /// Why the stored envelope could not be read.
    envelope_error: Option<String>,
}

impl From<JobSummary> for JobRow {
    fn from(s: JobSummary) -> Self {
        let (header, envelope_error) = match job_data::header(&s.envelope) {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(e)),
        };
        JobRow {
            id: s.id,
            state: s.state,
            attempts: s.attempts,
            due_at_ms: s.due_at_ms,
            lease_until_ms: s.lease_until_ms,
            header,
            envelope_error,
        }
    }
}

/// The states a queue can be listed by.
fn listed_state(text: Option<&str>) -> Result<JobState, ApiError> {
    match text.map(str::trim) {
        None | Some("") | Some("ready") => Ok(JobState::Ready),
        Some("delayed") => Ok(JobState::Delayed),
        Some("running") => Ok(JobState::Running),
        Some("waiting") => Ok(JobState::Waiting),
        Some(other) => Err(ApiError::BadRequest(format!(
            "state={other:?}: a queue lists its ready, delayed, running or waiting jobs"
        ))),
    }
}

/// `GET api/queues/{queue}/jobs?state=&offset=&limit=`.
pub(crate) async fn list(
    State(d): State<Dashboard>,
    Path(queue): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = Params::read(query)?;
    let queue = queue_name(&queue)?;
    let state = listed_state(params.state.as_deref())?;
    let offset = params.offset()?;
    let limit = params.limit(MAX_LIST_PAGE)?;
    // One more than asked tells whether another page follows; at the largest
    // page a second read of one job does.
    let driver = d.driver();
    let page = ListPage {
        state,
        offset,
        limit: (limit + 1).min(MAX_LIST_PAGE),
    };
    let mut jobs = driver.list_jobs(&queue, page).await?;
    let has_more = if page.limit > limit {
        jobs.len() > limit
    } else {
        let next = ListPage {
            state,
            offset: offset.saturating_add(limit as u64),
            limit: 1,
        };
        jobs.len() == limit && !driver.list_jobs(&queue, next).await?.is_empty()
    };
    jobs.truncate(limit);
    let jobs: Vec<JobRow> = jobs.into_iter().map(JobRow::from).collect();
    Ok(Json(json!({
        "queue": queue,
        "state": state,
        "offset": offset,
        "limit": limit,
        "has_more": has_more,
        "jobs": jobs,
    })))
}

/// `GET api/jobs/{id}?queue=`: where the job is, its envelope with the data as
/// JSON, the failed store's record of a failed job, and a kept result.
pub(crate) async fn show(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let queue = Params::read(query)?.queue()?;
    let id = JobId::from_string(id);
    let driver = d.driver();
    let status = find_job(&**driver, &**d.failed(), &id, queue.as_ref())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job {id} is known")))?;
    let mut failed = Value::Null;
    let payload = if status.state == JobState::Failed {
        match d.failed().failed_show(&id).await? {
            Some(f) => {
                failed = json!({
                    "error": f.exception,
                    "failed_at_ms": unix_ms(f.failed_at),
                    "connection": f.connection,
                    "group": f.group.map(|g| g.to_string()),
                });
                Some(f.payload)
            }
            None => None,
        }
    } else {
        driver.job_envelope(&status.queue, &id).await?
    };
    let job = match payload.as_deref().map(job_data::describe) {
        None => Value::Null,
        Some(Ok(described)) => json!(described),
        Some(Err(problem)) => json!({ "envelope_error": problem }),
    };
    let result = if status.has_result {
        driver
            .job_result(&status.queue, &id)
            .await?
            .map(|bytes| job_data::result_value(&bytes))
    } else {
        None
    };
    Ok(Json(json!({
        "read_only": d.config().read_only,
        "status": status,
        "job": job,
        "failed": failed,
        "result": result,
    })))
}

/// `POST api/jobs/{id}/cancel?queue=`.
pub(crate) async fn cancel(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let queue = Params::read(query)?.queue()?;
    let id = JobId::from_string(id);
    let (queue, outcome) = cancel_job(&**d.driver(), &**d.failed(), &id, queue.as_ref()).await?;
    let (outcome, state) = match outcome {
        CancelOutcome::Removed => ("removed", JobState::Cancelled),
        CancelOutcome::Requested => ("requested", JobState::Running),
        CancelOutcome::AlreadyFinished(state) => ("already_finished", state),
        CancelOutcome::NotFound => {
            return Err(ApiError::NotFound(format!("no job {id} to cancel")));
        }
    };
    Ok(Json(json!({
        "id": id,
        "queue": queue,
        "outcome": outcome,
        "state": state,
    })))
}
