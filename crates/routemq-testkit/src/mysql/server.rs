//! A MySQL/MariaDB server process (or a MySQL container, through testcontainers)
//! started for tests, stopped when its handle drops or this process exits.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::{MysqlProvisionError, MysqlSchema};
use testcontainers::ImageExt;

use crate::free_port;

/// How long a started server may take to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// A server this process started: a local `mariadbd`/`mysqld` over a temporary
/// data directory, or a MySQL container (see [`mysql_image`]) on the host network. Local servers can be stopped
/// (killed, as in a crash) and restarted on the same port and data.
#[derive(Debug)]
pub struct MysqlServer {
    port: u16,
    kind: Kind,
    running: Mutex<Option<Watched>>,
    /// Watchdogs of earlier runs (before a restart): kept open until drop, as
    /// closing one removes the data directory.
    retired: Mutex<Vec<Watched>>,
}

#[derive(Debug)]
enum Kind {
    Local {
        binary: PathBuf,
        mariadb: bool,
        datadir: tempfile::TempDir,
    },
    Container(Mutex<Option<crate::container::Container>>),
}

/// The MySQL image used when `ROUTEMQ_TEST_MYSQL_IMAGE` is unset (the same as
/// docker-compose.yml's).
pub const DEFAULT_MYSQL_IMAGE: &str = "mysql:8.4";

/// The image [`MysqlServer::start_container`] runs: `ROUTEMQ_TEST_MYSQL_IMAGE`, else
/// [`DEFAULT_MYSQL_IMAGE`]. It must run `mysqld` given as its command, with root
/// allowed in without a password: the official image does with
/// `MYSQL_ALLOW_EMPTY_PASSWORD` (which the testkit sets), as does the
/// `routemq-local/mysql` image of `.ci/provision/docker.sh`.
pub fn mysql_image() -> String {
    std::env::var("ROUTEMQ_TEST_MYSQL_IMAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_MYSQL_IMAGE.to_owned())
}

/// The server binary [`MysqlServer::start_local`] runs: `ROUTEMQ_TEST_MYSQLD` when
/// set (a path; MariaDB or MySQL, told apart by `--version`), else `mariadbd` or
/// `mysqld` on PATH or in the usual `sbin` directories.
fn server_binary() -> Result<PathBuf, MysqlProvisionError> {
    if let Some(p) = std::env::var_os("ROUTEMQ_TEST_MYSQLD").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(err(format!(
                "ROUTEMQ_TEST_MYSQLD={}: no such file",
                p.display()
            )))
        };
    }
    find_binary(&["mariadbd", "mysqld"])
        .ok_or_else(|| err("neither mariadbd nor mysqld is installed"))
}

/// The watchdog shell: it prints the server's pid (or container id) and, when
/// its stdin (our pipe) closes, kills what it started.
#[derive(Debug)]
struct Watched {
    shell: Child,
    stdin: Option<ChildStdin>,
    target: String,
}

fn err(msg: impl Into<String>) -> MysqlProvisionError {
    MysqlProvisionError::Server(msg.into())
}

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"].map(PathBuf::from));
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

fn current_user() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "root".into())
}

impl MysqlServer {
    /// A local server if a binary is installed, else a container.
    pub async fn start_any() -> Result<MysqlServer, MysqlProvisionError> {
        let local_err = match Self::start_local().await {
            Ok(s) => return Ok(s),
            Err(e) => e.to_string(),
        };
        let container_err = match Self::start_container().await {
            Ok(s) => return Ok(s),
            Err(e) => e.to_string(),
        };
        Err(MysqlProvisionError::NoServer {
            tried: format!(
                "{} unset; local server: {local_err}; testcontainers: {container_err}",
                super::MYSQL_URL_VAR
            ),
        })
    }

