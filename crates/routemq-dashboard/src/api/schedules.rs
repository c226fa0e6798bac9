//! `GET api/schedules`: recurring jobs with their next and last runs.

use axum::extract::State;
use axum::Json;
use routemq_core::{unix_ms, JobId, ScheduleState};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::Dashboard;

/// One schedule as the API shows it.
#[derive(Debug, Serialize)]
struct ScheduleRow {
    name: String,
    /// `cron … in ZONE` or `every …`.
    spec: String,
    job: String,
    queue: String,
    data: Value,
    /// `skip` or `catch-up:N`.
    missed: String,
    max_tries: Option<u32>,
    timeout_ms: Option<u64>,
    next_run_ms: i64,
    last_run_ms: Option<i64>,
    last_job_id: Option<JobId>,
}

impl From<ScheduleState> for ScheduleRow {
    fn from(s: ScheduleState) -> Self {
        let schedule = s.schedule;
        ScheduleRow {
            spec: schedule.spec.to_string(),
            missed: schedule.missed.to_string(),
            queue: schedule.queue.to_string(),
            name: schedule.name,
            job: schedule.job,
            data: schedule.data,
            max_tries: schedule.max_tries,
            timeout_ms: schedule.timeout_ms,
            next_run_ms: unix_ms(s.next_run),
            last_run_ms: s.last_run.map(unix_ms),
            last_job_id: s.last_job_id,
        }
    }
}

/// `GET api/schedules`.
pub(crate) async fn list(State(d): State<Dashboard>) -> Result<Json<Value>, ApiError> {
    let schedules: Vec<ScheduleRow> = d
        .driver()
        .schedules()
        .await?
        .into_iter()
        .map(ScheduleRow::from)
        .collect();
    Ok(Json(json!({ "schedules": schedules })))
}
