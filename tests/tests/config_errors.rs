//! Malformed configuration of a `routemq work` process: a clear one-line error
//! and an exit within seconds, never a hang. (The CLI's own tests cover the same
//! messages for `stats`; these run the worker verb as a child process.)

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `routemq work --queue q` with only `env` set; returns its exit code,
/// stderr and run time. Fails the test if it runs longer than `limit`.
fn work_with(env: &[(&str, &str)], limit: Duration) -> (i32, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_e2e-routemq"))
        .args(["work", "--queue", "q"])
        .env_clear()
        .env("ROUTEMQ_ENV_FILE", "/dev/null")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn routemq work");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code().unwrap_or(-1), err, started.elapsed());
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("routemq work with {env:?} still running after {limit:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const QUICK: Duration = Duration::from_secs(5);

#[test]
fn non_numeric_redis_port_is_named() {
    let (code, err, _) = work_with(
        &[("QUEUE_CONNECTION", "redis"), ("REDIS_PORT", "abc")],
        QUICK,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("REDIS_PORT=abc"), "{err}");
}

#[test]
fn unknown_queue_connection_is_named() {
    let (code, err, _) = work_with(&[("QUEUE_CONNECTION", "foo")], QUICK);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("QUEUE_CONNECTION=foo"), "{err}");
}

/// A port on which nothing listens.
fn closed_port() -> u16 {
    routemq_testkit::free_port().unwrap()
}

#[test]
fn refused_redis_is_a_clear_error_at_once() {
    let port = closed_port().to_string();
    let (code, err, took) = work_with(
        &[("QUEUE_CONNECTION", "redis"), ("REDIS_PORT", &port)],
        QUICK,
    );
    eprintln!("refused redis: exit {code} after {took:?}: {err}");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unavailable"), "{err}");
}

#[test]
fn refused_mysql_is_a_clear_error_at_once() {
    let url = format!("mysql://root@127.0.0.1:{}/x", closed_port());
    let (code, err, took) = work_with(
        &[("QUEUE_CONNECTION", "database"), ("DATABASE_URL", &url)],
        QUICK,
    );
    eprintln!("refused mysql: exit {code} after {took:?}: {err}");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unavailable"), "{err}");
}

const SILENT_LIMIT: Duration = Duration::from_secs(15);

#[test]
fn silent_redis_is_a_clear_error_within_seconds() {
    let server = routemq_testkit::SilentServer::start().unwrap();
    let port = server.port();
    let port = port.to_string();
    let (code, err, took) = work_with(
        &[("QUEUE_CONNECTION", "redis"), ("REDIS_PORT", &port)],
        SILENT_LIMIT,
    );
    eprintln!("silent redis: exit {code} after {took:?}: {err}");
    assert_ne!(code, 0, "{err}");
    assert!(err.starts_with("routemq: "), "{err}");
}

#[test]
fn silent_mysql_is_a_clear_error_within_seconds() {
    let server = routemq_testkit::SilentServer::start().unwrap();
    let port = server.port();
    let url = format!("mysql://root@127.0.0.1:{port}/x");
    let (code, err, took) = work_with(
        &[("QUEUE_CONNECTION", "database"), ("DATABASE_URL", &url)],
        SILENT_LIMIT,
    );
    eprintln!("silent mysql: exit {code} after {took:?}: {err}");
    assert_ne!(code, 0, "{err}");
    assert!(err.starts_with("routemq: "), "{err}");
}
