//! The checks every request passes before any handler runs, in order:
//! authentication (401), then for anything but GET/HEAD the `Origin` and CSRF
//! checks and read-only mode (403). A refused request changes nothing; a
//! change that succeeded drops the shared queue counts (`stats_cache`).

use axum::extract::{OriginalUri, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::auth::{self, Credential};
use crate::error::error_response;
use crate::{csrf, Dashboard};

/// The middleware of [`router`](crate::router).
pub(crate) async fn guard(State(d): State<Dashboard>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let public = match method {
        Method::POST => path == "/login",
        Method::GET | Method::HEAD => path == "/login.css",
        _ => false,
    };
    let credential = auth::authenticate(&d, req.headers());
    if credential.is_none() && !public {
        let original = req
            .extensions()
            .get::<OriginalUri>()
            .map_or(path.as_str(), |u| u.path());
        return auth::unauthorized(&d, &method, &path, original);
    }
    let safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        if let Err(problem) = csrf::check_origin(req.headers()) {
            return error_response(StatusCode::FORBIDDEN, problem);
        }
        let needs_token = path != "/login" && credential != Some(Credential::Bearer);
        if needs_token {
            if let Err(problem) = csrf::check_token(&d, req.headers()) {
                return error_response(StatusCode::FORBIDDEN, problem);
            }
        }
        if d.config().read_only && path.starts_with("/api/") {
            return error_response(
                StatusCode::FORBIDDEN,
                "the dashboard is read-only: nothing can be changed from it",
            );
        }
    }
    let response = next.run(req).await;
    if !safe && response.status().is_success() {
        // A change was made: every page shows its effect at once.
        d.stats_cache().clear();
    }
    response
}