    /// Initialises a temporary data directory and starts `mariadbd` (or
    /// `mysqld`) on a free loopback port.
    pub async fn start_local() -> Result<MysqlServer, MysqlProvisionError> {
        let binary = server_binary()?;
        let version = Command::new(&binary)
            .arg("--version")
            .output()
            .map_err(|e| err(format!("{}: {e}", binary.display())))?;
        let mariadb = String::from_utf8_lossy(&version.stdout)
            .to_lowercase()
            .contains("mariadb");
        let datadir = tempfile::Builder::new()
            .prefix("routemq-mysql-")
            .tempdir()
            .map_err(|e| err(format!("temporary data directory: {e}")))?;
        // Each instance gets its own temporary directory: concurrent installs and
        // servers sharing /tmp collide on their temporary tables.
        let tmpdir = private_tmpdir(datadir.path());
        std::fs::create_dir_all(&tmpdir)
            .map_err(|e| err(format!("temporary directory {}: {e}", tmpdir.display())))?;
        let user = current_user();
        let mut init = if mariadb {
            let installer = find_binary(&["mariadb-install-db", "mysql_install_db"])
                .ok_or_else(|| err("mariadb-install-db is not installed"))?;
            let mut c = Command::new(installer);
            c.arg("--no-defaults")
                .arg(format!("--datadir={}", datadir.path().display()))
                .arg("--auth-root-authentication-method=normal")
                .arg("--skip-test-db")
                .arg(format!("--user={user}"));
            c
        } else {
            let mut c = Command::new(&binary);
            c.arg("--no-defaults")
                .arg("--initialize-insecure")
                .arg(format!("--datadir={}", datadir.path().display()))
                .arg(format!("--user={user}"));
            c
        };
        init.env("TMPDIR", &tmpdir);
        let out = tokio::task::spawn_blocking(move || init.output())
            .await
            .map_err(|e| err(e.to_string()))?
            .map_err(|e| err(format!("initialising the data directory: {e}")))?;
        if !out.status.success() {
            return Err(err(format!(
                "initialising the data directory failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let port = free_port().map_err(|e| err(format!("free port: {e}")))?;
        let server = MysqlServer {
            port,
            kind: Kind::Local {
                binary,
                mariadb,
                datadir,
            },
            running: Mutex::new(None),
            retired: Mutex::new(Vec::new()),
        };
        server.launch().await?;
        Ok(server)
    }

    /// Starts a container of [`mysql_image`] through testcontainers, on the host
    /// network: `mysqld --port=P --bind-address=127.0.0.1 --mysqlx=OFF ...` with P
    /// a free port. Returns once the server answers queries; errors when no Docker
    /// engine answers.
    pub async fn start_container() -> Result<MysqlServer, MysqlProvisionError> {
        let image = mysql_image();
        let mut last = String::new();
        for _ in 0..3 {
            crate::container::docker_engine().map_err(err)?;
            let port = free_port().map_err(|e| err(format!("free port: {e}")))?;
            let request = crate::container::request(
                &image,
                // The server's "ready for connections ... port: P" line; the
                // official image's setup server logs port 0 before it.
                testcontainers::core::WaitFor::message_on_stderr(format!("port: {port} ")),
                READY_TIMEOUT,
            )
            .with_env_var("MYSQL_ALLOW_EMPTY_PASSWORD", "yes")
            .with_env_var("MYSQL_ROOT_HOST", "%")
            .with_cmd([
                "mysqld".to_owned(),
                format!("--port={port}"),
                "--bind-address=127.0.0.1".to_owned(),
                // A socket path no host server uses: mysql_async switches to the
                // server's socket when that path exists on the client's machine,
                // and /var/run/mysqld/mysqld.sock may be the host's own server.
                format!(
                    "--socket=/tmp/routemq-test-mysqld-{}.sock",
                    super::random_hex()
                ),
                "--mysqlx=OFF".to_owned(),
                "--innodb-buffer-pool-size=64M".to_owned(),
            ]);
            let container = match crate::container::start(request).await {
                Ok(c) => c,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let server = MysqlServer {
                port,
                kind: Kind::Container(Mutex::new(Some(container))),
                running: Mutex::new(None),
                retired: Mutex::new(Vec::new()),
            };
            return match server.wait_ready().await {
                Ok(()) => Ok(server),
                Err(e) => Err(err(format!("{image}: {e}"))),
            };
        }
        Err(err(format!(
            "testcontainers could not start {image}: {last}"
        )))
    }

    /// The server's own `SELECT VERSION()`.
    pub async fn version(&self) -> Result<String, MysqlProvisionError> {
        let url = self.url("mysql");
        let sql_err = |cause| MysqlProvisionError::Sql {
            url: url.clone(),
            cause,
        };
        let opts = mysql_async::Opts::from_url(&url).map_err(|e| err(e.to_string()))?;
        let mut conn = mysql_async::Conn::new(opts).await.map_err(sql_err)?;
        let version: Option<String> = conn
            .query_first("SELECT VERSION()")
            .await
            .map_err(sql_err)?;
        conn.disconnect().await.map_err(sql_err)?;
        Ok(version.unwrap_or_default())
    }

    /// Tells the report file (see [`crate::SERVER_REPORT_VAR`]) about this server.
    pub(crate) async fn report(&self) {
        let version = self
            .version()
            .await
            .unwrap_or_else(|e| format!("unknown ({e})"));
        let how = match self.kind {
            Kind::Local { .. } => "local process",
            Kind::Container(_) => "testcontainers",
        };
        crate::report::server_started("mysql", how, &version);
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mysql://root@127.0.0.1:<port>/<db>`.
    pub fn url(&self, db: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{db}", self.port)
    }

    /// A fresh schema on this server, keeping the server alive while it lives.
    pub async fn create_schema(self: &Arc<Self>) -> Result<MysqlSchema, MysqlProvisionError> {
        MysqlSchema::create_at(&self.url("mysql"), Some(self.clone())).await
    }

    /// Kills the server at once (SIGKILL, like a crash); data survives for
    /// [`start_again`](Self::start_again). Local servers only.
    pub async fn stop(&self) -> Result<(), MysqlProvisionError> {
        if matches!(self.kind, Kind::Container(_)) {
            return Err(err(
                "stopping and restarting needs a local server binary, not a container",
            ));
        }
        self.kill();
        // Wait until the port is free again.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            if Instant::now() > deadline {
                return Err(err("server still listening 30 s after SIGKILL"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Starts the server again on the same port and data (after
    /// [`stop`](Self::stop)); returns once it answers queries.
    pub async fn start_again(&self) -> Result<(), MysqlProvisionError> {
        if self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return Err(err("the server is running; stop it first"));
        }
        self.launch().await
    }

    /// Kills and starts the server (a crash and recovery).
    pub async fn restart(&self) -> Result<(), MysqlProvisionError> {
        self.stop().await?;
        self.start_again().await
    }

    fn command(&self) -> Command {
        let mut sh = Command::new("sh");
        match &self.kind {
            Kind::Local {
                binary,
                mariadb,
                datadir,
            } => {
                let d = datadir.path();
                sh.arg("-c")
                    .arg(r#"dir="$1"; bin="$2"; shift 2; "$bin" "$@" </dev/null >/dev/null 2>&1 & p=$!; echo "$p"; read -r _; kill -9 "$p" 2>/dev/null; wait "$p"; rm -rf "$dir" "$dir.tmp""#)
                    .arg("sh")
                    .arg(d)
                    .arg(binary)
                    .args(server_args(d, self.port, *mariadb));
            }
            // Containers start through testcontainers, never through a shell.
            Kind::Container(_) => {
                sh.arg("-c")
                    .arg("echo 'containers are not started by a shell' >&2");
            }
        }
        sh
    }

    async fn launch(&self) -> Result<(), MysqlProvisionError> {
        if matches!(self.kind, Kind::Container(_)) {
            return Err(err("a container is started once, not relaunched"));
        }
        if let Kind::Local { datadir, .. } = &self.kind {
            // Oracle MySQL refuses to start while the lock file of its socket names
            // a live pid, and a killed server stays a zombie (so "live") until its
            // watchdog reaps it at drop. No server of this data directory runs now.
            let _ = std::fs::remove_file(datadir.path().join("mysqld.sock.lock"));
        }
        let mut shell = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("starting the server: {e}")))?;
        let stdout = shell.stdout.take().ok_or_else(|| err("no stdout"))?;
        let stdin = shell.stdin.take();
        let target = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .map(|_| line.trim().to_owned())
        })
        .await
        .map_err(|e| err(e.to_string()))?
        .map_err(|e| err(format!("reading the server's pid: {e}")))?;
        if target.is_empty() {
            let _ = shell.wait();
            return Err(err("the server did not start"));
        }
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(Watched {
            shell,
            stdin,
            target,
        });
        if let Err(e) = self.wait_ready().await {
            let log = self.error_log();
            self.kill();
            return Err(err(format!("{e}{log}")));
        }
        Ok(())
    }

    async fn wait_ready(&self) -> Result<(), String> {
        let url = self.url("mysql");
        let opts = mysql_async::Opts::from_url(&url).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let attempt = async {
                let mut conn = mysql_async::Conn::new(opts.clone()).await?;
                conn.query_drop("SELECT 1").await?;
                conn.disconnect().await
            };
            match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) if Instant::now() > deadline => {
                    return Err(format!("server on port {} never answered: {e}", self.port))
                }
                Err(_) if Instant::now() > deadline => {
                    return Err(format!("server on port {} never answered", self.port))
                }
                _ => {}
            }
            if self.exited() {
                return Err(format!(
                    "the server on port {} exited while starting",
                    self.port
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// True when the local server process is gone.
    fn exited(&self) -> bool {
        let guard = self.running.lock().unwrap_or_else(|p| p.into_inner());
        match (&self.kind, guard.as_ref()) {
            (Kind::Local { .. }, Some(w)) => !Command::new("kill")
                .args(["-0", &w.target])
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false),
            _ => false,
        }
    }

    fn error_log(&self) -> String {
        match &self.kind {
            Kind::Local { datadir, .. } => {
                std::fs::read_to_string(datadir.path().join("error.log"))
                    .map(|log| {
                        let tail: Vec<&str> = log.lines().rev().take(15).collect();
                        let tail: Vec<&str> = tail.into_iter().rev().collect();
                        format!("\nserver log:\n{}", tail.join("\n"))
                    })
                    .unwrap_or_default()
            }
            Kind::Container(_) => String::new(),
        }
    }

    /// Kills the running server; its watchdog is retired (kept open) so the
    /// data directory survives for a restart.
    fn kill(&self) {
        if let Kind::Container(c) = &self.kind {
            // Dropping the container removes it.
            drop(c.lock().unwrap_or_else(|p| p.into_inner()).take());
            return;
        }
        let watched = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(w) = watched {
            let _ = Command::new("kill")
                .args(["-9", &w.target])
                .stderr(Stdio::null())
                .status();
            self.retired
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(w);
        }
    }
}

/// Closes the watchdog's pipe (it kills what it started and cleans up) and
/// waits for it.
fn close(mut w: Watched) {
    drop(w.stdin.take());
    let _ = w.shell.wait();
}

/// The instance's own temporary directory, beside its data directory (inside it,
/// the server would list it as a database). The watchdog removes both.
fn private_tmpdir(datadir: &Path) -> std::path::PathBuf {
    let mut name = datadir.as_os_str().to_owned();
    name.push(".tmp");
    name.into()
}

fn server_args(datadir: &Path, port: u16, mariadb: bool) -> Vec<String> {
    let d = datadir.display();
    let mut args = vec![
        "--no-defaults".to_owned(),
        format!("--datadir={d}"),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_owned(),
        format!("--socket={d}/mysqld.sock"),
        format!("--pid-file={d}/mysqld.pid"),
        format!("--log-error={d}/error.log"),
        format!("--tmpdir={}", private_tmpdir(datadir).display()),
        format!("--user={}", current_user()),
        "--innodb-buffer-pool-size=64M".to_owned(),
    ];
    if mariadb {
        // Root may connect over TCP without a matching grant; MariaDB keeps
        // networking on with this flag (MySQL would turn it off).
        args.push("--skip-grant-tables".to_owned());
    } else {
        args.push("--mysqlx=OFF".to_owned());
    }
    args
}

impl Drop for MysqlServer {
    fn drop(&mut self) {
        self.kill();
        let retired = std::mem::take(&mut *self.retired.lock().unwrap_or_else(|p| p.into_inner()));
        for w in retired {
            close(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn count(url: &str) -> Result<u64, mysql_async::Error> {
        let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(url)?).await?;
        let n: Option<u64> = conn.query_first("SELECT COUNT(*) FROM t").await?;
        conn.disconnect().await?;
        Ok(n.unwrap_or(0))
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_local_server_restarts_with_its_data_and_dies_with_its_handle() {
        let server = Arc::new(
            MysqlServer::start_local()
                .await
                .expect("mariadbd or mysqld"),
        );
        let port = server.port();
        let schema = server.create_schema().await.unwrap();
        let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(schema.url()).unwrap())
            .await
            .unwrap();
        conn.query_drop("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB")
            .await
            .unwrap();
        conn.query_drop("INSERT INTO t VALUES (1), (2)")
            .await
            .unwrap();
        conn.disconnect().await.unwrap();

        server.stop().await.unwrap();
        assert!(count(schema.url()).await.is_err(), "the server is down");
        server.start_again().await.unwrap();
        assert_eq!(
            count(schema.url()).await.unwrap(),
            2,
            "committed rows survive a crash"
        );
        server.restart().await.unwrap();
        assert_eq!(count(schema.url()).await.unwrap(), 2);

        drop(schema);
        drop(server);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server dies with its handle"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_container_serves_schemas_and_goes_away_when_dropped() {
        if let Err(why) = crate::docker_engine() {
            eprintln!("container path not tested: {why}");
            return;
        }
        let server = Arc::new(MysqlServer::start_container().await.expect("a container"));
        let port = server.port();
        let schema = server.create_schema().await.unwrap();
        let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(schema.url()).unwrap())
            .await
            .unwrap();
        let version: Option<String> = conn.query_first("SELECT VERSION()").await.unwrap();
        assert!(version.is_some());
        conn.disconnect().await.unwrap();
        assert!(server.stop().await.is_err(), "containers are not restarted");
        drop(schema);
        drop(server);
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the container dies with its handle"
        );
    }
}
