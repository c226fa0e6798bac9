//! Job status, progress and cancellation from the command line, with a real
//! `routemq work`: `job show` follows a `routemq.sleep` through its states with
//! the worker and its progress, `cancel` stops it within a second, and a
//! waiting job is removed by `cancel`.

use std::time::{Duration, Instant, SystemTime};

use routemq_core::unix_ms;
use serde_json::Value;

use crate::support::{queue, Backend};

/// Polls `job show ID --json` until `pred` holds (15 s at most).
fn wait_job(b: &Backend, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = b.cmd(&["job", "show", id, "--json"]).output().unwrap();
        if out.status.success() {
            let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
            if pred(&shown) {
                return shown;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not reached in 15 s: {out:?}"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// A long `routemq.sleep` shows as running with the worker's id and its
/// progress; `routemq cancel` stops it within 1 s; it is cancelled, not failed;
/// a delayed job is removed by `cancel`; unknown ids exit 1.
pub fn cancel_a_running_sleep(b: &Backend) {
    let q = queue("track");
    let push = |ms: u64, delay: Option<&str>| -> String {
        let data = format!(r#"{{"ms": {ms}}}"#);
        let mut args = vec![
            "push",
            "--queue",
            &q,
            "--job",
            "routemq.sleep",
            "--data",
            &data,
            "--json",
        ];
        if let Some(d) = delay {
            args.extend(["--delay", d]);
        }
        b.ok(&args)["id"].as_str().expect("an id").to_owned()
    };
    let sleeper = push(30_000, None);
    let waiting = push(100, Some("1h"));
    let shown = b.ok(&["job", "show", &waiting, "--json"]);
    assert_eq!(shown["state"], "delayed", "{shown}");

    let child = b.spawn_worker(&q, 2, &[]);
    let running = wait_job(b, &sleeper, "running with progress", |s| {
        s["state"] == "running" && s["progress"]["percent"].as_f64().is_some_and(|p| p > 0.0)
    });
    let worker = running["worker"].as_str().expect("the worker is named");
    let workers = b.ok(&["workers", "--json"]);
    assert!(
        workers
            .as_array()
            .is_some_and(|ws| ws.iter().any(|w| w["id"] == worker)),
        "the job names a live worker: {running} / {workers}"
    );
    let text = b.cmd(&["job", "show", &sleeper]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("running") && text.contains("slept") && text.contains(worker),
        "{text}"
    );

    let asked_ms = unix_ms(SystemTime::now());
    let cancelled = b.ok(&["cancel", &sleeper, "--json"]);
    assert_eq!(cancelled["outcome"], "requested", "{cancelled}");
    let done = wait_job(b, &sleeper, "cancelled", |s| s["state"] == "cancelled");
    let stopped_after = done["finished_at_ms"].as_i64().expect("finished_at_ms") - asked_ms;
    assert!(
        stopped_after < 1_000,
        "a running routemq.sleep stops within 1 s of its cancel: {stopped_after} ms"
    );
    let again = b.ok(&["cancel", &sleeper, "--json"]);
    assert_eq!(
        again["outcome"],
        serde_json::json!({"already_finished": "cancelled"}),
        "{again}"
    );

    let removed = b.ok(&["cancel", &waiting, "--queue", &q, "--json"]);
    assert_eq!(removed["outcome"], "removed", "{removed}");
    assert_eq!(
        b.ok(&["job", "show", &waiting, "--json"])["state"],
        "cancelled"
    );
    let s = b.stats(&q);
    assert_eq!(
        (
            s["ready"].as_u64(),
            s["delayed"].as_u64(),
            s["reserved"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(0)),
        "nothing left, nothing failed: {s}"
    );

    let unknown = b
        .cmd(&["cancel", "0192f0c4-0000-7000-8000-000000000000"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no job"),
        "{unknown:?}"
    );

    let report = b.stop_workers(vec![child]).remove(0);
    assert_eq!(
        (&report["cancelled"], &report["failed"]),
        (&Value::from(1), &Value::from(0)),
        "{report}"
    );
}
