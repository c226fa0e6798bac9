//! The verb scenarios, run against every real backend by `redis.rs` and `mysql.rs`.

#![allow(dead_code)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{queue, Backend};

mod schedule;
pub use schedule::{schedule_verbs, schedules_fire_each_tick_once_across_workers};
mod unique;
pub use unique::{
    bad_unique_flags, concurrent_unique_pushes_store_one_job, unique_scopes_and_debounce,
};
mod bench_filler;
pub use bench_filler::{bench_with_filler, StoreFigure};
pub mod groups;
pub mod rate_limit;
pub mod tracking;
pub mod workflows;

fn id_of(pushed: &Value) -> String {
    pushed["id"]
        .as_str()
        .expect("push --json prints an id")
        .to_owned()
}

/// push → stats; push prints the id in text mode too.
pub fn push_and_stats(b: &Backend) {
    let q = queue("push");
    let out = b
        .cmd(&[
            "push",
            "--queue",
            &q,
            "--job",
            "routemq.noop",
            "--data",
            "{}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap();
    assert_eq!(id.trim().len(), 36, "push prints the UUID: {id:?}");
    let pushed = b.ok(&[
        "push",
        "--queue",
        &q,
        "--job",
        "routemq.sleep",
        "--data",
        r#"{"ms": 1}"#,
        "--delay",
        "1h",
        "--tries",
        "5",
        "--timeout",
        "10s",
        "--json",
    ]);
    assert_eq!(pushed["queue"], q.as_str());
    assert_eq!(pushed["delay_ms"], 3_600_000);
    let s = b.stats(&q);
    assert_eq!(
        (s["ready"].as_u64(), s["delayed"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(s["queue"], q.as_str());
    assert!(s["oldest_ready_age"].is_u64(), "{s}");
    // The table form names the queue too.
    let table = b.cmd(&["stats", "--queue", &q]).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains(&q) && text.contains("oldest ready"), "{text}");
}

/// A job that fails (its attempt times out) → `failed list` → `failed show` →
/// `failed retry` → a worker runs it to success.
pub fn failed_round_trip(b: &Backend) {
    let q = queue("roundtrip");
    let id = id_of(&b.ok(&[
        "push",
        "--queue",
        &q,
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
        &q,
        "--timeout",
        "100ms",
        "--stop-when-empty",
        "--sleep",
        "0.2",
        "--json",
    ]);
    assert_eq!(
        (report["failed"].as_u64(), report["processed"].as_u64()),
        (Some(1), Some(0)),
        "{report}"
    );

    let listed = b.ok(&["failed", "list", "--queue", &q, "--json"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["job"], "routemq.sleep");
    let shown = b.ok(&["failed", "show", &id, "--json"]);
    assert_eq!(shown["data"]["ms"], 400, "{shown}");
    assert!(!shown["exception"].as_str().unwrap().is_empty(), "{shown}");
    let text = b.cmd(&["failed", "list", "--queue", &q]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains(&id));

    let retried = b.ok(&["failed", "retry", &id, "--json"]);
    assert_eq!(retried["retried"][0], id.as_str(), "{retried}");
    let s = b.stats(&q);
    assert_eq!(
        (s["ready"].as_u64(), s["failed"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );

    let report = b.ok(&[
        "work",
        "--queue",
        &q,
        "--stop-when-empty",
        "--sleep",
        "0.2",
        "--json",
    ]);
    assert_eq!(
        (report["processed"].as_u64(), report["failed"].as_u64()),
        (Some(1), Some(0)),
        "{report}"
    );
    let s = b.stats(&q);
    assert_eq!(
        (
            s["ready"].as_u64(),
            s["reserved"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{s}"
    );
    assert_eq!(
        b.ok(&["failed", "list", "--queue", &q, "--json"]),
        serde_json::json!([])
    );

    // Unknown ids are errors (exit code 1) naming the id.
    let out = b.cmd(&["failed", "show", "no-such-id"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no failed job with id no-such-id"));
}

/// forget, flush, prune and retry --all on a store of failing jobs.
pub fn failed_housekeeping(b: &Backend) {
    let q = queue("housekeeping");
    for i in 0..5 {
        let data = format!(r#"{{"message": "boom {i}"}}"#);
        b.ok(&[
            "push",
            "--queue",
            &q,
            "--job",
            "routemq.fail",
            "--data",
            &data,
            "--tries",
            "1",
            "--json",
        ]);
    }
    let report = b.ok(&[
        "work",
        "--queue",
        &q,
        "--stop-when-empty",
        "--concurrency",
        "4",
        "--sleep",
        "0.2",
        "--json",
    ]);
    assert_eq!(report["failed"].as_u64(), Some(5), "{report}");
    let listed = b.ok(&["failed", "list", "--queue", &q, "--json"]);
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(
        listed[0]["exception"].as_str().unwrap().contains("boom"),
        "{listed}"
    );

    assert_eq!(
        b.ok(&["failed", "forget", &ids[0], "--json"])["forgotten"],
        ids[0].as_str()
    );
    assert_eq!(
        b.cmd(&["failed", "forget", &ids[0]])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        b.ok(&["failed", "prune", "--older-than", "1h", "--json"])["pruned"],
        0
    );

    let retried = b.ok(&["failed", "retry", "--all", "--queue", &q, "--json"]);
    assert_eq!(retried["retried"], 4, "{retried}");
    let s = b.stats(&q);
    assert_eq!(
        (s["ready"].as_u64(), s["failed"].as_u64()),
        (Some(4), Some(0)),
        "{s}"
    );
    b.ok(&[
        "work",
        "--queue",
        &q,
        "--stop-when-empty",
        "--concurrency",
        "4",
        "--sleep",
        "0.2",
        "--json",
    ]);
    assert_eq!(b.stats(&q)["failed"], 4);

    assert_eq!(
        b.ok(&["failed", "flush", "--queue", &q, "--json"])["flushed"],
        4
    );
    assert_eq!(b.stats(&q)["failed"], 0);

    b.ok(&[
        "push",
        "--queue",
        &q,
        "--job",
        "routemq.panic",
        "--tries",
        "1",
        "--json",
    ]);
    b.ok(&["work", "--queue", &q, "--once", "--json"]);
    let listed = b.ok(&["failed", "list", "--queue", &q, "--json"]);
    assert!(
        listed[0]["exception"]
            .as_str()
            .unwrap()
            .contains("routemq.panic was asked to panic"),
        "{listed}"
    );
    std::thread::sleep(Duration::from_millis(1_100));
    let pruned = b.ok(&["failed", "prune", "--older-than", "1s", "--json"]);
    assert!(pruned["pruned"].as_u64().unwrap() >= 1, "{pruned}");
    assert_eq!(b.stats(&q)["failed"], 0);
}

/// `clear` refuses without --force when stdin is not a terminal, then clears.
pub fn clear_queue(b: &Backend) {
    let q = queue("clear");
    for _ in 0..3 {
        b.ok(&["push", "--queue", &q, "--job", "routemq.noop", "--json"]);
    }
    let out = b
        .std_cmd(&["clear", "--queue", &q])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(b.stats(&q)["ready"], 3);
    assert_eq!(
        b.ok(&["clear", "--queue", &q, "--force", "--json"])["cleared"],
        3
    );
    assert_eq!(b.stats(&q)["ready"], 0);
}

/// `workers` lists a running worker from its heartbeat, with host, pid, queues,
/// concurrency and prefetch.
pub fn workers_lists_a_live_worker(b: &Backend) {
    let q = queue("workers");
    let args = [
        "work",
        "--queue",
        &q,
        "--concurrency",
        "3",
        "--prefetch",
        "2",
    ];
    let mut child = (b.std_cmd(&args))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let me = loop {
        let all = b.ok(&["workers", "--json"]);
        if let Some(w) = all.as_array().unwrap().iter().find(|w| w["pid"] == pid) {
            break w.clone();
        }
        assert!(
            Instant::now() < deadline,
            "worker {pid} never showed up: {all}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(me["queues"], serde_json::json!([q]));
    assert_eq!(
        (&me["concurrency"], &me["prefetch"]),
        (&3.into(), &2.into())
    );
    assert!(!me["host"].as_str().unwrap().is_empty());
    let table = b.cmd(&["workers"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains(&pid.to_string()), "{table}");
    assert!(table.contains("0/3 (+2 ahead)"), "{table}");
    terminate(&mut child);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let all = b.ok(&["workers", "--json"]);
    assert!(
        !all.as_array().unwrap().iter().any(|w| w["pid"] == pid),
        "heartbeat removed on exit: {all}"
    );
}

/// Pushes `count` `routemq.sleep` jobs of `ms` milliseconds each onto `q`.
fn push_sleeps(b: &Backend, q: &str, count: usize, ms: u64) {
    let data = format!(r#"{{"ms": {ms}}}"#);
    for _ in 0..count {
        b.ok(&[
            "push",
            "--queue",
            q,
            "--job",
            "routemq.sleep",
            "--data",
            &data,
            "--json",
        ]);
    }
}

/// Runs `routemq work` with `args` and `--json` until `q`'s stats satisfy
/// `busy`, then 300 ms more, then sends it SIGTERM; checks it exits
/// successfully within 10 s with stop reason `shutdown` and returns its report.
fn work_until_sigterm(b: &Backend, q: &str, args: &[&str], busy: impl Fn(&Value) -> bool) -> Value {
    let mut child = (b.std_cmd(&[&["work", "--queue", q], args, &["--json"]].concat()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    b.wait_stats(q, busy);
    std::thread::sleep(Duration::from_millis(300));
    terminate(&mut child);
    let stopped_at = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(stopped_at.elapsed() < Duration::from_secs(10));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["stop_reason"], "shutdown", "{report}");
    report
}

/// SIGTERM during `work`: the running job finishes, the rest stay queued and are
/// claimable at once by the next worker.
pub fn sigterm_lets_the_running_job_finish(b: &Backend) {
    let q = queue("sigterm");
    push_sleeps(b, &q, 3, 1500);
    let report = work_until_sigterm(b, &q, &["--concurrency", "1"], |s| s["reserved"] == 1);
    assert_eq!(report["processed"], 1, "the running job finished: {report}");
    assert_eq!(report["failed"], 0, "{report}");
    let s = b.stats(&q);
    assert_eq!(
        (s["ready"].as_u64(), s["reserved"].as_u64()),
        (Some(2), Some(0)),
        "{s}"
    );

    let started = Instant::now();
    let next = b.ok(&["work", "--queue", &q, "--once", "--json"]);
    assert_eq!(next["processed"], 1, "{next}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "claimable at once, not after a lease"
    );
}

/// `routemq work --prefetch 2 --concurrency 1` holds three jobs while one
/// runs; on SIGTERM the running one finishes and the two held ahead go back
/// unstarted, claimable at once.
pub fn sigterm_gives_back_the_jobs_claimed_ahead(b: &Backend) {
    let q = queue("prefetch");
    push_sleeps(b, &q, 4, 1500);
    let report = work_until_sigterm(b, &q, &["--concurrency", "1", "--prefetch", "2"], |s| {
        s["reserved"] == 3 && s["ready"] == 1
    });
    assert_eq!(report["processed"], 1, "the running job finished: {report}");
    assert_eq!(report["released_on_shutdown"], 2, "{report}");
    let s = b.stats(&q);
    assert_eq!(
        (s["ready"].as_u64(), s["reserved"].as_u64()),
        (Some(3), Some(0)),
        "{s}"
    );
}

/// `routemq pause Q` stops a running `routemq work` from starting Q's jobs
/// within a second while the job it runs finishes; dispatch still stores jobs;
/// `routemq resume Q` lets the worker run them again at once; `stats` shows it.
pub fn pause_and_resume_a_running_worker(b: &Backend) {
    let q = queue("pause");
    let push = |ms: u64| {
        b.ok(&[
            "push",
            "--queue",
            &q,
            "--job",
            "routemq.sleep",
            "--data",
            &format!(r#"{{"ms": {ms}}}"#),
            "--json",
        ])
    };
    for _ in 0..3 {
        push(800);
    }
    let child = (b.std_cmd(&["work", "--queue", &q, "--concurrency", "1", "--json"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    b.wait_stats(&q, |s| s["reserved"] == 1);
    let paused = b.ok(&["pause", &q, "--json"]);
    assert_eq!(
        (&paused["queue"], &paused["paused"], &paused["changed"]),
        (
            &Value::from(q.as_str()),
            &Value::from(true),
            &Value::from(true)
        ),
        "{paused}"
    );
    let again = b.ok(&["pause", &q, "--json"]);
    assert_eq!(again["changed"], false, "pausing twice: {again}");
    let text = b.cmd(&["pause", &q]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("already paused"),
        "{text:?}"
    );
    // The running job (800 ms) finishes; no other starts.
    std::thread::sleep(Duration::from_millis(1_800));
    let s = b.stats(&q);
    assert_eq!(
        (
            s["ready"].as_u64(),
            s["reserved"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(2), Some(0), Some(0)),
        "a paused queue: the running job finished, no new one started: {s}"
    );
    assert_eq!(s["paused"], true, "{s}");
    push(100);
    assert_eq!(
        b.stats(&q)["ready"],
        3,
        "dispatch to a paused queue stores the job"
    );
    let table = b.cmd(&["stats", "--queue", &q]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.contains("paused") && table.contains("yes"), "{table}");

    let resumed_at = Instant::now();
    let resumed = b.ok(&["resume", &q, "--json"]);
    assert_eq!(
        (&resumed["paused"], &resumed["changed"]),
        (&Value::from(false), &Value::from(true)),
        "{resumed}"
    );
    b.wait_stats(&q, |s| s["ready"].as_u64() < Some(3));
    let took = resumed_at.elapsed();
    assert!(
        took < Duration::from_millis(1_500),
        "the worker took a job {took:?} after resume (its idle wait is 3 s)"
    );
    assert_eq!(b.stats(&q)["paused"], false);
    let not_paused = b.ok(&["resume", &q, "--json"]);
    assert_eq!(not_paused["changed"], false, "{not_paused}");
    b.wait_stats(&q, |s| s["ready"] == 0 && s["reserved"] == 0);

    let mut child = child;
    terminate(&mut child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["processed"], 4, "{report}");
}

/// The demo on a real server accounts for every job.
pub fn demo(b: &Backend) {
    let q = queue("demo");
    let summary = b.ok(&["demo", "--jobs", "60", "--queue", &q, "--quiet", "--json"]);
    assert_eq!(summary["complete"], true, "{summary}");
    assert_eq!(summary["driver"], b.name);
    assert_eq!(summary["failed"], summary["plan"]["failing"]);
    assert_eq!(b.stats(&q)["failed"], summary["plan"]["failing"]);
}

/// `config` names the driver and never prints a password.
pub fn config_shows_no_secret(b: &Backend) {
    let out = b
        .cmd(&["config", "--json"])
        .env("REDIS_PASSWORD", "hunter2")
        .env("DB_PASS", "hunter2")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains("hunter2"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["connection"], b.name);
    assert_eq!(v["variables"]["REDIS_PASSWORD"], "***");
}

pub(crate) use crate::support::terminate;

/// `bench --json` prints the benchmark's figures under the keys `cargo xtask
/// bench` documents (figures are printed, never asserted on).
pub fn bench(b: &Backend) {
    let report = b.ok(&[
        "bench",
        "--jobs",
        "300",
        "--concurrency",
        "8",
        "--prefetch",
        "4",
        "--latency-jobs",
        "20",
        "--json",
    ]);
    assert_bench_report(&report, b.name);
    assert_eq!(report["prefetch"], 4, "{report}");
}

pub fn assert_bench_report(report: &Value, driver: &str) {
    assert_bench_figures(report, driver, 300, &[]);
}

/// The plain report's keys plus `extra`, for a run of `jobs` jobs on `driver`.
pub fn assert_bench_figures(report: &Value, driver: &str, jobs: u64, extra: &[&str]) {
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "driver",
        "jobs",
        "concurrency",
        "prefetch",
        "enqueue_per_sec",
        "bulk_enqueue_per_sec",
        "drain_per_sec",
        "latency_p50_ms",
        "latency_p99_ms",
        "rate_limit_per_sec",
        "rate_limited_drain_per_sec",
        "groups",
        "group_drain_per_sec",
        "progress_reference_drain_per_sec",
        "progress_drain_per_sec",
        "progress_calls_per_sec",
        "history_off_drain_per_sec",
        "history_on_drain_per_sec",
    ];
    want.extend_from_slice(extra);
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want, "{report}");
    assert_eq!(report["driver"], driver);
    assert_eq!(report["jobs"], jobs);
    for k in [
        "enqueue_per_sec",
        "bulk_enqueue_per_sec",
        "drain_per_sec",
        "rate_limited_drain_per_sec",
        "group_drain_per_sec",
        "progress_reference_drain_per_sec",
        "progress_drain_per_sec",
        "progress_calls_per_sec",
        "history_off_drain_per_sec",
        "history_on_drain_per_sec",
    ] {
        assert!(report[k].as_f64().unwrap() > 0.0, "{k}: {report}");
    }
    assert_eq!(report["rate_limit_per_sec"], 500.0, "{report}");
}
