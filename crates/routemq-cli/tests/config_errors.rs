//! Bad configuration: one line on stderr naming the variable, exit code 2, no
//! secret printed. Precedence: flags > environment > `.env`. No server needed.

mod support;

use support::clean_cmd;

fn fails_with(cmd: &mut assert_cmd::Command, code: i32) -> String {
    // A regression here could start a worker: never wait on it for long.
    let out = cmd
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(code), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    err
}

#[test]
fn unknown_connection_is_named() {
    let err = fails_with(
        clean_cmd()
            .env("QUEUE_CONNECTION", "postgres")
            .args(["stats"]),
        2,
    );
    assert_eq!(
        err,
        "routemq: QUEUE_CONNECTION=postgres must be one of redis, database, memory\n"
    );
}

#[test]
fn missing_connection_says_what_to_set() {
    let err = fails_with(clean_cmd().args(["stats"]), 2);
    assert!(
        err.starts_with(
            "routemq: QUEUE_CONNECTION is not set; set it to redis, database or memory"
        ),
        "{err}"
    );
}

/// The drivers parse their own variables, so this needs both compiled in.
#[cfg(all(feature = "redis", feature = "mysql"))]
#[test]
fn bad_port_is_named_and_the_password_is_not_printed() {
    let err = fails_with(
        clean_cmd()
            .env("QUEUE_CONNECTION", "redis")
            .env("REDIS_PORT", "six")
            .env("REDIS_PASSWORD", "hunter2")
            .args(["stats"]),
        2,
    );
    assert_eq!(
        err,
        "routemq: REDIS_PORT=six is not a port number (1-65535)\n"
    );
    let err = fails_with(
        clean_cmd()
            .env("QUEUE_CONNECTION", "database")
            .env("DATABASE_URL", "postgres://app:hunter2@db/jobs")
            .args(["stats"]),
        2,
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert!(
        err.contains("DATABASE_URL=postgres://app:***@db/jobs"),
        "{err}"
    );
}

#[test]
fn disabled_driver_is_not_silently_replaced() {
    let err = fails_with(
        clean_cmd()
            .env("QUEUE_CONNECTION", "redis")
            .env("ENABLE_REDIS", "false")
            .env("ENABLE_MYSQL", "true")
            .args(["stats"]),
        2,
    );
    assert!(err.contains("ENABLE_REDIS=false"), "{err}");
}

#[cfg(feature = "redis")]
#[test]
fn unreachable_server_is_a_runtime_error() {
    let err = fails_with(
        clean_cmd()
            .env("QUEUE_CONNECTION", "redis")
            .env("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
            .args(["stats"]),
        1,
    );
    assert!(
        err.starts_with("routemq: redis backend unavailable"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let out = clean_cmd()
        .args(["work", "--sleep", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"soon\" is not a duration"));
    for (args, want) in [
        (&["work", "--concurrency", "0"][..], "routemq: --concurrency: concurrency must be at least 1\n"),
        (&["work", "--sleep", "0"], "routemq: --sleep: the sleep interval must be longer than zero\n"),
        (&["work", "--tries", "0"], "routemq: --tries: must be at least 1\n"),
        (&["work", "--queue", "a,a"], "routemq: --queue: queue \"a\" is listed twice; list each queue once, in priority order\n"),
        (&["bench", "--settle", "5s"], "routemq: --settle: pauses after the fill of --queued N jobs: give --queued as well\n"),
    ] {
        let err = fails_with(clean_cmd().args(["--connection", "memory"]).args(args), 2);
        assert_eq!(err, want);
    }
    let err = fails_with(
        clean_cmd().args([
            "--connection",
            "memory",
            "push",
            "--job",
            "x",
            "--data",
            "{oops",
        ]),
        2,
    );
    assert!(
        err.starts_with("routemq: --data: is not valid JSON"),
        "{err}"
    );
    let err = fails_with(
        clean_cmd().args([
            "--connection",
            "memory",
            "push",
            "--job",
            "x",
            "--queue",
            "a:b",
        ]),
        2,
    );
    assert!(err.contains("invalid queue name \"a:b\""), "{err}");
}

/// Resolves a Redis configuration (and shows the MySQL variables), so needs both
/// drivers compiled in.
#[cfg(all(feature = "redis", feature = "mysql"))]
#[test]
fn precedence_is_flag_then_environment_then_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".env");
    std::fs::write(
        &file,
        "QUEUE_CONNECTION=redis\nREDIS_HOST=from-file\nREDIS_PASSWORD=hunter2\n",
    )
    .unwrap();
    let config = |cmd: &mut assert_cmd::Command| -> serde_json::Value {
        let out = cmd.args(["config", "--json"]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("hunter2"));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // .env found in the working directory.
    let v = config(
        clean_cmd()
            .env_remove("ROUTEMQ_ENV_FILE")
            .current_dir(dir.path()),
    );
    assert_eq!(v["connection"], "redis");
    assert_eq!(v["url"], "redis://:***@from-file:6379/0");
    assert_eq!(v["variables"]["REDIS_PASSWORD"], "***");
    // The environment beats the file.
    let v = config(
        clean_cmd()
            .env("ROUTEMQ_ENV_FILE", &file)
            .env("REDIS_HOST", "from-env"),
    );
    assert_eq!(v["url"], "redis://:***@from-env:6379/0");
    // The flag beats both.
    let v = config(
        clean_cmd()
            .env("ROUTEMQ_ENV_FILE", &file)
            .args(["--connection", "memory"]),
    );
    assert_eq!(v["connection"], "memory");
    assert_eq!(v["chosen_by"], "--connection");
}

#[test]
fn broken_env_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.env");
    std::fs::write(&file, "QUEUE_CONNECTION=memory\nnot a line\n").unwrap();
    let err = fails_with(clean_cmd().arg("--env-file").arg(&file).arg("stats"), 2);
    assert!(err.contains("broken.env: cannot parse"), "{err}");
}

/// Runs in `cargo test -p routemq-cli --no-default-features`.
#[cfg(not(feature = "redis"))]
#[test]
fn missing_driver_feature_is_a_config_error() {
    let err = fails_with(
        clean_cmd().env("QUEUE_CONNECTION", "redis").args(["stats"]),
        2,
    );
    assert!(err.contains("cargo feature"), "{err}");
}

#[test]
fn demo_runs_on_memory_when_nothing_is_configured() {
    let out = clean_cmd()
        .args(["demo", "--jobs", "50", "--quiet", "--json"])
        .timeout(std::time::Duration::from_secs(50))
        .output()
        .unwrap();
    let v = support::json_of(&out, &["demo"]);
    assert_eq!(v["driver"], "memory");
    assert_eq!(v["complete"], true, "{v}");
    let table = clean_cmd()
        .args(["demo", "--jobs", "20", "--quiet"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("demo on memory") && text.contains("in the failed store"),
        "{text}"
    );
}

#[test]
fn every_verb_has_help_with_an_example() {
    for verb in [
        &["work"][..],
        &["push"],
        &["stats"],
        &["failed", "list"],
        &["failed", "show"],
        &["failed", "retry"],
        &["failed", "forget"],
        &["failed", "flush"],
        &["failed", "prune"],
        &["clear"],
        &["pause"],
        &["resume"],
        &["schedule", "add"],
        &["schedule", "list"],
        &["schedule", "remove"],
        &["schedule", "run"],
        &["limit", "set"],
        &["limit", "list"],
        &["limit", "clear"],
        &["migrate"],
        &["outbox", "status"],
        &["outbox", "relay"],
        &["workers"],
        &["dashboard"],
        &["bench"],
        &["demo"],
        &["config"],
    ] {
        let out = clean_cmd().args(verb).arg("--help").output().unwrap();
        assert!(out.status.success(), "{verb:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example:\n  routemq") || text.contains("Example:\n  QUEUE_CONNECTION"),
            "{verb:?}: {text}"
        );
    }
}

/// Resolves a Redis configuration (and shows the MySQL variables), so needs both
/// drivers compiled in.
#[cfg(all(feature = "redis", feature = "mysql"))]
#[test]
fn env_example_is_a_valid_configuration() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example");
    let out = clean_cmd()
        .env("ROUTEMQ_ENV_FILE", example)
        .args(["config", "--json"])
        .output()
        .unwrap();
    let v = support::json_of(&out, &["config"]);
    assert_eq!(v["connection"], "redis");
    assert_eq!(v["url"], "redis://127.0.0.1:6379/0");
    assert_eq!(v["variables"]["DB_PASS"], "***");
}

#[test]
fn bench_runs_on_memory_when_nothing_is_configured() {
    let out = clean_cmd()
        .args([
            "bench",
            "--jobs",
            "300",
            "--concurrency",
            "8",
            "--latency-jobs",
            "20",
            "--json",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let report = support::json_of(&out, &["bench"]);
    assert_eq!(report["driver"], "memory");
    assert!(report["drain_per_sec"].as_f64().unwrap() > 0.0, "{report}");
    let table = clean_cmd()
        .args(["bench", "--jobs", "100", "--latency-jobs", "5"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("bulk enqueue"));
}

/// `bench --queued` on the memory driver: the filler's keys beside the plain
/// ones, the filler still waiting after the drain, and "n/a" store figures
/// (`null` in JSON, `n/a` in the table): the memory driver cannot tell.
#[test]
fn bench_with_filler_on_memory_reports_it() {
    let args = [
        "bench",
        "--queued",
        "500",
        "--jobs",
        "200",
        "--concurrency",
        "8",
        "--latency-jobs",
        "20",
        "--json",
    ];
    let out = clean_cmd()
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let report = support::json_of(&out, &args);
    for k in support::BENCH_FILLER_KEYS {
        assert!(report.get(k).is_some(), "{k}: {report}");
    }
    assert_eq!(report["driver"], "memory");
    assert_eq!(report["jobs"], 200);
    assert_eq!(report["queued"], 500);
    assert_eq!(report["ready_after_fill"], 500, "{report}");
    assert_eq!(report["ready_after_drain"], 500, "{report}");
    assert_eq!(report["settle_seconds"], 0.0, "{report}");
    assert!(report["store_bytes_per_queued_job"].is_null(), "{report}");
    assert!(
        report["store_bytes_per_job_beyond_payload"].is_null(),
        "{report}"
    );
    let table = clean_cmd()
        .args([
            "bench",
            "--queued",
            "100",
            "--jobs",
            "100",
            "--latency-jobs",
            "5",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("store bytes per queued job"), "{text}");
    assert!(text.contains("n/a"), "{text}");
    assert!(text.contains("worker RSS"), "{text}");
}

/// Without `--queued` the report has none of the filler's keys.
#[test]
fn bench_without_filler_has_no_filler_keys() {
    let args = ["bench", "--jobs", "100", "--latency-jobs", "5", "--json"];
    let out = clean_cmd()
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let report = support::json_of(&out, &args);
    for k in support::BENCH_FILLER_KEYS {
        assert!(report.get(k).is_none(), "{k}: {report}");
    }
}
