//! CSRF, `Origin` and read-only mode: a refused POST answers 403 and changes
//! nothing.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use routemq_core::prelude::*;
use routemq_core::{BatchId, BatchPlan, Codec, Envelope, JobState, PendingJob};
use routemq_dashboard::{Auth, DashboardConfig};
use support::{json, text, Harness};

#[tokio::test]
async fn a_post_without_the_csrf_header_is_refused_and_changes_nothing() {
    let h = Harness::new(Auth::None);
    h.push_json("default", serde_json::json!({})).await;
    let failed = h.claim_and_fail("default", "boom").await;

    let resp = h.post("api/queues/default/pause", &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(json(resp).await["error"]
        .as_str()
        .unwrap()
        .contains("X-CSRF-Token"));
    let resp = h
        .post(
            "api/queues/default/pause",
            &[("x-csrf-token", "0123456789abcdef")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = h.post(&format!("api/failed/{failed}/retry"), &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = h.post("api/failed/forget-all", &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    assert!(h.paused().await.is_empty());
    assert!(h.driver.failed_show(&failed).await.unwrap().is_some());
    assert_eq!(
        h.driver
            .stats(&Harness::queue("default"))
            .await
            .unwrap()
            .ready,
        0
    );

    let resp = h.post_csrf("api/queues/default/pause", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK, "{}", text(resp).await);
    assert_eq!(h.paused().await, ["default"]);
}

#[tokio::test]
async fn a_post_from_another_origin_is_refused() {
    let h = Harness::new(Auth::Token("tok-123".into()));
    let bearer = [
        ("authorization", "Bearer tok-123"),
        ("host", "localhost:8080"),
    ];
    for origin in ["http://evil.example", "http://localhost:9999", "null"] {
        let mut headers = bearer.to_vec();
        headers.push(("origin", origin));
        let resp = h.post_csrf("api/queues/default/pause", &headers).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{origin}");
    }
    // The login form too.
    let resp = h
        .post(
            "login",
            &[
                ("host", "localhost:8080"),
                ("origin", "http://evil.example"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(h.paused().await.is_empty());

    let mut same = bearer.to_vec();
    same.push(("origin", "http://localhost:8080"));
    let resp = h.post("api/queues/default/pause", &same).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(h.paused().await, ["default"]);
}

#[tokio::test]
async fn the_csrf_token_is_given_by_the_api_and_the_page() {
    let h = Harness::new(Auth::None);
    let body = h.get_json("api/csrf", &[]).await;
    assert_eq!(body["csrf_token"], h.dashboard.csrf_token());
    assert_eq!(body["read_only"], false);
    assert_eq!(h.dashboard.csrf_token().len(), 64);
    let html = text(h.get("/", &[]).await).await;
    assert!(html.contains(h.dashboard.csrf_token()));
    let other = Harness::new(Auth::None);
    assert_ne!(
        other.dashboard.csrf_token(),
        h.dashboard.csrf_token(),
        "each dashboard has a random token"
    );
}

#[tokio::test]
async fn read_only_refuses_every_mutation_and_changes_nothing() {
    let h = Harness::with_config(DashboardConfig {
        auth: Auth::None,
        read_only: true,
    });
    h.push_json("default", serde_json::json!({})).await;
    let failed = h.claim_and_fail("default", "boom").await;
    let waiting = h.push_json("default", serde_json::json!({})).await;
    h.driver.pause(&Harness::queue("paused")).await.unwrap();
    let env = Envelope::new(
        "tests.job",
        Harness::queue("batchq"),
        Codec::Json,
        b"{}".to_vec(),
    );
    let batch = h
        .driver
        .push_batch(BatchPlan {
            id: BatchId::generate(),
            queue: Harness::queue("batchq"),
            name: "nightly".into(),
            jobs: vec![PendingJob::new(
                &env,
                Some(std::time::SystemTime::now() + Duration::from_secs(3600)),
            )
            .unwrap()],
            then: None,
            catch: None,
            finally: None,
            allow_failures: false,
        })
        .await
        .unwrap();

    let mutations = [
        "api/queues/default/pause".to_owned(),
        "api/queues/paused/resume".to_owned(),
        format!("api/failed/{failed}/retry"),
        format!("api/failed/{failed}/forget"),
        "api/failed/retry-all".to_owned(),
        "api/failed/forget-all?queue=default".to_owned(),
        format!("api/jobs/{waiting}/cancel?queue=default"),
        format!("api/batches/{}/cancel", batch.id),
    ];
    for path in &mutations {
        let resp = h.post_csrf(path, &[]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(json(resp).await["error"]
            .as_str()
            .unwrap()
            .contains("read-only"));
    }
    assert_eq!(h.paused().await, ["paused"]);
    assert!(h.driver.failed_show(&failed).await.unwrap().is_some());
    let status = h
        .driver
        .job_status(&Harness::queue("default"), &waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.state, JobState::Ready);
    let kept = h.driver.batch(&batch.id).await.unwrap().unwrap();
    assert!(!kept.cancelled_batch);

    let overview = h.get_json("api/overview", &[]).await;
    assert_eq!(overview["read_only"], true);
    let html = text(h.get("/", &[]).await).await;
    assert!(html.contains(r#"<meta name="routemq-read-only" content="true">"#));
}
