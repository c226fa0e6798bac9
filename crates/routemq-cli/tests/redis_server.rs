//! Against a `redis-server` this test starts itself: configuration from parts with
//! a password (URL building and escaping end to end), and `--metrics-addr`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use routemq_testkit::redis::RedisServer;
use support::{clean_cmd, json_of, queue};

// No space: the testkit sends AUTH as an inline command.
const PASSWORD: &str = "p@ss:w/rd%x#?";

fn on_server(server: &RedisServer, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = clean_cmd();
    cmd.env("QUEUE_CONNECTION", "redis")
        .env("REDIS_HOST", "127.0.0.1")
        .env("REDIS_PORT", server.port().to_string())
        .env("REDIS_DB", "3")
        .env("REDIS_PASSWORD", PASSWORD)
        .args(args);
    cmd
}

#[test]
fn password_from_parts_reaches_a_protected_server_and_is_never_printed() {
    let server = RedisServer::start_with(&["--requirepass", PASSWORD]).expect("redis-server");
    let q = queue("auth");
    let out = on_server(
        &server,
        &["push", "--queue", &q, "--job", "routemq.noop", "--json"],
    )
    .output()
    .unwrap();
    json_of(&out, &["push"]);
    let out = on_server(&server, &["stats", "--queue", &q, "--json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out, &["stats"])[0]["ready"], 1);

    let out = on_server(&server, &["config"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("REDIS_PASSWORD") && text.contains("***"),
        "{text}"
    );
    assert!(!text.contains("p@ss") && !text.contains("p%40ss"), "{text}");

    // REDIS_PASSWORD beside REDIS_URL is used too (as the Redis driver reads it).
    let out = clean_cmd()
        .env("QUEUE_CONNECTION", "redis")
        .env("REDIS_URL", format!("{}/3", server.url()))
        .env("REDIS_PASSWORD", PASSWORD)
        .args(["stats", "--queue", &q, "--json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out, &["stats"])[0]["ready"], 1);

    // A wrong password is a runtime error that does not echo the password.
    let out = on_server(&server, &["stats"])
        .env("REDIS_PASSWORD", "wrong-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("wrong-secret"), "{err}");
}

fn get_metrics(addr: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    Some(body)
}

#[test]
fn work_serves_prometheus_metrics() {
    let server = RedisServer::start_new().expect("redis-server");
    let q = queue("metrics");
    for _ in 0..3 {
        let out = on_server(
            &server,
            &["push", "--queue", &q, "--job", "routemq.noop", "--json"],
        )
        .env_remove("REDIS_PASSWORD")
        .output()
        .unwrap();
        json_of(&out, &["push"]);
    }
    let port = routemq_testkit::free_port().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_routemq"))
        .env_clear()
        .env("QUEUE_CONNECTION", "redis")
        .env("REDIS_URL", format!("{}/3", server.url()))
        .env("ROUTEMQ_ENV_FILE", "/dev/null")
        .args(["work", "--queue", &q, "--metrics-addr", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let body = loop {
        if let Some(body) = get_metrics(&addr) {
            if body.contains("routemq_jobs_total") && body.contains(&q) {
                break body;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no routemq_jobs_total for {q} at {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("routemq_job_duration_seconds"), "{body}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
}
