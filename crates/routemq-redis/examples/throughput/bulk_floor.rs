//! The bulk push beside its floor (`ROUTEMQ_BENCH_ONLY=bulk`, see
//! `main.rs`): the driver's `push_bulk` of 1,000 jobs a call, each call
//! awaited, and the same commands with nothing left to build
//! ([`BareBulk`]), each with the Redis server's main-thread CPU time per job
//! (`INFO cpu`). The floor's server time is what these writes cost Redis
//! itself; what the driver's figure adds beyond it is the client's building
//! and what the machine's two processes do to each other.

use std::time::Instant;

use routemq_core::prelude::*;
use routemq_core::{JobId, QueueName};
use routemq_redis::RedisDriver;

use crate::{job, server_cpu};

/// Jobs per call, as `routemq bench` sends them.
const CALL: usize = 1_000;

/// A rate and what it cost the server.
pub(crate) struct BulkFigures {
    /// Jobs a second, wall clock.
    pub(crate) per_sec: f64,
    /// Microseconds of the Redis server's main-thread CPU time per job.
    pub(crate) server_us_per_job: f64,
}

/// `jobs` jobs (rounded down to whole calls) pushed by `driver.push_bulk`,
/// 1,000 a call, each call's jobs built just before it, as `routemq bench`'s
/// bulk phase does.
pub(crate) async fn driver_bulk(
    driver: &RedisDriver,
    info: &mut redis::aio::MultiplexedConnection,
    q: &QueueName,
    data: &[u8],
    jobs: usize,
) -> Result<BulkFigures, Box<dyn std::error::Error>> {
    let calls = jobs / CALL;
    let (cpu, start) = (server_cpu(info).await?, Instant::now());
    for _ in 0..calls {
        let batch = (0..CALL).map(|_| job(q, data.to_vec())).collect();
        driver.push_bulk(batch).await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let server = server_cpu(info).await? - cpu;
    Ok(figures(calls * CALL, secs, server))
}

/// The floor of a bulk push of 1,000 ungrouped jobs: on one multiplexed
/// connection of the `redis` crate with no pool, one awaited transaction a
/// call of the commands such a push sends (`HSET` of 1,000 id/body pairs into
/// one hash, as a bulk's jobs nearly always share their bucket, `RPUSH` of
/// the 1,000 ids, `RPUSH` of 64 wake-up tokens), every transaction built
/// before the clock starts. Its keys are its own, deleted by
/// [`BareBulk::remove`].
pub(crate) struct BareBulk {
    conn: redis::aio::MultiplexedConnection,
    keys: [String; 3],
    calls: Vec<redis::Pipeline>,
}

impl BareBulk {
    /// Builds `jobs / 1,000` transactions of `body_len`-byte bodies.
    pub(crate) async fn open(url: &str, jobs: usize, body_len: usize) -> redis::RedisResult<Self> {
        let conn = redis::Client::open(url)?
            .get_multiplexed_async_connection()
            .await?;
        let base = format!("routemq-bench-bulk-floor:{:x}", rand::random::<u32>());
        let keys = [
            format!("{base}:jobs"),
            format!("{base}:ready"),
            format!("{base}:notify"),
        ];
        let body = vec![b'x'; body_len];
        let calls = (0..jobs / CALL)
            .map(|_| {
                let ids: Vec<JobId> = (0..CALL).map(|_| JobId::generate()).collect();
                let mut tx = redis::pipe();
                tx.atomic();
                let hset = tx.cmd("HSET").arg(&keys[0]);
                for id in &ids {
                    hset.arg(id.as_str()).arg(&body);
                }
                let rpush = tx.cmd("RPUSH").arg(&keys[1]);
                for id in &ids {
                    rpush.arg(id.as_str());
                }
                tx.cmd("RPUSH").arg(&keys[2]).arg(&["1"; 64][..]);
                tx
            })
            .collect();
        Ok(BareBulk { conn, keys, calls })
    }

    /// Sends the transactions, each awaited before the next.
    pub(crate) async fn run(
        &mut self,
        info: &mut redis::aio::MultiplexedConnection,
    ) -> Result<BulkFigures, Box<dyn std::error::Error>> {
        let (cpu, start) = (server_cpu(info).await?, Instant::now());
        for tx in &self.calls {
            let () = tx.query_async(&mut self.conn).await?;
        }
        let secs = start.elapsed().as_secs_f64();
        let server = server_cpu(info).await? - cpu;
        Ok(figures(self.calls.len() * CALL, secs, server))
    }

    /// Deletes the floor's keys.
    pub(crate) async fn remove(mut self) -> redis::RedisResult<()> {
        let _: i64 = redis::cmd("UNLINK")
            .arg(&self.keys[..])
            .query_async(&mut self.conn)
            .await?;
        Ok(())
    }
}

fn figures(jobs: usize, secs: f64, server_secs: f64) -> BulkFigures {
    BulkFigures {
        per_sec: jobs as f64 / secs,
        server_us_per_job: server_secs * 1e6 / jobs.max(1) as f64,
    }
}
