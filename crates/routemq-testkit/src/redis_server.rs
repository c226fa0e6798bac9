//! A `redis-server` process (or a container, through testcontainers) the testkit
//! starts itself.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use testcontainers::ImageExt;

use crate::free_port;

/// Why a Redis server could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum RedisServerError {
    /// The binary or Docker could not be run.
    #[error("cannot start {what}: {cause}")]
    Spawn {
        /// What was being started.
        what: String,
        /// The OS error (shown in the message, not also a `source()`).
        cause: std::io::Error,
    },
    /// The server started but did not answer PING in time.
    #[error("{0}")]
    NotReady(String),
    /// A Redis Cluster could not be formed, did not settle in time, or a node
    /// refused a command (the message says which and what it answered).
    #[error("{0}")]
    Cluster(String),
}

/// A `redis-server` child process on a free loopback port, with append-only
/// persistence in a temporary directory. Killed when dropped; [`stop`] and
/// [`start`] restart it on the same port and data directory.
///
/// [`stop`]: RedisServer::stop
/// [`start`]: RedisServer::start
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
    child: Mutex<Option<Child>>,
}

impl RedisServer {
    /// Starts `redis-server --port N --appendonly yes --dir <tempdir> --save ""`
    /// ([`redis_server_binary`]: `ROUTEMQ_TEST_REDIS_SERVER` or the one on PATH).
    pub fn start_new() -> Result<Self, RedisServerError> {
        Self::start_with(&[])
    }

    /// Like [`RedisServer::start_new`] with extra arguments (for example
    /// `["--requirepass", "secret"]`).
    pub fn start_with(extra: &[&str]) -> Result<Self, RedisServerError> {
        let mut last = None;
        for _ in 0..5 {
            let port = free_port().map_err(|cause| RedisServerError::Spawn {
                what: "a free port".into(),
                cause,
            })?;
            let server = RedisServer {
                port,
                dir: tempfile::tempdir().map_err(|cause| RedisServerError::Spawn {
                    what: "a temporary directory".into(),
                    cause,
                })?,
                extra: extra.iter().map(|s| s.to_string()).collect(),
                child: Mutex::new(None),
            };
            match server.start() {
                Ok(()) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| RedisServerError::NotReady("no port".into())))
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port and data directory; waits until it
    /// answers. Does nothing if it is running.
    pub fn start(&self) -> Result<(), RedisServerError> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if child.is_some() {
            return Ok(());
        }
        let spawned = spawn(self.port, self.dir.path(), &self.extra)?;
        let pid = spawned.id();
        watchdog(&format!("kill -9 {pid}"));
        *child = Some(spawned);
        drop(child);
        wait_ready(self.port, Duration::from_secs(10))
            .and_then(|()| self.check_owner(pid))
            .inspect_err(|_| self.kill())
    }

    /// Checks that the server answering on the port is our child, not another
    /// process that took the port while ours was stopped.
    fn check_owner(&self, pid: u32) -> Result<(), RedisServerError> {
        let info = send_raw(self.port, b"INFO server\r\n", &self.extra).unwrap_or_default();
        let answering = info
            .lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .and_then(|p| p.trim().parse::<u32>().ok());
        match answering {
            Some(p) if p == pid => Ok(()),
            other => Err(RedisServerError::NotReady(format!(
                "port {} answers from process {other:?}, not the redis-server just started \
                 (pid {pid}): another process took the port",
                self.port
            ))),
        }
    }

