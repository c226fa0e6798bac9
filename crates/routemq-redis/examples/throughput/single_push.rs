//! The single push beside its floors: the driver's push and `PING` rates,
//! the two floors on a bare connection of the `redis` crate ([`BareFloor`]),
//! an `RPUSH` on a raw socket ([`RawRpush`]), and rounds of all of them in
//! turn (`ROUTEMQ_BENCH_ROUNDS`, see `main.rs`).

use std::time::Instant;

use routemq_core::prelude::*;
use routemq_core::{JobId, QueueName};
use routemq_redis::RedisDriver;

use crate::job;

/// One awaited `PING` at a time 5,000 times, then `n` single pushes, each
/// rate in calls a second.
pub(crate) async fn single_rates(
    driver: &RedisDriver,
    q: &QueueName,
    data: &[u8],
    n: usize,
) -> Result<(f64, f64), routemq_core::DriverError> {
    let start = Instant::now();
    for _ in 0..5_000 {
        driver.ping().await?;
    }
    let ping_rate = 5_000.0 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    for _ in 0..n {
        driver.push(job(q, data.to_vec())).await?;
    }
    Ok((ping_rate, n as f64 / start.elapsed().as_secs_f64()))
}

/// The two floors of a single push, on one multiplexed connection of the
/// `redis` crate with no pool: one `RPUSH` a call, and a transaction of the
/// three commands a single push sends between its trims of the wake-up list
/// once its driver listed the bucket (`HSET` of a `body_len`-byte body,
/// `RPUSH` of the id, `RPUSH` of a wake-up token; `WAKE_TRIM_EVERY` in
/// `src/driver.rs`, `src/bucket_listing.rs`), with the same id every time and
/// nothing else to build. Its keys are its own, deleted by
/// [`BareFloor::remove`].
struct BareFloor {
    conn: redis::aio::MultiplexedConnection,
    list: String,
    jobs: String,
    notify: String,
    id: JobId,
    body: Vec<u8>,
}

