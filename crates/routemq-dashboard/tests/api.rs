//! The JSON API over the memory driver: what it reads matches the driver, what
//! it changes shows in the driver, job data comes back as JSON (never HTML), and
//! every answer carries the security headers.

mod support;

use std::time::{Duration, SystemTime};

use axum::http::{header, StatusCode};
use routemq_core::prelude::*;
use routemq_core::{
    unix_minute, BatchId, BatchPlan, Codec, Envelope, HistoryCounts, HistoryDelta, PendingJob,
    RateLimit, Schedule, ScheduleSpec,
};
use routemq_dashboard::Auth;
use serde_json::{json, Value};
use support::{header_of, json as body_json, text, Harness};

#[tokio::test]
async fn pause_and_resume_change_the_drivers_paused_queues() {
    let h = Harness::new(Auth::None);
    let resp = h.post_csrf("api/queues/emails/pause", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(resp).await;
    assert_eq!(
        body,
        json!({"queue": "emails", "paused": true, "changed": true})
    );
    assert_eq!(h.paused().await, ["emails"]);
    let row = &h.get_json("api/queues/emails", &[]).await["queue"];
    assert_eq!(row["paused"], true);

    let body = body_json(h.post_csrf("api/queues/emails/pause", &[]).await).await;
    assert_eq!(body["changed"], false, "pausing twice changes nothing");

    let resp = h.post_csrf("api/queues/emails/resume", &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(h.paused().await.is_empty());

    let resp = h.post_csrf("api/queues/bad%20name/pause", &[]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(h.paused().await.is_empty());
}

#[tokio::test]
async fn retrying_a_failed_job_puts_it_back_on_its_queue() {
    let h = Harness::new(Auth::None);
    h.push_json("mail", json!({"to": "a@b.c"})).await;
    let id = h.claim_and_fail("mail", "SMTP said 550\nat line 2").await;
    let q = Harness::queue("mail");
    assert_eq!(h.driver.stats(&q).await.unwrap().ready, 0);

    let list = h.get_json("api/failed?queue=mail", &[]).await;
    let jobs = list["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], id.as_str());
    assert_eq!(jobs[0]["name"], "tests.job");
    assert_eq!(jobs[0]["error"], "SMTP said 550", "the first line only");

    let detail = h.get_json(&format!("api/jobs/{id}"), &[]).await;
    assert_eq!(detail["status"]["state"], "failed");
    assert_eq!(detail["failed"]["error"], "SMTP said 550\nat line 2");
    assert_eq!(detail["job"]["data"], json!({"to": "a@b.c"}));

    let resp = h.post_csrf(&format!("api/failed/{id}/retry"), &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let stats = h.driver.stats(&q).await.unwrap();
    assert_eq!((stats.ready, stats.failed), (1, 0));
    assert!(h.driver.failed_show(&id).await.unwrap().is_none());

    let again = h.post_csrf(&format!("api/failed/{id}/retry"), &[]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(body_json(again).await["error"].is_string());
}

#[tokio::test]
async fn retry_all_forget_one_and_forget_all_act_on_the_failed_store() {
    let h = Harness::new(Auth::None);
    for queue in ["a", "a", "a", "b", "b"] {
        h.push_json(queue, json!({})).await;
        h.claim_and_fail(queue, "boom").await;
    }
    let body = body_json(h.post_csrf("api/failed/retry-all?queue=a", &[]).await).await;
    assert_eq!(body["retried"], 3);
    assert_eq!(h.driver.stats(&Harness::queue("a")).await.unwrap().ready, 3);
    assert_eq!(
        h.driver.stats(&Harness::queue("b")).await.unwrap().failed,
        2
    );

    let page = h.get_json("api/failed?limit=1", &[]).await;
    assert_eq!(page["has_more"], true);
    let first = page["jobs"][0]["id"].as_str().unwrap().to_owned();
    let resp = h
        .post_csrf(&format!("api/failed/{first}/forget"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        h.driver.stats(&Harness::queue("b")).await.unwrap().failed,
        1
    );

    let body = body_json(h.post_csrf("api/failed/forget-all", &[]).await).await;
    assert_eq!(body["forgotten"], 1);
    let list = h.get_json("api/failed", &[]).await;
    assert_eq!(list["jobs"], json!([]));
    assert_eq!(list["has_more"], false);
}

#[tokio::test]
async fn job_data_comes_back_decoded_for_json_and_msgpack_jobs() {
    let h = Harness::new(Auth::None);
    let data = json!({"user": 42, "tags": ["a", "b"], "nested": {"ok": true}});
    let json_id = h
        .push("reports", "reports.build", Codec::Json, &data, None)
        .await;
    let pack_id = h
        .push("reports", "reports.pack", Codec::MsgPack, &data, None)
        .await;

    let body = h.get_json(&format!("api/jobs/{json_id}"), &[]).await;
    assert_eq!(body["status"]["state"], "ready");
    assert_eq!(body["job"]["name"], "reports.build");
    assert_eq!(body["job"]["codec"], "json");
    assert_eq!(body["job"]["queue"], "reports");
    assert_eq!(body["job"]["max_tries"], 3);
    assert!(body["job"]["created_at_ms"].as_i64().unwrap() > 0);
    assert_eq!(body["job"]["data"], data);

    let body = h
        .get_json(&format!("api/jobs/{pack_id}?queue=reports"), &[])
        .await;
    assert_eq!(body["job"]["codec"], "msgpack");
    assert_eq!(body["job"]["data"], data);
    assert_eq!(body["job"]["encrypted"], false);

    let resp = h.get(&format!("api/jobs/{pack_id}?queue=other"), &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = h.get("api/jobs/no-such-job", &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(body_json(resp).await["error"]
        .as_str()
        .unwrap()
        .contains("no-such-job"));
}

#[tokio::test]
async fn a_script_in_job_data_stays_a_json_string_and_out_of_the_page() {
    let h = Harness::new(Auth::None);
    let evil = "<script>alert(1)</script>";
    let id = h
        .push(
            "web",
            "<img src=x onerror=alert(2)>",
            Codec::Json,
            &json!({ "html": evil }),
            None,
        )
        .await;

    let resp = h.get(&format!("api/jobs/{id}"), &[]).await;
    assert_eq!(
        header_of(&resp, header::CONTENT_TYPE),
        Some("application/json")
    );
    let body = body_json(resp).await;
    assert_eq!(body["job"]["data"]["html"], evil);
    assert_eq!(body["job"]["name"], "<img src=x onerror=alert(2)>");

    let listing = text(h.get("api/queues/web/jobs", &[]).await).await;
    assert!(listing.contains(id.as_str()));
    assert!(!listing.contains("alert(1)"), "a listing carries no data");

    for page in ["/", "app.js"] {
        let html = text(h.get(page, &[]).await).await;
        assert!(!html.contains("alert("), "{page} holds job data");
        assert!(!html.contains(id.as_str()), "{page} holds a job id");
    }
}

#[tokio::test]
async fn a_queue_listing_pages_through_the_jobs_of_a_state() {
    let h = Harness::new(Auth::None);
    let mut pushed = Vec::new();
    for n in 0..7 {
        pushed.push(h.push_json("pages", json!({ "n": n })).await);
    }
    let delayed = h
        .push(
            "pages",
            "tests.later",
            Codec::Json,
            &json!({}),
            Some(Duration::from_secs(3600)),
        )
        .await;

    let mut seen = Vec::new();
    let mut expected_more = [true, true, false].into_iter();
    for offset in [0, 3, 6] {
        let page = h
            .get_json(
                &format!("api/queues/pages/jobs?state=ready&offset={offset}&limit=3"),
                &[],
            )
            .await;
        assert_eq!(
            page["has_more"],
            expected_more.next().unwrap(),
            "offset {offset}"
        );
        for job in page["jobs"].as_array().unwrap() {
            assert_eq!(job["state"], "ready");
            assert_eq!(job["name"], "tests.job");
            assert!(
                job.get("data").is_none(),
                "a listing carries no data: {job}"
            );
            seen.push(job["id"].as_str().unwrap().to_owned());
        }
    }
    let pushed: Vec<String> = pushed.iter().map(|id| id.to_string()).collect();
    assert_eq!(seen, pushed, "every ready job once, oldest first");

    let whole = h.get_json("api/queues/pages/jobs?limit=500", &[]).await;
    assert_eq!(whole["jobs"].as_array().unwrap().len(), 7);
    assert_eq!(whole["has_more"], false);

    let page = h.get_json("api/queues/pages/jobs?state=delayed", &[]).await;
    let jobs = page["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["id"], delayed.as_str());
    assert!(jobs[0]["due_at_ms"].as_i64().unwrap() > 0);

    for bad in [
        "state=failed",
        "state=nope",
        "limit=0",
        "limit=501",
        "offset=-1",
    ] {
        let resp = h.get(&format!("api/queues/pages/jobs?{bad}"), &[]).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(body_json(resp).await["error"].is_string());
    }
}

#[tokio::test]
async fn overview_counts_equal_the_drivers_stats() {
    let h = Harness::new(Auth::None);
    for _ in 0..4 {
        h.push_json("alpha", json!({})).await;
    }
    h.push(
        "alpha",
        "later",
        Codec::Json,
        &json!({}),
        Some(Duration::from_secs(600)),
    )
    .await;
    h.claim_and_fail("alpha", "boom").await;
    h.driver
        .claim(&[Harness::queue("alpha")], 1, Duration::from_secs(60))
        .await
        .unwrap();
    h.push_json("beta", json!({})).await;
    h.driver.pause(&Harness::queue("beta")).await.unwrap();
    let limit = RateLimit::new(20, Duration::from_secs(1)).unwrap();
    h.driver
        .set_rate_limit(&Harness::queue("beta"), limit)
        .await
        .unwrap();

    let body = h.get_json("api/overview", &[]).await;
    assert_eq!(body["read_only"], false);
    assert_eq!(body["connection"], "memory");
    let rows = body["queues"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["queue"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    let mut sums = [0u64; 4];
    for row in rows {
        let stats = h
            .driver
            .stats(&Harness::queue(row["queue"].as_str().unwrap()))
            .await
            .unwrap();
        let counts = [stats.ready, stats.delayed, stats.reserved, stats.failed];
        for (i, (name, value)) in ["ready", "delayed", "running", "failed"]
            .into_iter()
            .zip(counts)
            .enumerate()
        {
            assert_eq!(row[name], value, "{} {name}", stats.queue);
            sums[i] += value;
        }
        assert_eq!(row["paused"], stats.paused);
    }
    assert_eq!(rows[0]["ready"], 2);
    assert_eq!(rows[0]["running"], 1);
    assert_eq!(rows[0]["failed"], 1);
    assert_eq!(rows[0]["delayed"], 1);
    assert!(rows[0]["oldest_ready_age_ms"].is_u64());
    assert_eq!(rows[1]["rate_limit"]["text"], "20 per 1s");
    let totals = &body["totals"];
    assert_eq!(totals["queues"], 2);
    assert_eq!(totals["paused"], 1);
    for (i, name) in ["ready", "delayed", "running", "failed"]
        .into_iter()
        .enumerate()
    {
        assert_eq!(totals[name], sums[i], "total {name}");
    }

    // The same rows, but for the age of the oldest job and of the shared
    // reading, which grow meanwhile.
    let without_age = |rows: &Value| {
        let mut rows = rows.clone();
        for row in rows.as_array_mut().unwrap() {
            row.as_object_mut().unwrap().remove("oldest_ready_age_ms");
            row.as_object_mut().unwrap().remove("counted_ms_ago");
        }
        rows
    };
    let list = h.get_json("api/queues", &[]).await;
    assert_eq!(without_age(&list["queues"]), without_age(&body["queues"]));
}

fn delta(queue: &str, minute: i64, processed: u64, failed: u64, retried: u64) -> HistoryDelta {
    HistoryDelta {
        queue: Harness::queue(queue),
        minute,
        counts: HistoryCounts {
            processed,
            failed,
            retried,
        },
    }
}

fn sum(series: &Value, field: &str) -> u64 {
    series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[field].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn overview_history_reflects_recorded_deltas() {
    let h = Harness::new(Auth::None);
    h.push_json("one", json!({})).await;
    h.push_json("two", json!({})).await;
    let now = unix_minute(SystemTime::now());
    h.driver
        .record_history(&[
            delta("one", now, 5, 1, 2),
            delta("two", now, 3, 0, 0),
            delta("one", now - 20, 7, 2, 0),
            delta("two", now - 120, 11, 0, 1),
            delta("one", now - 2 * 24 * 60, 1000, 1000, 1000),
        ])
        .await
        .unwrap();
    // A second write to the same minute adds up.
    h.driver
        .record_history(&[delta("one", now, 1, 0, 0)])
        .await
        .unwrap();

    let body = h.get_json("api/overview", &[]).await;
    let hour = &body["history"]["hour"];
    let day = &body["history"]["day"];
    assert_eq!(hour["points"].as_array().unwrap().len(), 60);
    assert_eq!(day["points"].as_array().unwrap().len(), 96);
    assert_eq!(day["bucket_minutes"], 15);
    let last = &hour["points"][59];
    assert_eq!(last["minute"], now);
    assert_eq!(last["processed"], 9);
    assert_eq!(last["failed"], 1);
    assert_eq!(last["retried"], 2);
    assert_eq!(hour["points"][39]["processed"], 7);
    assert_eq!((sum(hour, "processed"), sum(hour, "failed")), (16, 3));
    assert_eq!(
        (
            sum(day, "processed"),
            sum(day, "failed"),
            sum(day, "retried")
        ),
        (27, 3, 3),
        "the day covers 24 hours, not the delta 2 days back"
    );

    let one = h.get_json("api/queues/one", &[]).await;
    assert_eq!(sum(&one["history"]["hour"], "processed"), 13);
    assert_eq!(sum(&one["history"]["day"], "processed"), 13);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let h = Harness::new(Auth::Token("tok-123".into()));
    let bearer = [("authorization", "Bearer tok-123")];
    for (path, headers) in [
        ("/", &bearer[..]),
        ("api/overview", &bearer[..]),
        ("app.js", &bearer[..]),
        ("api/queues", &[][..]),
        ("/", &[][..]),
    ] {
        let resp = h.get(path, headers).await;
        assert_eq!(
            header_of(&resp, header::CONTENT_SECURITY_POLICY),
            Some("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
            "{path}"
        );
        assert_eq!(
            header_of(&resp, header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff")
        );
        assert_eq!(
            header_of(&resp, header::REFERRER_POLICY),
            Some("no-referrer")
        );
        assert_eq!(header_of(&resp, header::CACHE_CONTROL), Some("no-store"));
    }
    let js = h.get("app.js", &bearer).await;
    assert_eq!(
        header_of(&js, header::CONTENT_TYPE),
        Some("text/javascript; charset=utf-8")
    );
}

#[tokio::test]
async fn cancel_removes_a_waiting_job_and_404s_an_unknown_one() {
    let h = Harness::new(Auth::None);
    let id = h.push_json("jobs", json!({})).await;
    let resp = h
        .post_csrf(&format!("api/jobs/{id}/cancel?queue=jobs"), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = body_json(resp).await;
    assert_eq!(body["outcome"], "removed");
    assert_eq!(
        h.driver.stats(&Harness::queue("jobs")).await.unwrap().ready,
        0
    );
    let detail = h.get_json(&format!("api/jobs/{id}"), &[]).await;
    assert_eq!(detail["status"]["state"], "cancelled");

    let resp = h.post_csrf("api/jobs/nope/cancel", &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn workers_schedules_limits_and_batches_are_listed() {
    let h = Harness::new(Auth::None);
    let worker = routemq_core::WorkerInfo {
        id: "w-1".into(),
        host: "box".into(),
        pid: 7,
        queues: vec!["default".into()],
        concurrency: 4,
        prefetch: 0,
        running: 1,
        processed: 10,
        failed: 2,
        started_at_ms: 1,
        last_seen_ms: 2,
    };
    h.driver
        .heartbeat(&worker, Duration::from_secs(60))
        .await
        .unwrap();
    let schedule = Schedule::new(
        "nightly",
        ScheduleSpec::every(Duration::from_secs(60)).unwrap(),
        "reports.build",
    )
    .unwrap();
    h.driver
        .upsert_schedule(&schedule, SystemTime::now() + Duration::from_secs(60))
        .await
        .unwrap();
    h.driver
        .set_group_concurrency(&Harness::queue("exports"), 2)
        .await
        .unwrap();

    let workers = h.get_json("api/workers", &[]).await;
    assert_eq!(workers["workers"][0]["id"], "w-1");
    let schedules = h.get_json("api/schedules", &[]).await;
    assert_eq!(schedules["schedules"][0]["name"], "nightly");
    assert_eq!(schedules["schedules"][0]["job"], "reports.build");
    let limits = h.get_json("api/limits", &[]).await;
    assert_eq!(
        limits["limits"],
        json!([{"queue": "exports", "rate_limit": null, "group_concurrency": 2}])
    );
    assert_eq!(h.get_json("api/batches", &[]).await["batches"], json!([]));
    assert_eq!(
        h.get("api/batches/none", &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.post_csrf("api/batches/none/cancel", &[]).await.status(),
        StatusCode::NOT_FOUND
    );
    for path in ["api/nope", "nope.js"] {
        let resp = h.get(path, &[]).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(body_json(resp).await["error"].is_string());
    }
}

#[tokio::test]
async fn a_batch_shows_its_counters_and_can_be_cancelled() {
    let h = Harness::new(Auth::None);
    let later = Some(SystemTime::now() + Duration::from_secs(3600));
    let jobs = (0..3)
        .map(|_| {
            let env = Envelope::new(
                "tests.job",
                Harness::queue("batchq"),
                Codec::Json,
                b"{}".to_vec(),
            );
            PendingJob::new(&env, later).unwrap()
        })
        .collect();
    let batch = h
        .driver
        .push_batch(BatchPlan {
            id: BatchId::generate(),
            queue: Harness::queue("batchq"),
            name: "import".into(),
            jobs,
            then: None,
            catch: None,
            finally: None,
            allow_failures: false,
        })
        .await
        .unwrap();

    let list = h.get_json("api/batches", &[]).await;
    assert_eq!(list["batches"][0]["id"], batch.id.as_str());
    let one = h.get_json(&format!("api/batches/{}", batch.id), &[]).await;
    assert_eq!(
        (one["total"].as_u64(), one["pending"].as_u64()),
        (Some(3), Some(3))
    );

    let resp = h
        .post_csrf(&format!("api/batches/{}/cancel", batch.id), &[])
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let after = body_json(resp).await;
    assert_eq!(after["cancelled_batch"], true);
    assert_eq!(after["cancelled"], 3);
    assert!(
        h.driver
            .batch(&batch.id)
            .await
            .unwrap()
            .unwrap()
            .cancelled_batch
    );
}

#[derive(Debug)]
struct FixedCounts(Vec<(String, u64)>);

#[routemq_core::async_trait]
impl routemq_dashboard::FailedCounts for FixedCounts {
    async fn failed_counts(&self) -> Result<Vec<(String, u64)>, routemq_core::DriverError> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn a_failed_store_apart_from_the_driver_gives_the_failed_jobs_and_counts() {
    use std::sync::Arc;
    use tower::ServiceExt;

    let jobs = Harness::new(Auth::None);
    let store = Harness::new(Auth::None);
    jobs.push_json("default", json!({})).await;
    jobs.claim_and_fail("default", "in the driver's own store")
        .await;
    store.push_json("default", json!({})).await;
    let kept = store
        .claim_and_fail("default", "in the separate store")
        .await;

    let driver: Arc<dyn routemq_core::Driver> = jobs.driver.clone();
    let failed: Arc<dyn routemq_core::FailedStore> = store.driver.clone();
    let counts = FixedCounts(vec![("default".into(), 7), ("archive".into(), 2)]);
    let dashboard = routemq_dashboard::Dashboard::new(driver, failed, Default::default())
        .unwrap()
        .with_failed_counts(Arc::new(counts));
    let app = routemq_dashboard::router(dashboard);
    let get = |path: &'static str| {
        let app = app.clone();
        async move {
            let req = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .unwrap();
            body_json(app.oneshot(req).await.unwrap()).await
        }
    };

    let list = get("/api/failed").await;
    let ids: Vec<&str> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept.as_str()], "the failed jobs of the store given");

    let overview = get("/api/overview").await;
    let failed: Vec<(String, u64)> = overview["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["queue"].as_str().unwrap().to_owned(),
                r["failed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        failed,
        [("archive".to_owned(), 2), ("default".to_owned(), 7)],
        "the counts given, and the queues only the failed store knows"
    );
    assert_eq!(overview["totals"]["failed"], 9);
    assert_eq!(get("/api/queues/default").await["queue"]["failed"], 7);
}

#[tokio::test]
async fn the_largest_page_still_tells_whether_more_follow() {
    let h = Harness::new(Auth::None);
    for n in 0..501 {
        h.push_json("big", json!({ "n": n })).await;
    }
    let first = h.get_json("api/queues/big/jobs?limit=500", &[]).await;
    assert_eq!(first["jobs"].as_array().unwrap().len(), 500);
    assert_eq!(first["has_more"], true);
    let last = h
        .get_json("api/queues/big/jobs?limit=500&offset=500", &[])
        .await;
    assert_eq!(last["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(last["has_more"], false);
}
