//! `GET api/csrf`: the CSRF token every POST sends, and what the page needs to
//! know about this dashboard.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::Dashboard;

/// `GET api/csrf`.
pub(crate) async fn show(State(d): State<Dashboard>) -> Json<Value> {
    Json(json!({
        "csrf_token": d.csrf_token(),
        "read_only": d.config().read_only,
        "auth": d.config().auth.mode(),
    }))
}
