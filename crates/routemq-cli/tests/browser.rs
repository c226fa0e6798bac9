//! `routemq dashboard` in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, through `routemq_testkit::browser`), against real Redis and
//! MySQL/MariaDB: the `routemq` binary serves the dashboard with a token, the
//! browser logs in, and the test checks that
//! - a request without the token gets 401 and changes nothing;
//! - the overview shows the counts `routemq stats` prints, and its chart the
//!   failure the worker recorded in the store's history;
//! - the pause button pauses the queue (as `routemq stats` then says);
//! - retrying a failed job from the failed page puts it back on its queue;
//! - a job whose data holds HTML shows it as text, creating no element.
//!
//! Screenshots of each page are saved under `target/screenshots/`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use routemq_testkit::browser::Browser;
use serde_json::Value;
use support::{queue, terminate, Backend};

const TOKEN: &str = "browser-test-token-7f3a";
const HOSTILE: &str = "<img src=x id=injected onerror=alert(1)><script>alert(2)</script>";

#[test]
fn dashboard_in_chromium_on_redis() {
    dashboard_in_chromium(&Backend::redis());
}

#[test]
fn dashboard_in_chromium_on_mysql() {
    dashboard_in_chromium(&Backend::mysql());
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

fn id_of(pushed: &Value) -> String {
    pushed["id"]
        .as_str()
        .expect("push --json prints an id")
        .to_owned()
}

/// The status line and body of one plain HTTP/1.1 request.
fn http(addr: &str, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// `routemq dashboard` on a free port with the token; waits until it answers.
fn serve(b: &Backend) -> (Child, String) {
    let port = routemq_testkit::free_port().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let child = b
        .std_cmd(&["dashboard", "--addr", &addr, "--auth-token", TOKEN])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the dashboard never listened on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

/// Polls `stats` of `queue` until `pred` holds (15 s at most).
fn wait_stats(b: &Backend, queue: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = b.stats(queue);
        if pred(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: stats never matched: {s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `data-value` of a count cell of `queue`'s overview row, once it equals
/// `want` (the page refreshes every 5 s) or after 15 s.
async fn overview_count(browser: &Browser, queue: &str, count: &str, want: u64) -> u64 {
    let selector = format!("#queues-table tr[data-queue=\"{queue}\"] [data-count=\"{count}\"]");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let cell = browser.wait_for(&selector).await.unwrap();
        let value = cell
            .attr("data-value")
            .await
            .unwrap()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if value == want || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn dashboard_in_chromium(b: &Backend) {
    let shots = screenshots();
    let name = b.name;
    // Three queues: jobs waiting (one of them later, one holding HTML), a failed
    // job, and a running one.
    let (waiting, failing, running) = (queue("web"), queue("webfail"), queue("webrun"));
    for ms in [10, 20, 30] {
        b.ok(&[
            "push",
            "--queue",
            &waiting,
            "--job",
            "routemq.sleep",
            "--data",
            &format!("{{\"ms\": {ms}}}"),
            "--json",
        ]);
    }
    b.ok(&[
        "push",
        "--queue",
        &waiting,
        "--job",
        "routemq.sleep",
        "--data",
        r#"{"ms": 1}"#,
        "--delay",
        "1h",
        "--json",
    ]);
    let hostile_data = serde_json::json!({ "ms": 1, "note": HOSTILE }).to_string();
    let hostile = id_of(&b.ok(&[
        "push",
        "--queue",
        &waiting,
        "--job",
        "routemq.sleep",
        "--data",
        &hostile_data,
        "--json",
    ]));
    let failed = id_of(&b.ok(&[
        "push",
        "--queue",
        &failing,
        "--job",
        "routemq.sleep",
        "--data",
        r#"{"ms": 400}"#,
        "--tries",
        "1",
        "--json",
    ]));
    let report = b.ok(&[
        "work",
        "--queue",
        &failing,
        "--timeout",
        "100ms",
        "--stop-when-empty",
        "--sleep",
        "0.2",
        "--json",
    ]);
    assert_eq!(report["failed"].as_u64(), Some(1), "{report}");
    b.ok(&[
        "push",
        "--queue",
        &running,
        "--job",
        "routemq.sleep",
        "--data",
        r#"{"ms": 60000}"#,
        "--json",
    ]);
    let mut worker = b.spawn_worker(&running, 1, &[]);
    wait_stats(b, &running, "the long job runs", |s| s["reserved"] == 1);

    let (mut dashboard, addr) = serve(b);

    // Without the token: 401, and nothing changes.
    let (status, _) = http(&addr, "GET", "/");
    assert_eq!(status, 401, "the page without credentials");
    let (status, body) = http(&addr, "GET", "/api/queues");
    assert_eq!(status, 401, "{body}");
    let (status, body) = http(&addr, "POST", &format!("/api/queues/{waiting}/pause"));
    assert_eq!(status, 401, "{body}");
    let (status, body) = http(&addr, "POST", &format!("/api/failed/{failed}/retry"));
    assert_eq!(status, 401, "{body}");
    assert_eq!(b.stats(&waiting)["paused"], false);
    assert_eq!(b.stats(&failing)["failed"], 1);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let browser = Browser::start().await.expect("a headless Chromium");
        let base = format!("http://{addr}/");

        // Log in with the token.
        browser.client.goto(&base).await.unwrap();
        let field = browser.wait_for("#login-token").await.unwrap();
        browser
            .screenshot_to(&shots, &format!("dashboard-{name}-login.png"))
            .await
            .unwrap();
        field.send_keys(TOKEN).await.unwrap();
        browser
            .wait_for("#login-submit")
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser.wait_for("#queues-table").await.unwrap();

        // The overview shows what `routemq stats` prints.
        for q in [&waiting, &failing, &running] {
            let stats = b.stats(q);
            for (cell, key) in [
                ("ready", "ready"),
                ("delayed", "delayed"),
                ("running", "reserved"),
                ("failed", "failed"),
            ] {
                let want = stats[key].as_u64().unwrap();
                let shown = overview_count(&browser, q, cell, want).await;
                assert_eq!(
                    shown, want,
                    "{name}: overview {cell} of {q} against stats {stats}"
                );
            }
        }
        let stats = b.stats(&waiting);
        assert_eq!(
            (stats["ready"].as_u64(), stats["delayed"].as_u64()),
            (Some(4), Some(1)),
            "{stats}"
        );
        // The charts show the history the worker wrote: its one failure, and
        // nothing processed yet, so a failure rate of 100 %.
        for (total, want) in [("failed", "1"), ("processed", "0"), ("failure-rate", "1")] {
            let shown = browser
                .wait_for(&format!("#chart-hour [data-total=\"{total}\"]"))
                .await
                .unwrap()
                .attr("data-value")
                .await
                .unwrap();
            assert_eq!(shown.as_deref(), Some(want), "{name}: last hour's {total}");
        }
        browser
            .screenshot_to(&shots, &format!("dashboard-{name}-overview.png"))
            .await
            .unwrap();

        // The pause button pauses; the row then offers resume.
        browser
            .wait_for(&format!("#pause-{waiting}"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_stats(b, &waiting, "paused from the page", |s| s["paused"] == true);
        browser
            .wait_for(&format!("#resume-{waiting}"))
            .await
            .unwrap();
        browser
            .screenshot_to(&shots, &format!("dashboard-{name}-paused.png"))
            .await
            .unwrap();

        // The queue page lists the waiting jobs.
        browser
            .client
            .goto(&format!("{base}#/queues/{waiting}?state=ready"))
            .await
            .unwrap();
        browser
            .wait_for(&format!(
                "#jobs-table tr.job-row[data-job-id=\"{hostile}\"]"
            ))
            .await
            .unwrap();
        let rows = browser
            .client
            .find_all(routemq_testkit::browser::Locator::Css(
                "#jobs-table tr.job-row",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 4, "{name}: ready jobs listed");
        browser
            .screenshot_to(&shots, &format!("dashboard-{name}-queue.png"))
            .await
            .unwrap();

        // A job's data is text: the HTML in it creates no element.
        browser
            .client
            .goto(&format!("{base}#/jobs/{hostile}?queue={waiting}"))
            .await
            .unwrap();
        let payload = browser.wait_for("#job-payload").await.unwrap();
        let text = payload.text().await.unwrap();
        assert!(
            text.contains(HOSTILE),
            "{name}: payload shown as text: {text}"
        );
        let injected = browser
            .client
            .find_all(routemq_testkit::browser::Locator::Css(
                "#injected, #job-payload img, #job-payload script",
            ))
            .await
            .unwrap();
        assert!(injected.is_empty(), "{name}: job data became HTML");
        browser
            .screenshot_to(&shots, &format!("dashboard-{name}-job.png"))
            .await
            .unwrap();

        // Retrying the failed job from the failed page puts it back on its queue.
        browser
            .client
            .goto(&format!("{base}#/failed"))
            .await
            .unwrap();
        let retry = browser
            .wait_for(&format!(
                "#failed-table .retry-button[data-id=\"{failed}\"]"
            ))
            .await
            .unwrap();
        browser
            .screenshot_to(&shots, &format!("dashboard-{name}-failed.png"))
            .await
            .unwrap();
        retry.click().await.unwrap();
        let after = wait_stats(b, &failing, "retried from the page", |s| {
            s["failed"] == 0 && s["ready"] == 1
        });
        assert_eq!(after["reserved"], 0, "{after}");

        browser.close().await;
    });

    worker.kill().unwrap();
    let _ = worker.wait();
    terminate(&mut dashboard);
    let status = dashboard.wait().unwrap();
    assert!(
        status.success(),
        "the dashboard stops cleanly on SIGTERM: {status}"
    );
}
