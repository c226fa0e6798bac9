//! Batches: `GET api/batches`, `GET api/batches/{id}`,
//! `POST api/batches/{id}/cancel`.

use axum::extract::{Path, State};
use axum::Json;
use routemq_core::BatchId;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::Dashboard;

/// `GET api/batches`: newest first.
pub(crate) async fn list(State(d): State<Dashboard>) -> Result<Json<Value>, ApiError> {
    let batches = d.driver().batches().await?;
    Ok(Json(json!({ "batches": batches })))
}

/// `GET api/batches/{id}`.
pub(crate) async fn show(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = BatchId::from_string(id);
    let batch = d
        .driver()
        .batch(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no batch {id}")))?;
    Ok(Json(json!(batch)))
}

/// `POST api/batches/{id}/cancel`: the batch after the step.
pub(crate) async fn cancel(
    State(d): State<Dashboard>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = BatchId::from_string(id);
    let batch = d
        .driver()
        .cancel_batch(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no batch {id}")))?;
    Ok(Json(json!(batch)))
}
