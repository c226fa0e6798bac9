//! `GET api/limits`: every queue's rate limit and group concurrency cap.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::queue_row::LimitView;
use crate::error::ApiError;
use crate::Dashboard;

/// One queue's limits.
#[derive(Debug, Default, Serialize)]
struct LimitRow {
    queue: String,
    rate_limit: Option<LimitView>,
    group_concurrency: Option<u32>,
}

/// The row of `queue`, added when missing.
fn row<'r>(rows: &'r mut BTreeMap<String, LimitRow>, queue: &str) -> &'r mut LimitRow {
    rows.entry(queue.to_owned()).or_insert_with(|| LimitRow {
        queue: queue.to_owned(),
        ..LimitRow::default()
    })
}

/// `GET api/limits`: sorted by queue.
pub(crate) async fn list(State(d): State<Dashboard>) -> Result<Json<Value>, ApiError> {
    let driver = d.driver();
    let (limits, caps) =
        futures::try_join!(driver.rate_limits(), driver.group_concurrency_limits())?;
    let mut rows: BTreeMap<String, LimitRow> = BTreeMap::new();
    for (queue, limit) in limits {
        row(&mut rows, queue.as_str()).rate_limit = Some(LimitView::from(limit));
    }
    for (queue, cap) in caps {
        row(&mut rows, queue.as_str()).group_concurrency = Some(cap);
    }
    let rows: Vec<LimitRow> = rows.into_values().collect();
    Ok(Json(json!({ "limits": rows })))
}
