//! Every statement the driver issues leaves the server without a warning, on
//! MariaDB and on MySQL alike (deprecated syntax, truncation, implicit
//! conversions and "already exists" notes all show up as warnings).
//!
//! The driver talks to the server through a small relay in this test that reads
//! the MySQL protocol as it passes: every OK and EOF packet carries the warning
//! count of the statement it ends, and the relay notes it with that statement's
//! SQL. So each statement of a transaction is checked, not only the last one
//! (`SHOW WARNINGS` only reports the latest statement, and a driver call often
//! ends with COMMIT). The pool holds a single connection, and after each driver
//! call `SHOW WARNINGS` on that connection must be empty as well.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{job, q};
use routemq_core::prelude::*;
use routemq_core::{
    CancelOutcome, FailedQuery, HistoryCounts, HistoryDelta, JobId, JobState, ListPage, Progress,
    Reservation, RunReport, WorkerInfo,
};
use routemq_mysql::mysql_async::prelude::Queryable;
use routemq_mysql::{MysqlConfig, MysqlDriver};
use routemq_testkit::mysql::MysqlSchema;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A statement the relay saw answered, with the warning count of its answer.
#[derive(Debug, Clone)]
struct Seen {
    sql: String,
    warnings: u16,
}

/// What the relay saw since the last [`Relay::take`].
#[derive(Debug, Default)]
struct Log {
    seen: Vec<Seen>,
    /// Protocol surprises (the relay could not follow the conversation).
    confused: Vec<String>,
}

