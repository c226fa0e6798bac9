//! `routemq dashboard`: refuses an exposed address without credentials and bad
//! credentials (exit code 2, the secret never printed), and serves on the memory
//! driver until SIGTERM. No server needed.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{clean_cmd, clean_std_cmd};

fn fails_with_code_2(cmd: &mut assert_cmd::Command) -> String {
    // A regression here would start serving: never wait on it for long.
    let out = cmd.timeout(Duration::from_secs(30)).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    err
}

#[test]
fn an_exposed_address_needs_credentials() {
    let err = fails_with_code_2(clean_cmd().env("QUEUE_CONNECTION", "memory").args([
        "dashboard",
        "--addr",
        "0.0.0.0:0",
    ]));
    assert!(
        err.starts_with("routemq: --addr: 0.0.0.0:0 is not a loopback address"),
        "{err}"
    );
    assert!(
        err.contains("--auth-token") && err.contains("--basic-auth"),
        "{err}"
    );
}

#[test]
fn malformed_credentials_are_named_and_not_printed() {
    let err = fails_with_code_2(
        clean_cmd()
            .env("QUEUE_CONNECTION", "memory")
            .env("ROUTEMQ_DASHBOARD_BASIC_AUTH", "hunter2")
            .args(["dashboard"]),
    );
    assert!(
        err.starts_with("routemq: ROUTEMQ_DASHBOARD_BASIC_AUTH=*** expected USER:PASSWORD"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let err = fails_with_code_2(clean_cmd().env("QUEUE_CONNECTION", "memory").args([
        "dashboard",
        "--basic-auth",
        "ops:",
    ]));
    assert!(
        err.contains("--basic-auth=***") && err.contains("password"),
        "{err}"
    );
}

/// The status code of `GET path` with `headers`, over a plain connection.
fn status_of(addr: &str, path: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[cfg(unix)]
#[test]
fn it_serves_until_sigterm() {
    let mut child = clean_std_cmd()
        .env("QUEUE_CONNECTION", "memory")
        .env("ROUTEMQ_DASHBOARD_TOKEN", "tok-123")
        .args(["dashboard", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() && stderr.read_line(&mut line).unwrap() > 0 {
        addr = line
            .split("dashboard listening on http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(str::to_owned);
        line.clear();
    }
    let Some(addr) = addr else {
        let _ = child.kill();
        panic!("no `dashboard listening on` line");
    };

    assert_eq!(status_of(&addr, "/api/queues", ""), "401");
    assert_eq!(
        status_of(&addr, "/api/queues", "Authorization: Bearer tok-123\r\n"),
        "200"
    );

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still serving 20 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("dashboard stopped"), "{rest}");
}
