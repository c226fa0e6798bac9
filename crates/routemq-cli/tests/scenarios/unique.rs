//! `routemq push --unique-key`: concurrent pushes of one key, the scopes and
//! debounce from the command line, and bad unique flags.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::{queue, Backend};

/// Runs `routemq push ARGS` and returns its stdout's one line.
fn push_line(b: &Backend, args: &[&str]) -> String {
    let out = b
        .cmd(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "routemq {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// 32 `routemq push --unique-key K` processes at once: one id printed 32 times,
/// 31 of them followed by `duplicate`, and one job in `stats`.
pub fn concurrent_unique_pushes_store_one_job(b: &Backend) {
    let q = queue("unique");
    let children: Vec<_> = (0..32)
        .map(|n| {
            b.std_cmd(&[
                "push",
                "--queue",
                &q,
                "--job",
                "routemq.noop",
                "--data",
                &format!(r#"{{"n": {n}}}"#),
                "--unique-key",
                "report:42",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut lines = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        lines.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    }
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(ids[0].len(), 36, "a UUID: {lines:?}");
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one id 32 times: {lines:?}"
    );
    let duplicates = lines.iter().filter(|l| l.ends_with(" duplicate")).count();
    assert_eq!(duplicates, 31, "31 pushes say duplicate: {lines:?}");
    let s = b.stats(&q);
    assert_eq!(
        (s["ready"].as_u64(), s["delayed"].as_u64()),
        (Some(1), Some(0)),
        "one job for 32 pushes: {s}"
    );

    // --json says it too; another key is stored.
    let dup = b.ok(&[
        "push",
        "--queue",
        &q,
        "--job",
        "routemq.noop",
        "--unique-key",
        "report:42",
        "--json",
    ]);
    assert_eq!(
        (&dup["id"], &dup["duplicate"]),
        (&Value::from(ids[0]), &Value::from(true)),
        "{dup}"
    );
    let other = b.ok(&[
        "push",
        "--queue",
        &q,
        "--job",
        "routemq.noop",
        "--unique-key",
        "report:43",
        "--json",
    ]);
    assert_eq!(other["duplicate"], false, "{other}");
    assert_ne!(other["id"], dup["id"]);
}

/// `--unique-until started` frees the key once a worker took the job;
/// `--unique-for` frees it after the duration; `--debounce` gives a waiting
/// holder the newest data and pushes its due time out.
pub fn unique_scopes_and_debounce(b: &Backend) {
    let q = queue("unique-scope");
    let push = |extra: &[&str]| {
        let mut args = vec!["push", "--queue", &q, "--job", "routemq.noop"];
        args.extend_from_slice(extra);
        push_line(b, &args)
    };
    let first = push(&["--unique-key", "s", "--unique-until", "started"]);
    assert_eq!(
        push(&["--unique-key", "s", "--unique-until", "started"]),
        format!("{first} duplicate")
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
    assert_eq!(report["processed"], 1, "{report}");
    let second = push(&["--unique-key", "s", "--unique-until", "started"]);
    assert_ne!(second, first, "a new job once the first has run");

    let timed = push(&[
        "--unique-key",
        "t",
        "--unique-for",
        "700ms",
        "--delay",
        "1h",
    ]);
    assert_eq!(
        push(&["--unique-key", "t", "--unique-for", "700ms"]),
        format!("{timed} duplicate")
    );
    std::thread::sleep(Duration::from_millis(900));
    let after = push(&[
        "--unique-key",
        "t",
        "--unique-for",
        "700ms",
        "--delay",
        "1h",
    ]);
    assert!(
        !after.contains("duplicate"),
        "the key is free after --unique-for: {after}"
    );

    let d = queue("unique-debounce");
    let deb = |data: &str| {
        b.ok(&[
            "push",
            "--queue",
            &d,
            "--job",
            "routemq.noop",
            "--data",
            data,
            "--unique-key",
            "doc:7",
            "--debounce",
            "1h",
            "--json",
        ])
    };
    let held = deb(r#"{"v": 1}"#);
    assert_eq!(
        (&held["duplicate"], &held["debounced"]),
        (&Value::from(false), &Value::from(false))
    );
    let again = deb(r#"{"v": 2}"#);
    assert_eq!(
        (&again["id"], &again["duplicate"], &again["debounced"]),
        (&held["id"], &Value::from(true), &Value::from(true)),
        "{again}"
    );
    let s = b.stats(&d);
    assert_eq!(
        (s["ready"].as_u64(), s["delayed"].as_u64()),
        (Some(0), Some(1)),
        "{s}"
    );
    let text = push_line(
        b,
        &[
            "push",
            "--queue",
            &d,
            "--job",
            "routemq.noop",
            "--unique-key",
            "doc:7",
            "--debounce",
            "1h",
        ],
    );
    assert_eq!(
        text,
        format!("{} duplicate debounced", held["id"].as_str().unwrap())
    );
}

/// Bad unique flags: one line naming the flag, exit code 2, nothing stored.
pub fn bad_unique_flags(b: &Backend) {
    let q = queue("unique-bad");
    let long = "k".repeat(300);
    for (args, flag) in [
        (vec!["--unique-key", ""], "--unique-key"),
        (vec!["--unique-key", long.as_str()], "--unique-key"),
        (
            vec!["--unique-key", "k", "--unique-for", "0"],
            "--unique-for",
        ),
        (vec!["--unique-for", "5s"], "--unique-key"),
        (
            vec!["--unique-key", "k", "--unique-until", "soon"],
            "--unique-until",
        ),
        (
            vec![
                "--unique-key",
                "k",
                "--unique-for",
                "5s",
                "--unique-until",
                "started",
            ],
            "--unique-until",
        ),
    ] {
        let mut all = vec!["push", "--queue", &q, "--job", "routemq.noop"];
        all.extend(args.iter().copied());
        let out = b.cmd(&all).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {err}");
        assert!(err.contains(flag), "{all:?} should name {flag}: {err}");
    }
    assert_eq!(b.stats(&q)["ready"], 0);
}