/// A TCP relay between the driver and the server that reads the MySQL protocol
/// (no TLS, no compression) and logs each statement's warning count.
struct Relay {
    port: u16,
    log: Arc<Mutex<Log>>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = log.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                tokio::spawn(relay(client, server, shared.clone()));
            }
        });
        Relay { port, log }
    }

    fn take(&self) -> Log {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

const CLIENT_PROTOCOL_41: u32 = 1 << 9;
const CLIENT_SSL: u32 = 1 << 11;
const CLIENT_COMPRESS: u32 = 1 << 5;
const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;
const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

/// Where the conversation is.
#[derive(Debug)]
enum Phase {
    /// Before the server's OK to the login.
    Login,
    /// Waiting for a command.
    Idle,
    /// Waiting for the first packet of the answer to the current command.
    First,
    /// Column definitions still to come, then (without DEPRECATE_EOF) an EOF.
    Columns(u64),
    /// Rows until the terminating EOF/OK packet.
    Rows,
    /// Packets of a prepare's answer still to come (definitions and EOFs).
    Skip(u64),
}

/// The relay's view of one connection.
struct Conversation {
    phase: Phase,
    server_caps: u32,
    client_caps: u32,
    /// The SQL of the command being answered.
    current: String,
    /// A prepare's SQL, until its statement id is known.
    preparing: bool,
    statements: HashMap<u32, String>,
    log: Arc<Mutex<Log>>,
}

impl Conversation {
    fn deprecate_eof(&self) -> bool {
        self.server_caps & self.client_caps & CLIENT_DEPRECATE_EOF != 0
    }

    fn note(&self, warnings: u16) {
        self.log.lock().unwrap().seen.push(Seen {
            sql: self.current.clone(),
            warnings,
        });
    }

    fn confused(&self, what: String) {
        self.log.lock().unwrap().confused.push(what);
    }

    /// A packet from the client.
    fn client_packet(&mut self, seq: u8, payload: &[u8]) {
        if let Phase::Login = self.phase {
            if seq == 1 && payload.len() >= 4 {
                self.client_caps = u32::from_le_bytes(payload[..4].try_into().unwrap());
                if self.client_caps & (CLIENT_SSL | CLIENT_COMPRESS) != 0
                    || self.client_caps & CLIENT_PROTOCOL_41 == 0
                {
                    self.confused("client asked for TLS, compression or protocol 320".into());
                }
            }
            return;
        }
        if seq != 0 || payload.is_empty() {
            return;
        }
        if !matches!(self.phase, Phase::Idle) {
            self.confused(format!(
                "new command while answering {:?}: {:?}",
                self.current, self.phase
            ));
        }
        let text = || String::from_utf8_lossy(&payload[1..]).into_owned();
        self.preparing = false;
        match payload[0] {
            // COM_QUERY
            0x03 => {
                self.current = text();
                self.phase = Phase::First;
            }
            // COM_STMT_PREPARE
            0x16 => {
                self.current = text();
                self.preparing = true;
                self.phase = Phase::First;
            }
            // COM_STMT_EXECUTE
            0x17 if payload.len() >= 5 => {
                let id = u32::from_le_bytes(payload[1..5].try_into().unwrap());
                self.current = self
                    .statements
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("<statement {id}>"));
                self.phase = Phase::First;
            }
            // COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA: no answer.
            0x01 | 0x19 | 0x18 => {}
            // Anything else (ping, reset, init db, …) is answered by OK or ERR.
            other => {
                self.current = format!("<command 0x{other:02x}>");
                self.phase = Phase::First;
            }
        }
    }

    /// A packet from the server.
    fn server_packet(&mut self, seq: u8, payload: &[u8]) {
        let head = payload.first().copied().unwrap_or(0);
        match self.phase {
            Phase::Login => {
                if seq == 0 {
                    self.server_caps = greeting_caps(payload);
                } else if head == 0x00 || head == 0xff {
                    self.phase = Phase::Idle;
                }
            }
            Phase::Idle => self.confused(format!("unasked server packet 0x{head:02x}")),
            Phase::First => match head {
                0x00 if self.preparing => {
                    // COM_STMT_PREPARE_OK: id, columns, params, filler, warnings.
                    let field = |at: usize| u16::from_le_bytes([payload[at], payload[at + 1]]);
                    let id = u32::from_le_bytes(payload[1..5].try_into().unwrap());
                    self.statements.insert(id, self.current.clone());
                    self.note(if payload.len() >= 12 { field(10) } else { 0 });
                    let (columns, params) = (u64::from(field(5)), u64::from(field(7)));
                    // Parameter, then column definitions, each run followed
                    // by an EOF unless DEPRECATE_EOF.
                    let eofs = if self.deprecate_eof() {
                        0
                    } else {
                        u64::from(params > 0) + u64::from(columns > 0)
                    };
                    let rest = params + columns + eofs;
                    self.phase = if rest == 0 {
                        Phase::Idle
                    } else {
                        Phase::Skip(rest)
                    };
                }
                0x00 => self.ok(payload),
                0xff => self.phase = Phase::Idle,
                0xfb => self.confused("LOCAL INFILE request".into()),
                _ => {
                    // The column count; MariaDB's cached-metadata extension
                    // appends a byte saying whether the definitions follow
                    // (0 = they do not: the client has them from the prepare).
                    let (n, used) = lenenc(payload);
                    self.phase = if payload.get(used) == Some(&0) {
                        Phase::Rows
                    } else {
                        Phase::Columns(n)
                    };
                }
            },
            Phase::Columns(0) => {
                // The EOF after the column definitions.
                self.phase = Phase::Rows;
            }
            Phase::Columns(n) => {
                self.phase = if n > 1 || !self.deprecate_eof() {
                    Phase::Columns(n - 1)
                } else {
                    Phase::Rows
                };
            }
            Phase::Rows => {
                if head == 0xff {
                    self.phase = Phase::Idle;
                } else if head == 0xfe && self.deprecate_eof() && payload.len() < 0xff_ffff {
                    self.ok(payload);
                } else if head == 0xfe && payload.len() < 9 {
                    // EOF: warnings, status.
                    let warnings = u16::from_le_bytes([payload[1], payload[2]]);
                    let status = u16::from_le_bytes([payload[3], payload[4]]);
                    self.ended(warnings, status);
                }
            }
            Phase::Skip(n) => {
                self.phase = if n > 1 {
                    Phase::Skip(n - 1)
                } else {
                    Phase::Idle
                };
            }
        }
    }

    /// An OK packet (header 0x00 or, ending rows, 0xfe).
    fn ok(&mut self, payload: &[u8]) {
        let (_, a) = lenenc(&payload[1..]);
        let (_, b) = lenenc(&payload[1 + a..]);
        let at = 1 + a + b;
        let status = u16::from_le_bytes([payload[at], payload[at + 1]]);
        let warnings = u16::from_le_bytes([payload[at + 2], payload[at + 3]]);
        self.ended(warnings, status);
    }

    fn ended(&mut self, warnings: u16, status: u16) {
        self.note(warnings);
        self.phase = if status & SERVER_MORE_RESULTS_EXISTS != 0 {
            Phase::First
        } else {
            Phase::Idle
        };
    }
}

