//! `routemq schedule` scenarios: the verbs, and ticks fired once by several
//! `routemq work` processes.

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use routemq_cli::{connect, Config, Unconfigured};
use routemq_core::{QueueName, Reservation};

use super::terminate;
use crate::support::{queue, Backend};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Every job on `q`, claimed through the library with the backend's own
/// configuration (the CLI has no verb that prints queued jobs).
fn claim_all(b: &Backend, q: &str) -> Vec<Reservation> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let env = b.env.clone();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let config = Config::resolve(lookup, None, Unconfigured::Refuse).unwrap();
        let driver = connect(&config).await.unwrap();
        let queue = QueueName::new(q).unwrap();
        let mut all = Vec::new();
        loop {
            let got = driver
                .claim(std::slice::from_ref(&queue), 500, Duration::from_secs(60))
                .await
                .unwrap();
            if got.is_empty() {
                return all;
            }
            all.extend(got);
        }
    })
}

/// A 1-second schedule run by 4 `routemq work` processes: every tick in a fixed
/// 10-second window (starting after all four run, ending before any stops) is
/// enqueued exactly once — 10 jobs — and no tick of the whole run twice.
pub fn schedules_fire_each_tick_once_across_workers(b: &Backend) {
    let q = queue("ticks");
    let idle = queue("idle");
    let added = b.ok(&[
        "schedule",
        "add",
        "every-second",
        "--every",
        "1s",
        "--job",
        "routemq.noop",
        "--queue",
        &q,
        "--json",
    ]);
    assert_eq!(added["outcome"], "created", "{added}");
    let mut workers: Vec<Child> = (0..4)
        .map(|_| {
            b.std_cmd(&["work", "--queue", &idle, "--sleep", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let pids: BTreeSet<u32> = workers.iter().map(Child::id).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = b.ok(&["workers", "--json"]);
        let up = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| pids.contains(&(w["pid"].as_u64().unwrap() as u32)))
            .count();
        if up == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "4 workers never showed up: {all}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The window: the next whole second after all four run, for 10 s. Stop 2 s
    // after it ends (well inside the 5 s before a tick counts as missed).
    let window_start = (now_ms() / 1000 + 1) * 1000;
    let window_end = window_start + 10_000;
    std::thread::sleep(Duration::from_millis(
        (window_end + 2_000 - now_ms()).max(0) as u64,
    ));
    for w in &mut workers {
        assert!(w.try_wait().unwrap().is_none(), "a worker exited early");
        terminate(w);
    }
    for w in &mut workers {
        let status = w.wait().unwrap();
        assert!(status.success(), "{status}");
    }
    let jobs = claim_all(b, &q);
    let ticks: Vec<i64> = jobs
        .iter()
        .map(|r| {
            let env = r.envelope().unwrap();
            assert_eq!(env.name, "routemq.noop");
            env.created_at_ms
        })
        .collect();
    let distinct: BTreeSet<i64> = ticks.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        ticks.len(),
        "a tick was enqueued twice: {ticks:?}"
    );
    let in_window: Vec<i64> = distinct
        .iter()
        .copied()
        .filter(|t| (window_start..window_end).contains(t))
        .collect();
    assert_eq!(
        in_window.len(),
        10,
        "ticks in [{window_start}, {window_end}): {in_window:?} (all: {distinct:?})"
    );
    let listed = b.ok(&["schedule", "list", "--json"]);
    let last = listed[0]["last_run_ms"].as_i64().unwrap();
    assert_eq!(Some(&last), distinct.last(), "{listed}");
}

/// add (with bad input refused naming the flag), list, run now, re-add with the
/// same spec keeping the next run, remove.
pub fn schedule_verbs(b: &Backend) {
    let q = queue("sched");
    for (args, flag) in [
        (vec!["--cron", "61 * * * * *"], "--cron"),
        (vec!["--cron", "0 * * * *", "--tz", "Mars/Olympus"], "--tz"),
        (vec!["--every", "200ms"], "--every"),
        (vec!["--every", "1m", "--missed", "sometimes"], "--missed"),
    ] {
        let mut all = vec!["schedule", "add", "bad", "--job", "routemq.noop"];
        all.extend(args);
        let out = b.cmd(&all).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{all:?}: {err}");
    }
    let added = b.ok(&[
        "schedule",
        "add",
        "hourly",
        "--cron",
        "0 0 * * * *",
        "--tz",
        "Europe/Paris",
        "--job",
        "routemq.noop",
        "--queue",
        &q,
        "--data",
        r#"{"k":1}"#,
        "--missed",
        "catch-up:2",
        "--json",
    ]);
    assert_eq!(added["outcome"], "created");
    let next = added["next_run_ms"].as_i64().unwrap();
    assert_eq!(next % 3_600_000, 0, "on the hour: {added}");
    let ran = b.ok(&["schedule", "run", "hourly", "--json"]);
    let job_id = ran["job_id"].as_str().unwrap().to_owned();
    assert_eq!(b.stats(&q)["ready"], 1);
    let listed = b.ok(&["schedule", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let s = &listed[0];
    assert_eq!(s["name"], "hourly");
    assert_eq!(s["missed"], "catch-up:2");
    assert_eq!(s["data"], serde_json::json!({"k": 1}));
    assert_eq!(
        s["next_run_ms"].as_i64(),
        Some(next),
        "run does not move the next run"
    );
    assert_eq!(s["last_job_id"], job_id.as_str());
    let again = b.ok(&[
        "schedule",
        "add",
        "hourly",
        "--cron",
        "0 0 * * * *",
        "--tz",
        "Europe/Paris",
        "--job",
        "routemq.noop",
        "--queue",
        &q,
        "--json",
    ]);
    assert_eq!(again["outcome"], "kept", "{again}");
    assert_eq!(again["last_job_id"], job_id.as_str());
    let table = b.cmd(&["schedule", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("hourly"));
    let removed = b.ok(&["schedule", "remove", "hourly", "--json"]);
    assert_eq!(removed["removed"], true);
    let out = b.cmd(&["schedule", "remove", "hourly"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no schedule named"));
    let out = b.cmd(&["schedule", "run", "hourly"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(b.ok(&["schedule", "list", "--json"]), serde_json::json!([]));
}