impl BareFloor {
    async fn open(url: &str, body_len: usize) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let conn = client.get_multiplexed_async_connection().await?;
        let base = format!("routemq-bench-floor:{:x}", rand::random::<u32>());
        Ok(BareFloor {
            conn,
            list: format!("{base}:list"),
            jobs: format!("{base}:jobs"),
            notify: format!("{base}:notify"),
            id: JobId::generate(),
            body: vec![b'x'; body_len],
        })
    }

    /// `n` awaited `RPUSH` calls, in calls a second.
    async fn rpush_rate(&mut self, n: usize) -> redis::RedisResult<f64> {
        let start = Instant::now();
        for _ in 0..n {
            let _: i64 = redis::cmd("RPUSH")
                .arg(&self.list)
                .arg("1")
                .query_async(&mut self.conn)
                .await?;
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    }

    /// `n` awaited `PING` calls, in calls a second: beside the driver's
    /// `PING`, which goes through its pool, what the pool's checkout costs.
    async fn ping_rate(&mut self, n: usize) -> redis::RedisResult<f64> {
        let start = Instant::now();
        for _ in 0..n {
            let _: String = redis::cmd("PING").query_async(&mut self.conn).await?;
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    }

    /// `n` awaited transactions of a single push's three commands, in calls a
    /// second.
    async fn transaction_rate(&mut self, n: usize) -> redis::RedisResult<f64> {
        let start = Instant::now();
        for _ in 0..n {
            let mut tx = redis::pipe();
            tx.atomic();
            tx.cmd("HSET")
                .arg(&self.jobs)
                .arg(self.id.as_str())
                .arg(&self.body);
            tx.cmd("RPUSH").arg(&self.list).arg(self.id.as_str());
            tx.cmd("RPUSH").arg(&self.notify).arg("1");
            let () = tx.query_async(&mut self.conn).await?;
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    }

    async fn remove(mut self) -> redis::RedisResult<()> {
        let _: i64 = redis::cmd("DEL")
            .arg(&self.list)
            .arg(&self.jobs)
            .arg(&self.notify)
            .query_async(&mut self.conn)
            .await?;
        Ok(())
    }
}

/// One `RPUSH` a call on a plain TCP socket, the command's bytes written
/// once and each reply read to its end, as `redis-benchmark -c 1` sends it:
/// the one-client rate issue 16 measures a single push against, taken in the
/// same seconds as the push (`ROUTEMQ_BENCH_ROUNDS`).
struct RawRpush {
    stream: tokio::net::TcpStream,
    command: Vec<u8>,
    reply: Vec<u8>,
}

impl RawRpush {
    /// Connects to the server of `url` (a `redis://` URL of a TCP server,
    /// database 0, no password: the socket sends nothing but `RPUSH`) and
    /// pushes to `list`.
    async fn open(url: &str, list: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let info = redis::Client::open(url)?.get_connection_info().clone();
        let settings = info.redis_settings();
        let redis::ConnectionAddr::Tcp(host, port) = info.addr() else {
            return Err(format!("ROUTEMQ_BENCH_ROUNDS needs a plain TCP server, not {url}").into());
        };
        if settings.db() != 0 || settings.password().is_some() {
            return Err("ROUTEMQ_BENCH_ROUNDS needs database 0 and no password".into());
        }
        let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
        stream.set_nodelay(true)?;
        let command = format!(
            "*3\r\n$5\r\nRPUSH\r\n${}\r\n{list}\r\n$1\r\n1\r\n",
            list.len()
        );
        Ok(RawRpush {
            stream,
            command: command.into_bytes(),
            reply: Vec::with_capacity(64),
        })
    }

    /// `n` awaited `RPUSH` calls, in calls a second; a reply other than an
    /// integer is an error.
    async fn rate(&mut self, n: usize) -> Result<f64, Box<dyn std::error::Error + Send + Sync>> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let start = Instant::now();
        for _ in 0..n {
            self.stream.write_all(&self.command).await?;
            self.reply.clear();
            while !self.reply.ends_with(b"\r\n") {
                let mut chunk = [0u8; 64];
                let read = self.stream.read(&mut chunk).await?;
                if read == 0 {
                    return Err("the server closed the connection".into());
                }
                self.reply.extend_from_slice(&chunk[..read]);
            }
            if self.reply.first() != Some(&b':') {
                return Err(
                    format!("RPUSH replied {:?}", String::from_utf8_lossy(&self.reply)).into(),
                );
            }
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    }
}

/// The bare `RPUSH` and bare transaction rates of [`BareFloor`], `n` calls each.
pub(crate) async fn bare_floors(
    url: &str,
    n: usize,
    body_len: usize,
) -> redis::RedisResult<(f64, f64)> {
    let mut floor = BareFloor::open(url, body_len).await?;
    let rpush = floor.rpush_rate(n).await?;
    let tx = floor.transaction_rate(n).await?;
    floor.remove().await?;
    Ok((rpush, tx))
}

/// `rounds` rounds, each of `n` driver pushes (each building its job, as a
/// dispatch does), `n` `RPUSH` calls on a raw socket ([`RawRpush`]), `n` bare
/// `RPUSH` calls, `n` bare transactions ([`BareFloor`]), `n` driver `PING`s
/// and `n` bare ones, in that order and in the reverse order on every other
/// round, then `n` jobs built without sending them; prints each round's
/// rates and the median of the per-round ratios ([`RoundRatios`]). The
/// machine's rate swings between minutes more than the ratio moves within
/// one round, so the ratios of rounds taken seconds apart say more than
/// rates from separate runs.
pub(crate) async fn interleaved_single(
    driver: RedisDriver,
    q: QueueName,
    data: Vec<u8>,
    url: String,
    rounds: usize,
    n: usize,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let body_len = job(&q, data.clone()).payload.len() + 24;
    let mut floor = BareFloor::open(&url, body_len).await?;
    // The floor's keys are not under the run's prefix: removed here, also
    // after a failed round.
    let ratios = run_rounds(&driver, &q, &data, &url, &mut floor, rounds, n).await;
    let removed = floor.remove().await;
    let ratios = ratios?;
    removed?;
    let summary = |name: &str, pick: fn(&RoundRatios) -> f64| {
        let mut values: Vec<f64> = ratios.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        println!(
            "{name:<24} median {:.3}  (min {:.3}, max {:.3}, {} rounds of {n})",
            median(&values),
            values[0],
            values[values.len() - 1],
            values.len()
        );
    };
    summary("push / raw RPUSH", |r| r.push);
    summary("transaction / raw RPUSH", |r| r.transaction);
    summary("bare RPUSH / raw RPUSH", |r| r.bare_rpush);
    summary("push / transaction", |r| r.push_over_transaction);
    summary("driver PING / bare PING", |r| r.pool);
    summary("job building / push time", |r| r.job_building);
    Ok(())
}

/// The steps of a round: the driver's push, the raw `RPUSH`, the bare
/// `RPUSH`, the bare transaction, the driver's `PING`, the bare `PING`.
const STEPS: usize = 6;

/// One round's rates as ratios: each to the raw `RPUSH`, the driver's push
/// to the bare transaction, the driver's `PING` (through its pool) to a bare
/// `PING`, and the share of the pushes' time that building their jobs takes.
struct RoundRatios {
    push: f64,
    transaction: f64,
    bare_rpush: f64,
    push_over_transaction: f64,
    pool: f64,
    job_building: f64,
}

/// The rounds of [`interleaved_single`], each printed as it ends.
async fn run_rounds(
    driver: &RedisDriver,
    q: &QueueName,
    data: &[u8],
    url: &str,
    floor: &mut BareFloor,
    rounds: usize,
    n: usize,
) -> Result<Vec<RoundRatios>, Box<dyn std::error::Error + Send + Sync>> {
    let mut raw = RawRpush::open(url, &floor.list).await?;
    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (mut push, mut raw_rpush, mut rpush, mut tx) = (0.0, 0.0, 0.0, 0.0);
        let (mut driver_ping, mut bare_ping) = (0.0, 0.0);
        for step in 0..STEPS {
            match if round % 2 == 0 {
                step
            } else {
                STEPS - 1 - step
            } {
                0 => {
                    let start = Instant::now();
                    for _ in 0..n {
                        driver.push(job(q, data.to_vec())).await?;
                    }
                    push = n as f64 / start.elapsed().as_secs_f64();
                }
                1 => raw_rpush = raw.rate(n).await?,
                2 => rpush = floor.rpush_rate(n).await?,
                3 => tx = floor.transaction_rate(n).await?,
                4 => {
                    let start = Instant::now();
                    for _ in 0..n {
                        driver.ping().await?;
                    }
                    driver_ping = n as f64 / start.elapsed().as_secs_f64();
                }
                _ => bare_ping = floor.ping_rate(n).await?,
            }
        }
        // What building a job costs, without a round trip: the same jobs a
        // push builds, timed alone.
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(job(q, data.to_vec()));
        }
        let build_secs = start.elapsed().as_secs_f64();
        driver.clear(q).await?;
        println!(
            "round {:>3}: driver push {push:>7.0}  raw RPUSH {raw_rpush:>7.0}  bare RPUSH {rpush:>7.0}  bare transaction {tx:>7.0}  PING driver {driver_ping:>7.0} bare {bare_ping:>7.0}  push/raw {:.3}",
            round + 1,
            push / raw_rpush,
        );
        ratios.push(RoundRatios {
            push: push / raw_rpush,
            transaction: tx / raw_rpush,
            bare_rpush: rpush / raw_rpush,
            push_over_transaction: push / tx,
            pool: driver_ping / bare_ping,
            job_building: build_secs / (n as f64 / push),
        });
    }
    Ok(ratios)
}

/// The median of sorted `values` (the mean of the middle two for an even
/// count); `values` is not empty.
fn median(values: &[f64]) -> f64 {
    let mid = values.len() / 2;
    match values.len() % 2 {
        0 => (values[mid - 1] + values[mid]) / 2.0,
        _ => values[mid],
    }
}
