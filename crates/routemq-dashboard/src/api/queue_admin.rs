//! `POST api/queues/{queue}/pause` and `…/resume`.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::params::queue_name;
use crate::error::ApiError;
use crate::Dashboard;

/// `POST api/queues/{queue}/pause`.
pub(crate) async fn pause(
    State(d): State<Dashboard>,
    Path(queue): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let queue = queue_name(&queue)?;
    let changed = d.driver().pause(&queue).await?;
    Ok(Json(
        json!({ "queue": queue, "paused": true, "changed": changed }),
    ))
}

/// `POST api/queues/{queue}/resume`.
pub(crate) async fn resume(
    State(d): State<Dashboard>,
    Path(queue): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let queue = queue_name(&queue)?;
    let changed = d.driver().resume(&queue).await?;
    Ok(Json(
        json!({ "queue": queue, "paused": false, "changed": changed }),
    ))
}
