//! The failed store: `GET api/failed`, and retry or forget one failed job or
//! every one (of a queue).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use routemq_core::{unix_ms, Envelope, FailedJob, FailedQuery, JobId};
use serde::Serialize;
use serde_json::{json, Value};

use super::params::Params;
use crate::error::ApiError;
use crate::Dashboard;

/// The most failed jobs one listing returns.
const MAX_FAILED_PAGE: usize = 500;

/// The longest error line a listing shows (the job page shows all of it).
const ERROR_LINE: usize = 300;

/// One line of the failed listing.
#[derive(Debug, Serialize)]
struct FailedRow {
    id: JobId,
    queue: String,
    /// The job type, when the payload can be read.
    name: Option<String>,
    /// The first line of the error, cut to [`ERROR_LINE`] characters.
    error: String,
    failed_at_ms: i64,
    connection: String,
    group: Option<String>,
}

impl From<FailedJob> for FailedRow {
    fn from(f: FailedJob) -> Self {
        let first_line = f.exception.lines().next().unwrap_or_default();
        FailedRow {
            name: Envelope::decode(&f.payload).ok().map(|e| e.name),
            error: first_line.chars().take(ERROR_LINE).collect(),
            failed_at_ms: unix_ms(f.failed_at),
            group: f.group.map(|g| g.to_string()),
            id: f.id,
            queue: f.queue,
            connection: f.connection,
        }
    }
}

/// `GET api/failed?queue=&offset=&limit=`: newest first.
pub(crate) async fn list(
    State(d): State<Dashboard>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let params = Params::read(query)?;
    let limit = params.limit(MAX_FAILED_PAGE)?;
    let query = FailedQuery {
        queue: params.queue()?,
        offset: usize::try_from(params.offset()?).unwrap_or(usize::MAX),
        limit: limit + 1,
    };
    let mut jobs = d.failed().failed_list(&query).await?;
    let has_more = jobs.len() > limit;
    jobs.truncate(limit);
    let jobs: Vec<FailedRow> = jobs.into_iter().map(FailedRow::from).collect();
    Ok(Json(json!({
        "offset": query.offset,
        "limit": limit,
        "has_more": has_more,
        "jobs": jobs,
    })))
}

/// `POST api/failed/{id}/retry`.
pub(crate) async fn retry(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = JobId::from_string(id);
    if !d.failed().failed_retry(&id).await? {
        return Err(ApiError::NotFound(format!("no failed job {id}")));
    }
    Ok(Json(json!({ "id": id, "retried": true })))
}

/// `POST api/failed/{id}/forget`.
pub(crate) async fn forget(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = JobId::from_string(id);
    if !d.failed().failed_forget(&id).await? {
        return Err(ApiError::NotFound(format!("no failed job {id}")));
    }
    Ok(Json(json!({ "id": id, "forgotten": true })))
}

/// `POST api/failed/retry-all?queue=`: every failed job (of the queue) back to
/// its queue, a page at a time, until a page retries nothing.
pub(crate) async fn retry_all(
    State(d): State<Dashboard>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = FailedQuery {
        queue: Params::read(query)?.queue()?,
        offset: 0,
        limit: MAX_FAILED_PAGE,
    };
    let store = d.failed();
    let mut retried: u64 = 0;
    loop {
        let page = store.failed_list(&query).await?;
        let mut moved = 0;
        for job in &page {
            if store.failed_retry(&job.id).await? {
                moved += 1;
            }
        }
        retried += moved;
        // A job that cannot be retried stays listed: stop rather than loop.
        if page.len() < MAX_FAILED_PAGE || moved == 0 {
            break;
        }
    }
    Ok(Json(json!({ "retried": retried })))
}

/// `POST api/failed/forget-all?queue=`.
pub(crate) async fn forget_all(
    State(d): State<Dashboard>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let queue = Params::read(query)?.queue()?;
    let forgotten = d.failed().failed_flush(queue.as_ref()).await?;
    Ok(Json(json!({ "forgotten": forgotten })))
}
