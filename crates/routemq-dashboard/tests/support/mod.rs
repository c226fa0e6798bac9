//! What the dashboard's tests share: a dashboard over a memory driver mounted at
//! `/jobs-admin` as an application would, requests sent with tower's `oneshot`,
//! and jobs pushed, claimed and failed through the driver.

#![allow(dead_code)] // each test file uses part of it

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use routemq_core::prelude::*;
use routemq_core::{Codec, Envelope, JobId, MemoryDriver, PendingJob, QueueName};
use routemq_dashboard::{Auth, Dashboard, DashboardConfig};
use serde_json::Value;
use tower::ServiceExt;

/// Where the tests mount the dashboard.
pub const MOUNT: &str = "/jobs-admin";

/// A dashboard over a fresh memory driver.
pub struct Harness {
    pub driver: Arc<MemoryDriver>,
    pub dashboard: Dashboard,
    pub app: Router,
}

impl Harness {
    /// With `auth`, mutations allowed.
    pub fn new(auth: Auth) -> Self {
        Self::with_config(DashboardConfig {
            auth,
            read_only: false,
        })
    }

    /// With `config`.
    pub fn with_config(config: DashboardConfig) -> Self {
        let driver = Arc::new(MemoryDriver::new());
        let as_driver: Arc<dyn Driver> = driver.clone();
        let dashboard = Dashboard::new(as_driver.clone(), as_driver, config).unwrap();
        let app = Router::new().nest(MOUNT, routemq_dashboard::router(dashboard.clone()));
        Harness {
            driver,
            dashboard,
            app,
        }
    }

    /// Sends `req` to the application.
    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.app.clone().oneshot(req).await.unwrap()
    }

    /// `GET path` (relative to the mount point) with `headers`.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response<Body> {
        self.send(request("GET", path, headers, Body::empty()))
            .await
    }

    /// `POST path` with `headers` and no body.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)]) -> Response<Body> {
        self.send(request("POST", path, headers, Body::empty()))
            .await
    }

    /// `POST path` with the CSRF header of this dashboard (and `headers`).
    pub async fn post_csrf(&self, path: &str, headers: &[(&str, &str)]) -> Response<Body> {
        let token = self.dashboard.csrf_token().to_owned();
        let mut all = vec![("x-csrf-token", token.as_str())];
        all.extend_from_slice(headers);
        self.post(path, &all).await
    }

    /// `GET path` that must answer 200; its JSON.
    pub async fn get_json(&self, path: &str, headers: &[(&str, &str)]) -> Value {
        let resp = self.get(path, headers).await;
        let status = resp.status();
        let body = json(resp).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// The queue's name.
    pub fn queue(name: &str) -> QueueName {
        QueueName::new(name).unwrap()
    }

    /// Pushes a job of `name` with `data` encoded by `codec`, due after `delay`.
    pub async fn push(
        &self,
        queue: &str,
        name: &str,
        codec: Codec,
        data: &Value,
        delay: Option<Duration>,
    ) -> JobId {
        let bytes = codec.encode("test data", data).unwrap();
        let env = Envelope::new(name, Self::queue(queue), codec, bytes);
        let job = PendingJob::new(&env, delay.map(|d| SystemTime::now() + d)).unwrap();
        self.driver.push(job).await.unwrap()
    }

    /// Pushes a JSON job due now.
    pub async fn push_json(&self, queue: &str, data: Value) -> JobId {
        self.push(queue, "tests.job", Codec::Json, &data, None)
            .await
    }

    /// Claims the next job of `queue` and fails it for good with `error`.
    pub async fn claim_and_fail(&self, queue: &str, error: &str) -> JobId {
        let claimed = self
            .driver
            .claim(&[Self::queue(queue)], 1, Duration::from_secs(30))
            .await
            .unwrap();
        let r = claimed.into_iter().next().expect("a job to claim");
        self.driver.fail(&r.lease, error).await.unwrap();
        r.lease.job_id
    }

    /// The paused queues' names.
    pub async fn paused(&self) -> Vec<String> {
        self.driver
            .paused()
            .await
            .unwrap()
            .iter()
            .map(|q| q.to_string())
            .collect()
    }
}

/// A request for `path` under the mount point; `/` is the page itself
/// (`/jobs-admin`: under `Router::nest` axum routes no `/jobs-admin/` to it).
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let uri = match path.trim_start_matches('/') {
        "" => MOUNT.to_owned(),
        rest => format!("{MOUNT}/{rest}"),
    };
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).unwrap()
}

/// The body as text.
pub async fn text(resp: Response<Body>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The body as JSON.
pub async fn json(resp: Response<Body>) -> Value {
    let body = text(resp).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A header of `resp` as text, if present.
pub fn header_of(resp: &Response<Body>, name: header::HeaderName) -> Option<&str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}