/// The capability flags of the server's greeting.
fn greeting_caps(p: &[u8]) -> u32 {
    // protocol version, NUL-terminated version, thread id, 8 bytes of
    // scramble, filler, caps (low), charset, status, caps (high).
    let Some(nul) = p.iter().skip(1).position(|b| *b == 0) else {
        return 0;
    };
    let at = 1 + nul + 1 + 4 + 8 + 1;
    if p.len() < at + 7 {
        return 0;
    }
    let low = u16::from_le_bytes([p[at], p[at + 1]]);
    let high = u16::from_le_bytes([p[at + 5], p[at + 6]]);
    u32::from(low) | (u32::from(high) << 16)
}

/// A length-encoded integer: (value, bytes used).
fn lenenc(p: &[u8]) -> (u64, usize) {
    let take = |n: usize| {
        let mut v = 0u64;
        for (i, b) in p[1..=n].iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        v
    };
    match p[0] {
        0xfc => (take(2), 3),
        0xfd => (take(3), 4),
        0xfe => (take(8), 9),
        b => (u64::from(b), 1),
    }
}

/// Copies packets one way, showing each (reassembled) packet to `see` before
/// forwarding it, so the relay knows a command before the server can answer.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    conversation: Arc<Mutex<Conversation>>,
    from_client: bool,
) -> std::io::Result<()> {
    let mut logical: Vec<u8> = Vec::new();
    loop {
        let mut header = [0u8; 4];
        from.read_exact(&mut header).await?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        let mut payload = vec![0u8; len];
        from.read_exact(&mut payload).await?;
        logical.extend_from_slice(&payload);
        if len < 0xff_ffff {
            let mut c = conversation.lock().unwrap();
            if from_client {
                c.client_packet(header[3], &logical);
            } else {
                c.server_packet(header[3], &logical);
            }
            logical.clear();
        }
        let mut packet = header.to_vec();
        packet.extend_from_slice(&payload);
        to.write_all(&packet).await?;
    }
}

async fn relay(client: TcpStream, server: TcpStream, log: Arc<Mutex<Log>>) {
    // Packets go on one by one: no waiting for more to fill a segment.
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    let conversation = Arc::new(Mutex::new(Conversation {
        phase: Phase::Login,
        server_caps: 0,
        client_caps: 0,
        current: String::new(),
        preparing: false,
        statements: HashMap::new(),
        log,
    }));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = tokio::spawn(pump(client_read, server_write, conversation.clone(), true));
    let down = tokio::spawn(pump(server_read, client_write, conversation, false));
    let _ = up.await;
    down.abort();
}

/// The server of the test URL, as host:port.
fn upstream(url: &str) -> String {
    let opts = routemq_mysql::mysql_async::Opts::from_url(url).unwrap();
    format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port())
}

/// The test URL with the relay's address in place of the server's (user,
/// password and database kept; no TLS, which the relay cannot read; no switch
/// to the server's Unix socket, which mysql_async otherwise makes for a server
/// on this host and which would bypass the relay).
fn through(url: &str, port: u16) -> String {
    let opts = routemq_mysql::mysql_async::Opts::from_url(url).unwrap();
    let user = opts.user().unwrap_or("root");
    let auth = match opts.pass() {
        Some(p) => format!("{user}:{p}"),
        None => user.to_owned(),
    };
    let db = opts.db_name().unwrap();
    format!("mysql://{auth}@127.0.0.1:{port}/{db}?prefer_socket=false")
}