    /// Stops the server cleanly (`SHUTDOWN`, which syncs the append-only file) and
    /// waits for the process to exit.
    pub fn stop(&self) {
        let taken = self.child.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut child) = taken {
            let _ = send_raw(self.port, b"SHUTDOWN\r\n", &self.extra);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&self) {
        let taken = self.child.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut child) = taken {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts the server again.
    pub fn restart(&self) -> Result<(), RedisServerError> {
        self.stop();
        self.start()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `cleanup` (a shell command) once this test process has exited, so a
/// server kept in a static, whose destructor never runs, does not outlive it.
pub(crate) fn watchdog(cleanup: &str) {
    let script = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; {cleanup} >/dev/null 2>&1",
        std::process::id()
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn spawn(port: u16, dir: &Path, extra: &[String]) -> Result<Child, RedisServerError> {
    Command::new(redis_server_binary())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--appendonly", "yes", "--save", ""])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|cause| RedisServerError::Spawn {
            what: format!(
                "{} (is it installed and on PATH, or is ROUTEMQ_TEST_REDIS_SERVER right?)",
                redis_server_binary()
            ),
            cause,
        })
}

/// The `redis-server` the testkit starts: `ROUTEMQ_TEST_REDIS_SERVER` (a path),
/// else `redis-server` on PATH.
pub fn redis_server_binary() -> String {
    std::env::var("ROUTEMQ_TEST_REDIS_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "redis-server".to_owned())
}

/// The password given with `--requirepass`, if any.
fn password(extra: &[String]) -> Option<&str> {
    extra
        .iter()
        .position(|a| a == "--requirepass")
        .and_then(|i| extra.get(i + 1))
        .map(String::as_str)
}

/// Sends one inline command to the Redis server on loopback `port` (after
/// AUTH when `extra`, the server's own arguments, sets `--requirepass`);
/// returns the reply.
pub fn send_raw(port: u16, command: &[u8], extra: &[String]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    if let Some(pw) = password(extra) {
        stream.write_all(format!("AUTH {pw}\r\n").as_bytes())?;
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf)?;
    }
    stream.write_all(command)?;
    // Replies here are short (a status line, or INFO's few kilobytes): read until
    // a read comes back short.
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        out.extend_from_slice(&buf[..n]);
        if n < buf.len() && (out.starts_with(b"+") || out.starts_with(b"-") || complete(&out)) {
            break;
        }
        if n == 0 {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// True when `reply` is a whole RESP bulk string (`$len\r\n...\r\n`).
fn complete(reply: &[u8]) -> bool {
    let text = String::from_utf8_lossy(reply);
    let Some(rest) = text.strip_prefix('$') else {
        return true;
    };
    match rest.split_once("\r\n") {
        Some((len, body)) => len.parse::<usize>().is_ok_and(|l| body.len() >= l + 2),
        None => false,
    }
}

/// Waits until something on `port` answers PING (`+PONG`, or `-NOAUTH` from a
/// server with a password).
pub fn wait_ready(port: u16, within: Duration) -> Result<(), RedisServerError> {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        match send_raw(port, b"PING\r\n", &[]) {
            Ok(reply) if reply.starts_with("+PONG") || reply.starts_with("-NOAUTH") => {
                return Ok(())
            }
            Ok(reply) => last = reply,
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(RedisServerError::NotReady(format!(
        "Redis on port {port} did not answer PING within {within:?} (last: {last})"
    )))
}

/// The image [`RedisContainer::start_default`] runs: `ROUTEMQ_TEST_REDIS_IMAGE`, else
/// [`DEFAULT_REDIS_IMAGE`].
pub fn redis_image() -> String {
    std::env::var("ROUTEMQ_TEST_REDIS_IMAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_REDIS_IMAGE.to_owned())
}

/// The Redis image used when `ROUTEMQ_TEST_REDIS_IMAGE` is unset (the same as
/// docker-compose.yml's).
pub const DEFAULT_REDIS_IMAGE: &str = "redis:7";

/// A Redis container started through testcontainers on the host network,
/// listening on 127.0.0.1 and a free port; removed when dropped.
#[derive(Debug)]
pub struct RedisContainer {
    container: crate::container::Container,
    port: u16,
}

impl RedisContainer {
    /// Runs [`redis_image`] (see [`RedisContainer::start`]).
    pub fn start_default() -> Result<Self, RedisServerError> {
        Self::start(&redis_image())
    }

    /// Runs `image` (for example `redis:5.0`, `redis:7` or a local
    /// `routemq-local/redis:5.0`) as `redis-server --port P --bind 127.0.0.1
    /// --save "" --appendonly no` on the host network, P a free port, and waits
    /// until it logs that it accepts connections and answers PING. Errors when no
    /// Docker engine answers.
    pub fn start(image: &str) -> Result<Self, RedisServerError> {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port().map_err(|cause| RedisServerError::Spawn {
                what: "a free port".into(),
                cause,
            })?;
            let request = crate::container::request(
                image,
                testcontainers::core::WaitFor::message_on_stdout("Ready to accept connections"),
                Duration::from_secs(60),
            )
            .with_cmd([
                "redis-server".to_owned(),
                "--port".to_owned(),
                port.to_string(),
                "--bind".to_owned(),
                "127.0.0.1".to_owned(),
                "--save".to_owned(),
                String::new(),
                "--appendonly".to_owned(),
                "no".to_owned(),
            ]);
            match crate::container::start_blocking(request) {
                Ok(container) => {
                    let started = RedisContainer { container, port };
                    wait_ready(port, Duration::from_secs(30))?;
                    return Ok(started);
                }
                // A port taken between free_port and the bind makes the server
                // exit before it is ready: try another.
                Err(e) => last = e,
            }
            if let Err(e) = crate::container::docker_engine() {
                last = e;
                break;
            }
        }
        Err(RedisServerError::NotReady(format!(
            "testcontainers could not start {image}: {last}"
        )))
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        self.container.id()
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}
