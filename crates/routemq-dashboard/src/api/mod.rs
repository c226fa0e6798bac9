//! The JSON API under `api/`, relative to where the dashboard is mounted. The
//! page uses it; so can scripts (with `Authorization: Bearer TOKEN` in token
//! mode, which also spares them the CSRF header).
//!
//! Every answer is JSON. Errors are `{"error": "…"}` with 400 (a bad parameter
//! or state), 401 (no valid credentials), 403 (CSRF, `Origin`, read-only), 404
//! (no such job, failed job, batch or route), 502 (the backend answered with an
//! error) or 503 (the backend cannot be reached). Times are milliseconds since
//! the Unix epoch (`…_ms`), durations milliseconds; `running` is the driver's
//! `reserved` count.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `api/overview` | `read_only`, `connection`, `queues` (rows as below), `totals` (`queues`, `paused`, `ready`, `delayed`, `running`, `failed`), `history`: `hour` (60 one-minute points) and `day` (96 fifteen-minute points), each point `{minute, at_ms, processed, failed, retried}` summed over the queues |
//! | GET | `api/queues` | `queues`: one row per queue: `queue`, `ready`, `delayed`, `running`, `failed`, `paused`, `oldest_ready_age_ms`, `rate_limit` (`{jobs, per_ms, per_group, text}` or null) |
//! | GET | `api/queues/{queue}` | `queue` (its row), `history` (`hour`, `day`), `read_only` |
//! | GET | `api/queues/{queue}/jobs?state=&offset=&limit=` | `state` `ready` (default), `delayed`, `running` or `waiting`; `limit` 1–500 (default 50): `jobs` (`id`, `name`, `state`, `attempts`, `max_tries`, `created_at_ms`, `due_at_ms`, `lease_until_ms`, `codec`, `encrypted`, `envelope_error`; never the data), `has_more` |
//! | GET | `api/jobs/{id}?queue=` | `status` (state, attempts, progress, worker, last error…), `job` (`name`, `queue`, `codec`, `created_at_ms`, `max_tries`, `timeout_ms`, `encrypted`, `data` as JSON (MessagePack converted; null when encrypted), `data_error`), `failed` (`error`, `failed_at_ms`, `connection`) for a failed job, `result` (a kept result) |
//! | GET | `api/failed?queue=&offset=&limit=` | newest first: `jobs` (`id`, `queue`, `name`, `error` (first line), `failed_at_ms`, `connection`, `group`), `has_more` |
//! | GET | `api/workers` | `workers`: live heartbeats |
//! | GET | `api/schedules` | `schedules`: `name`, `spec`, `job`, `queue`, `data`, `missed`, `next_run_ms`, `last_run_ms`, `last_job_id` |
//! | GET | `api/limits` | `limits`: `queue`, `rate_limit`, `group_concurrency` |
//! | GET | `api/batches` | `batches`: counters and state, newest first |
//! | GET | `api/batches/{id}` | one batch |
//! | GET | `api/csrf` | `csrf_token`, `read_only`, `auth` (`none`, `token`, `basic`) |
//! | POST | `api/queues/{queue}/pause` | `queue`, `paused`, `changed` |
//! | POST | `api/queues/{queue}/resume` | `queue`, `paused`, `changed` |
//! | POST | `api/failed/{id}/retry` | `id`, `retried` (404 when not in the failed store) |
//! | POST | `api/failed/{id}/forget` | `id`, `forgotten` (404 likewise) |
//! | POST | `api/failed/retry-all?queue=` | `retried`: how many went back to their queue |
//! | POST | `api/failed/forget-all?queue=` | `forgotten`: how many were deleted |
//! | POST | `api/jobs/{id}/cancel?queue=` | `id`, `queue`, `outcome` (`removed`, `requested`, `already_finished`), `state` (404 when unknown) |
//! | POST | `api/batches/{id}/cancel` | the batch after the step (404 when unknown) |
//!
//! Every POST also needs `X-CSRF-Token` (unless sent with a bearer token) and is
//! refused with 403 in read-only mode.

mod batches;
mod csrf_token;
mod failed;
mod history;
mod job_data;
mod jobs;
mod limits;
mod params;
mod queue_admin;
mod queue_row;
mod queues;
mod schedules;
mod workers;

use axum::routing::{get, post};
use axum::Router;

use crate::Dashboard;

/// How many per-queue reads run at once.
const FAN_OUT: usize = 8;

/// The routes of the table above.
pub(crate) fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/api/overview", get(queues::overview))
        .route("/api/queues", get(queues::list))
        .route("/api/queues/{queue}", get(queues::one))
        .route("/api/queues/{queue}/jobs", get(jobs::list))
        .route("/api/queues/{queue}/pause", post(queue_admin::pause))
        .route("/api/queues/{queue}/resume", post(queue_admin::resume))
        .route("/api/jobs/{id}", get(jobs::show))
        .route("/api/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/failed", get(failed::list))
        .route("/api/failed/retry-all", post(failed::retry_all))
        .route("/api/failed/forget-all", post(failed::forget_all))
        .route("/api/failed/{id}/retry", post(failed::retry))
        .route("/api/failed/{id}/forget", post(failed::forget))
        .route("/api/workers", get(workers::list))
        .route("/api/schedules", get(schedules::list))
        .route("/api/limits", get(limits::list))
        .route("/api/batches", get(batches::list))
        .route("/api/batches/{id}", get(batches::show))
        .route("/api/batches/{id}/cancel", post(batches::cancel))
        .route("/api/csrf", get(csrf_token::show))
}
