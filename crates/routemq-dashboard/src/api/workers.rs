//! `GET api/workers`: live workers from their heartbeats.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::Dashboard;

/// `GET api/workers`.
pub(crate) async fn list(State(d): State<Dashboard>) -> Result<Json<Value>, ApiError> {
    let workers = d.driver().workers().await?;
    Ok(Json(json!({ "workers": workers })))
}
