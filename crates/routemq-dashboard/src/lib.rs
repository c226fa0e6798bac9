//! The RouteMQ web dashboard: queues with their counts and throughput charts,
//! the jobs of a queue by state, one job with its data, failed jobs (retry,
//! forget), workers, schedules, rate limits and batches — a static single-page
//! app over a JSON API ([`api`]), for any driver.
//!
//! # What this crate must not depend on
//! Only `routemq-core`'s contract: it holds an `Arc<dyn Driver>` and an
//! `Arc<dyn FailedStore>` and never names a driver crate, the worker or the CLI.
//! Nothing is fetched from the network at run time: the page, its script and its
//! style sheet are compiled in (`assets/`), and the charts are SVG drawn by the
//! script.
//!
//! # Mounting
//! [`router`] is an [`axum::Router`] that works at any path: the page uses
//! relative URLs only (`api/…`, hash routes such as `#/queues/default`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use routemq_core::{Driver, MemoryDriver};
//! use routemq_dashboard::{Auth, Dashboard, DashboardConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
//! let config = DashboardConfig {
//!     auth: Auth::Token("a long random secret".into()),
//!     read_only: false,
//! };
//! let dashboard = Dashboard::new(driver.clone(), driver, config)?;
//! let app = axum::Router::new().nest("/jobs-admin", routemq_dashboard::router(dashboard));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! # Failed jobs kept elsewhere
//! The failed store given to [`Dashboard::new`] may be another backend's (the
//! database failed store of Redis queues): the failed pages list it, and
//! [`Dashboard::with_failed_counts`] ([`FailedCounts`]) makes the queue counts
//! show its numbers instead of the driver's own.
//!
//! # Safety
//! - **Authentication** ([`Auth`]): without valid credentials every route answers
//!   401 and changes nothing (the login form of token mode is the only page
//!   shown).
//! - **CSRF**: every POST needs the header `X-CSRF-Token` with the per-process
//!   token (in the page's `<meta name="csrf-token">`, and from `GET api/csrf`),
//!   unless it is authenticated by an `Authorization: Bearer` header; a POST whose
//!   `Origin` differs from its `Host` is refused.
//! - **Read-only** ([`DashboardConfig::read_only`]): every mutation answers 403.
//! - **Job data is never HTML**: the page is static, the script builds the DOM
//!   with `textContent`, and a strict `Content-Security-Policy` forbids inline
//!   scripts.

#![warn(missing_docs)]

pub mod api;
mod auth;
mod config;
mod csrf;
mod dashboard;
mod error;
mod failed_counts;
mod guard;
mod pages;
mod secret;
mod security_headers;
mod sessions;
mod stats_cache;

use std::future::Future;

use axum::Router;

pub use config::{Auth, AuthError, DashboardConfig};
pub use dashboard::Dashboard;
pub use failed_counts::FailedCounts;

/// The dashboard's routes (page, assets, login, `api/…`), guarded by its
/// authentication, CSRF and read-only checks. Mount it anywhere, e.g.
/// `Router::new().nest("/jobs-admin", router(dashboard))`.
pub fn router(state: Dashboard) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::middleware::from_fn(security_headers::add))
        .with_state(state)
}

/// Serves the dashboard alone at the root of `listener` until `shutdown`
/// completes, then finishes the requests in flight. Reads every queue's counts
/// ahead as it starts ([`Dashboard::count_ahead`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    dashboard: Dashboard,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    dashboard.count_ahead();
    axum::serve(listener, router(dashboard))
        .with_graceful_shutdown(shutdown)
        .await
}