/// Checks what ran since the last check: at least one statement, none with a
/// warning, and `SHOW WARNINGS` empty on the driver's only connection.
async fn check(step: &str, relay: &Relay, driver: &MysqlDriver) {
    let log = relay.take();
    assert!(
        log.confused.is_empty(),
        "{step}: the relay lost track: {:?}",
        log.confused
    );
    assert!(
        !log.seen.is_empty(),
        "{step}: no statement reached the server"
    );
    let warned: Vec<&Seen> = log.seen.iter().filter(|s| s.warnings > 0).collect();
    let mut conn = driver.pool().get_conn().await.unwrap();
    let shown: Vec<(String, u32, String)> = conn.query("SHOW WARNINGS").await.unwrap();
    drop(conn);
    relay.take(); // SHOW WARNINGS itself
    assert!(
        warned.is_empty() && shown.is_empty(),
        "{step}: statements with warnings: {warned:#?}; SHOW WARNINGS after the call: {shown:?}"
    );
}

fn worker(id: &str) -> WorkerInfo {
    WorkerInfo {
        id: id.into(),
        host: "test-host".into(),
        pid: 4242,
        queues: vec!["default".into()],
        concurrency: 4,
        prefetch: 0,
        running: 1,
        processed: 10,
        failed: 1,
        started_at_ms: 1_700_000_000_000,
        last_seen_ms: 1_700_000_001_000,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_statement_of_the_driver_leaves_a_warning() {
    let schema = MysqlSchema::create()
        .await
        .expect("a MySQL/MariaDB for tests");
    let relay = Relay::start(upstream(schema.url())).await;
    let mut config = MysqlConfig::from_url(&through(schema.url(), relay.port)).unwrap();
    config.pool_min = 1;
    config.pool_max = 1;
    let d = MysqlDriver::connect(config).await.unwrap();
    check("connect", &relay, &d).await;

    // The relay does see warnings: a statement that always warns (division by
    // zero outside strict writes) is caught on the same connection.
    {
        let mut conn = d.pool().get_conn().await.unwrap();
        conn.query_drop("SELECT 1 / 0").await.unwrap();
    }
    let log = relay.take();
    assert!(
        log.seen
            .iter()
            .any(|s| s.sql == "SELECT 1 / 0" && s.warnings == 1),
        "the relay must see a warning: {log:?}"
    );

    d.migrate().await.unwrap();
    check("migrate (fresh schema)", &relay, &d).await;
    d.migrate().await.unwrap();
    check("migrate (already migrated)", &relay, &d).await;

    let (default, other) = (q("default"), q("other"));
    let later = Some(SystemTime::now() + Duration::from_secs(3600));
    let lease = Duration::from_secs(60);
    d.push(job(&default, 1, None)).await.unwrap();
    check("push (now)", &relay, &d).await;
    d.push(job(&default, 2, later)).await.unwrap();
    check("push (delayed)", &relay, &d).await;
    d.push_bulk((3..13).map(|n| job(&default, n, None)).collect())
        .await
        .unwrap();
    check("bulk push (now)", &relay, &d).await;
    d.push_bulk((13..16).map(|n| job(&other, n, later)).collect())
        .await
        .unwrap();
    check("bulk push (delayed)", &relay, &d).await;

    let mut claimed = d
        .claim(&[default.clone(), other.clone()], 8, lease)
        .await
        .unwrap();
    check("claim", &relay, &d).await;
    assert_eq!(claimed.len(), 8);
    d.ack(&claimed.pop().unwrap().lease).await.unwrap();
    check("ack", &relay, &d).await;
    let batch: Vec<_> = claimed.drain(..3).map(|r| r.lease).collect();
    d.ack_batch(&batch).await.unwrap();
    check("ack batch", &relay, &d).await;
    d.release(&claimed.pop().unwrap().lease, Duration::from_secs(5))
        .await
        .unwrap();
    check("release", &relay, &d).await;
    d.extend_lease(&claimed[0].lease, lease).await.unwrap();
    check("extend", &relay, &d).await;
    d.fail(
        &claimed.pop().unwrap().lease,
        "boom: a long enough error text",
    )
    .await
    .unwrap();
    check("fail", &relay, &d).await;

    // Reclaim: one expired reservation with attempts left (released), one
    // without (failed, overwriting an earlier failure of the same job id).
    let mut conn = d.pool().get_conn().await.unwrap();
    conn.exec_drop(
        "UPDATE queue_jobs SET lease_until = NOW(6) - INTERVAL 1 SECOND WHERE id = ?",
        (claimed[0].lease.token.0.split('.').next().unwrap(),),
    )
    .await
    .unwrap();
    conn.exec_drop(
        "UPDATE queue_jobs SET lease_until = NOW(6) - INTERVAL 1 SECOND, attempts = max_tries
         WHERE id = ?",
        (claimed[1].lease.token.0.split('.').next().unwrap(),),
    )
    .await
    .unwrap();
    drop(conn);
    relay.take();
    let report = d
        .reclaim_expired(&[default.clone(), other.clone()])
        .await
        .unwrap();
    check("reclaim (release and fail)", &relay, &d).await;
    assert_eq!((report.released, report.failed), (1, 1), "{report:?}");

    d.stats(&default).await.unwrap();
    check("stats", &relay, &d).await;
    assert!(d.pause(&other).await.unwrap());
    check("pause", &relay, &d).await;
    assert!(!d.pause(&other).await.unwrap());
    check("pause (already paused)", &relay, &d).await;
    assert_eq!(d.paused().await.unwrap(), vec![other.clone()]);
    check("paused", &relay, &d).await;
    assert!(d.stats(&other).await.unwrap().paused);
    check("stats (paused)", &relay, &d).await;
    d.claim(
        &[other.clone(), default.clone()],
        1,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    check("claim (one queue paused)", &relay, &d).await;
    d.wait_for_jobs(std::slice::from_ref(&other), Duration::from_millis(30))
        .await
        .unwrap();
    check("wait for jobs (paused)", &relay, &d).await;
    assert!(d.resume(&other).await.unwrap());
    check("resume", &relay, &d).await;
    assert!(!d.resume(&other).await.unwrap());
    check("resume (not paused)", &relay, &d).await;
    d.queues().await.unwrap();
    check("queues", &relay, &d).await;
    d.wait_for_jobs(std::slice::from_ref(&other), Duration::from_millis(30))
        .await
        .unwrap();
    check("wait for jobs", &relay, &d).await;

    // Rate limits: set (insert, then replace), a limited claim (lock, window,
    // log, prune), the wait on a full window, a hold (insert and update), a
    // release that gives the attempt back, stats, list and clear.
    let limited = q("limited");
    d.push_bulk((20..24).map(|n| job(&limited, n, None)).collect())
        .await
        .unwrap();
    let one = routemq_core::RateLimit::new(1, Duration::from_secs(60)).unwrap();
    d.set_rate_limit(&limited, one).await.unwrap();
    check("set rate limit", &relay, &d).await;
    let two = routemq_core::RateLimit::new(2, Duration::from_secs(60)).unwrap();
    d.set_rate_limit(&limited, two).await.unwrap();
    check("set rate limit (replace)", &relay, &d).await;
    let got = d
        .claim(std::slice::from_ref(&limited), 4, lease)
        .await
        .unwrap();
    check("claim (rate limited)", &relay, &d).await;
    assert_eq!(got.len(), 2);
    d.wait_for_jobs(std::slice::from_ref(&limited), Duration::from_millis(30))
        .await
        .unwrap();
    check("wait for jobs (full window)", &relay, &d).await;
    d.release_uncounted(&got[0].lease, Duration::ZERO)
        .await
        .unwrap();
    check("release uncounted", &relay, &d).await;
    d.hold_queue(&other, Duration::from_secs(1)).await.unwrap();
    check("hold queue", &relay, &d).await;
    d.hold_queue(&limited, Duration::from_secs(1))
        .await
        .unwrap();
    check("hold queue (limited)", &relay, &d).await;
    d.hold_queue(&limited, Duration::from_millis(1))
        .await
        .unwrap();
    check("hold queue (shorter)", &relay, &d).await;
    assert_eq!(d.stats(&limited).await.unwrap().rate_limit, Some(two));
    check("stats (rate limited)", &relay, &d).await;
    assert_eq!(d.rate_limits().await.unwrap(), vec![(limited.clone(), two)]);
    check("rate limits", &relay, &d).await;
    assert!(d.clear_rate_limit(&limited).await.unwrap());
    check("clear rate limit", &relay, &d).await;

    let failed = d.failed_list(&FailedQuery::default()).await.unwrap();
    check("failed list", &relay, &d).await;
    assert_eq!(failed.len(), 2);
    d.failed_list(&FailedQuery {
        queue: Some(default.clone()),
        ..FailedQuery::default()
    })
    .await
    .unwrap();
    check("failed list (one queue)", &relay, &d).await;
    let first: JobId = failed[0].id.clone();
    d.failed_show(&first).await.unwrap().unwrap();
    check("failed show", &relay, &d).await;
    assert!(d.failed_retry(&first).await.unwrap());
    check("failed retry", &relay, &d).await;
    assert!(d.failed_forget(&failed[1].id).await.unwrap());
    check("failed forget", &relay, &d).await;
    d.failed_prune(SystemTime::now() - Duration::from_secs(3600))
        .await
        .unwrap();
    check("failed prune", &relay, &d).await;
    d.failed_flush(Some(&default)).await.unwrap();
    check("failed flush (one queue)", &relay, &d).await;
    d.failed_flush(None).await.unwrap();
    check("failed flush (all)", &relay, &d).await;

    d.heartbeat(&worker("w-1"), Duration::from_secs(30))
        .await
        .unwrap();
    check("heartbeat (new worker)", &relay, &d).await;
    d.heartbeat(&worker("w-1"), Duration::from_secs(30))
        .await
        .unwrap();
    check("heartbeat (renewal)", &relay, &d).await;
    assert_eq!(d.workers().await.unwrap().len(), 1);
    check("workers", &relay, &d).await;
    d.remove_worker("w-1").await.unwrap();
    check("remove worker", &relay, &d).await;

    // Job tracking (migration 0012).
    let tq = q("tracked");
    let tqs = std::slice::from_ref(&tq);
    for n in 20..23 {
        d.push(job(&tq, n, None)).await.unwrap();
    }
    let mut taken = d.claim(tqs, 2, lease).await.unwrap();
    relay.take();
    let report = |r: &Reservation, error: Option<&str>| RunReport {
        lease: r.lease.clone(),
        worker: "w-1".into(),
        progress: Some(Progress::new(42.5, "halfway, ünïcode")),
        error: error.map(str::to_owned),
    };
    d.record_runs(&[report(&taken[0], None)]).await.unwrap();
    check("record runs (one)", &relay, &d).await;
    d.record_runs(&[report(&taken[0], None), report(&taken[1], Some("boom"))])
        .await
        .unwrap();
    check("record runs (two)", &relay, &d).await;
    for r in &taken {
        d.job_status(&tq, &r.lease.job_id).await.unwrap().unwrap();
    }
    check("job status (running)", &relay, &d).await;
    let id = |n: &str| JobId::from_string(n.to_owned());
    assert_eq!(
        d.cancel(&tq, &id("db-999999")).await.unwrap(),
        CancelOutcome::NotFound
    );
    check("cancel (unknown)", &relay, &d).await;
    let third = d.claim(tqs, 1, lease).await.unwrap();
    relay.take();
    let target = taken[1].lease.job_id.clone();
    assert_eq!(
        d.cancel(&tq, &target).await.unwrap(),
        CancelOutcome::Requested
    );
    check("cancel (running)", &relay, &d).await;
    let leases: Vec<_> = taken.iter().map(|r| r.lease.clone()).collect();
    assert_eq!(d.cancel_requests(&leases).await.unwrap(), vec![target]);
    check("cancel requests", &relay, &d).await;
    d.release(&taken.pop().unwrap().lease, Duration::ZERO)
        .await
        .unwrap();
    check("release (cancel requested)", &relay, &d).await;
    let kept = taken.pop().unwrap();
    d.ack_and_keep(&kept.lease, Some(b"{\"n\":1}"), Duration::from_secs(60))
        .await
        .unwrap();
    check("ack and keep", &relay, &d).await;
    d.job_status(&tq, &kept.lease.job_id)
        .await
        .unwrap()
        .unwrap();
    d.job_result(&tq, &kept.lease.job_id)
        .await
        .unwrap()
        .unwrap();
    check("job status and result (kept)", &relay, &d).await;
    d.ack_cancelled(&third[0].lease).await.unwrap();
    check("ack cancelled", &relay, &d).await;
    let later_job = d.push(job(&tq, 23, later)).await.unwrap();
    relay.take();
    d.job_status(&tq, &later_job).await.unwrap().unwrap();
    check("job status (delayed)", &relay, &d).await;
    assert_eq!(
        d.cancel(&tq, &later_job).await.unwrap(),
        CancelOutcome::Removed
    );
    check("cancel (waiting)", &relay, &d).await;
    d.reclaim_expired(tqs).await.unwrap();
    check("reclaim (with record pruning)", &relay, &d).await;

    // Throughput history and listing (migration 0014).
    let hq = q("history");
    let now = routemq_core::unix_minute(SystemTime::now());
    let kept = (routemq_core::HISTORY_KEPT_FOR.as_secs() / 60) as i64;
    let delta = |minute: i64, n: u64| HistoryDelta {
        queue: hq.clone(),
        minute,
        counts: HistoryCounts {
            processed: n,
            failed: 1,
            retried: 2,
        },
    };
    d.record_history(&[delta(now, 3), delta(now - 1, 1), delta(now - kept - 5, 9)])
        .await
        .unwrap();
    check(
        "record history (new minutes, one expired, prune)",
        &relay,
        &d,
    )
    .await;
    d.record_history(&[delta(now, 4)]).await.unwrap();
    check("record history (adding)", &relay, &d).await;
    let many: Vec<HistoryDelta> = (0..300).map(|m| delta(now - m, 1)).collect();
    d.record_history(&many).await.unwrap();
    check("record history (several statements)", &relay, &d).await;
    assert_eq!(d.history(&hq, now - 400, now).await.unwrap().len(), 300);
    check("history", &relay, &d).await;
    let chain: Vec<_> = (40..43).map(|n| job(&default, n, None)).collect();
    d.push_chain(routemq_core::ChainPlan {
        queue: default.clone(),
        links: chain.clone(),
        catch: None,
    })
    .await
    .unwrap();
    let grouped = q("grouped_list");
    let group = routemq_core::GroupKey::new("g").unwrap();
    d.push_bulk(
        (50..53)
            .map(|n| job(&grouped, n, None).in_group(Some(group.clone())))
            .collect(),
    )
    .await
    .unwrap();
    relay.take();
    for state in [
        JobState::Ready,
        JobState::Delayed,
        JobState::Running,
        JobState::Waiting,
    ] {
        let page = ListPage {
            state,
            offset: 0,
            limit: 10,
        };
        d.list_jobs(&default, page).await.unwrap();
        check(&format!("list {} jobs", state.as_str()), &relay, &d).await;
    }
    let page = ListPage {
        state: JobState::Ready,
        offset: 1,
        limit: 10,
    };
    assert_eq!(d.list_jobs(&grouped, page).await.unwrap().len(), 2);
    check("list ready jobs (groups, offset counted)", &relay, &d).await;
    assert!(d
        .job_envelope(&default, &chain[1].id)
        .await
        .unwrap()
        .is_some());
    check("job envelope", &relay, &d).await;

    assert!(d.clear(&default).await.unwrap() > 0);
    check("clear", &relay, &d).await;
}
