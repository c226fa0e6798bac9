//! `routemq limit set|list|clear` and the one timing assertion the rate-limit
//! issue asks for: 200 jobs under 20 per second, drained by two `routemq work`
//! processes, take 9 to 11 seconds.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{queue, Backend};

/// `limit set` refuses 0 jobs or a zero period naming the flag (exit code 2);
/// `limit set`, `list` and `stats` show the limit; two workers drain 200 jobs
/// of a queue limited to 20 per second in 9–11 s (the first 20 start at once,
/// the last 20 when the tenth window opens); `limit clear` removes it.
pub fn rate_limited_drain_by_two_workers(b: &Backend) {
    let q = queue("limit");
    for (args, flag) in [
        (["--jobs", "0", "--per", "1s"], "--jobs"),
        (["--jobs", "5", "--per", "0s"], "--per"),
    ] {
        let out = b
            .cmd(&["limit", "set", "--queue", &q])
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} names {flag}: {err}");
    }
    let set = b.ok(&[
        "limit", "set", "--queue", &q, "--jobs", "20", "--per", "1s", "--json",
    ]);
    assert_eq!(
        (&set["queue"], &set["jobs"], &set["per_ms"]),
        (
            &Value::from(q.as_str()),
            &Value::from(20),
            &Value::from(1000)
        ),
        "{set}"
    );
    let listed = b.ok(&["limit", "list", "--json"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["queue"] == q.as_str() && l["jobs"] == 20 && l["per_ms"] == 1000),
        "{listed}"
    );

    for _ in 0..200 {
        b.ok(&["push", "--queue", &q, "--job", "routemq.noop", "--json"]);
    }
    let s = b.stats(&q);
    assert_eq!(
        (s["ready"].as_u64(), &s["rate_limit"]["jobs"]),
        (Some(200), &Value::from(20)),
        "{s}"
    );
    let table = b.cmd(&["stats", "--queue", &q]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.contains("rate limit") && table.contains("20 per 1s"),
        "{table}"
    );

    let started = Instant::now();
    let workers: Vec<_> = (0..2).map(|_| b.spawn_worker(&q, 8, &[])).collect();
    let deadline = started + Duration::from_secs(30);
    loop {
        let s = b.stats(&q);
        if s["ready"] == 0 && s["reserved"] == 0 && s["delayed"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "not drained in 30 s: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = started.elapsed();
    let processed: u64 = b
        .stop_workers(workers)
        .iter()
        .map(|r| r["processed"].as_u64().unwrap())
        .sum();
    assert_eq!(processed, 200, "every job ran once");
    assert!(
        took >= Duration::from_secs(9) && took <= Duration::from_secs(11),
        "200 jobs under 20 per 1s drained in {took:?}, not 9-11 s"
    );

    let cleared = b.ok(&["limit", "clear", "--queue", &q, "--json"]);
    assert_eq!(cleared["cleared"], true, "{cleared}");
    let again = b.cmd(&["limit", "clear", "--queue", &q]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("had no rate limit"),
        "{again:?}"
    );
    assert_eq!(b.stats(&q).get("rate_limit"), None, "stats after clear");
}

/// `limit set --group-concurrency` and `--per-group`: bad values exit 2 naming
/// the flag; `set` and `list --json` show both; two `routemq work` processes (8
/// slots each) drain 2 groups of 6 jobs of 200 ms under a cap of 1 per group:
/// `stats` never shows more than 2 reserved, and the drain takes at least the
/// 6 × 200 ms one group's jobs need one after another; `limit clear` removes
/// both.
pub fn group_concurrency_by_two_workers(b: &Backend) {
    let q = queue("group_cap");
    for (args, flag) in [
        (vec!["--group-concurrency", "0"], "--group-concurrency"),
        (vec!["--per-group", "--group-concurrency", "1"], "--jobs"),
    ] {
        let out = b
            .cmd(&["limit", "set", "--queue", &q])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} names {flag}: {err}");
    }
    let set = b.ok(&[
        "limit",
        "set",
        "--queue",
        &q,
        "--jobs",
        "1000",
        "--per",
        "1s",
        "--per-group",
        "--group-concurrency",
        "1",
        "--json",
    ]);
    assert_eq!(
        (&set["per_group"], &set["group_concurrency"], &set["jobs"]),
        (&Value::from(true), &Value::from(1), &Value::from(1000)),
        "{set}"
    );
    let listed = b.ok(&["limit", "list", "--json"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["queue"] == q.as_str()
                && l["per_group"] == true
                && l["group_concurrency"] == 1),
        "{listed}"
    );
    let table = b.cmd(&["limit", "list"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.contains("group concurrency"), "{table}");

    for group in ["a", "b"] {
        for _ in 0..6 {
            b.ok(&[
                "push",
                "--queue",
                &q,
                "--job",
                "routemq.sleep",
                "--data",
                r#"{"ms":200}"#,
                "--group",
                group,
                "--json",
            ]);
        }
    }
    let started = Instant::now();
    let workers: Vec<_> = (0..2).map(|_| b.spawn_worker(&q, 8, &[])).collect();
    let deadline = started + Duration::from_secs(30);
    let mut most = 0;
    loop {
        let s = b.stats(&q);
        most = most.max(s["reserved"].as_u64().unwrap());
        if s["ready"] == 0 && s["reserved"] == 0 && s["delayed"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "not drained in 30 s: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let processed: u64 = b
        .stop_workers(workers)
        .iter()
        .map(|r| r["processed"].as_u64().unwrap())
        .sum();
    assert_eq!(processed, 12, "every job ran once");
    assert!(
        most <= 2,
        "{most} jobs reserved at once: 2 groups under a cap of 1"
    );
    assert!(
        took >= Duration::from_millis(1_200),
        "drained in {took:?}: a group's 6 jobs of 200 ms under a cap of 1 take 1.2 s"
    );
    let cleared = b.ok(&["limit", "clear", "--queue", &q, "--json"]);
    assert_eq!(cleared["cleared"], true, "{cleared}");
    let listed = b.ok(&["limit", "list", "--json"]);
    assert!(
        !listed
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["queue"] == q.as_str()),
        "{listed}"
    );
}
