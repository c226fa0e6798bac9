//! Errors as the API answers them: JSON `{"error": "…"}` with a fitting status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use routemq_core::DriverError;

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No such job, failed job, batch or route: 404.
    #[error("{0}")]
    NotFound(String),
    /// A parameter that cannot be used: 400.
    #[error("{0}")]
    BadRequest(String),
    /// The driver or the failed store failed: 503 when the backend is
    /// unreachable, 502 for a backend error, 400 for a refused argument, 500
    /// for the rest.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Driver(e) => driver_status(e),
        }
    }
}

fn driver_status(e: &DriverError) -> StatusCode {
    match e {
        DriverError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        e if e.is_transient() => StatusCode::BAD_GATEWAY,
        DriverError::InvalidQueueName { .. }
        | DriverError::InvalidArgument(_)
        | DriverError::InvalidRateLimit(_) => StatusCode::BAD_REQUEST,
        DriverError::LeaseLost { .. } => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "dashboard: request failed");
        }
        error_response(status, &self.to_string())
    }
}

/// `{"error": message}` with `status`.
pub(crate) fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The answer to a path the dashboard does not have.
pub(crate) async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "no such page or API route")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_errors_are_gateway_errors() {
        let down = DriverError::unavailable("redis", std::io::Error::other("refused"));
        assert_eq!(
            ApiError::from(down).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let broken = DriverError::backend("redis", std::io::Error::other("script"));
        assert_eq!(ApiError::from(broken).status(), StatusCode::BAD_GATEWAY);
        let bad = DriverError::InvalidArgument("x".into());
        assert_eq!(ApiError::from(bad).status(), StatusCode::BAD_REQUEST);
    }
}
