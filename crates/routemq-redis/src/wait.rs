//! Idle waiting: `BLPOP` on the queues' notify lists over dedicated connections.
//!
//! Redis 5's `BLPOP` timeout is whole seconds, so the exact bound (the caller's
//! timeout or the next delayed job's due time) is kept client-side; when it passes,
//! the waiter pushes a token to its own private key (one of the keys it blocks on)
//! so the blocked call returns at once and the connection stays usable. A wait
//! whose future is dropped mid-`BLPOP` drops its connection with it.
//!
//! On one server a wait is one `BLPOP` over every queue's notify list. On a
//! cluster one `BLPOP` cannot span slots, so a wait is one `BLPOP` per queue, each
//! on its own dedicated connection with a private key in that queue's slot,
//! all at once: the first to return ends the others through their private keys.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use redis::Value;
use routemq_core::DriverError;

use crate::error::{bad_reply, redis_error};
use crate::slot_pipeline::SlotPipeline;
use std::sync::Arc;

use crate::keys::QueueKeys;
use crate::lifecycle::now_ms;
use crate::pool::{Conn, Connector};
use crate::{ConfigError, RedisConfig, RedisDriver};

/// Idle dedicated connections kept for reuse.
const MAX_IDLE: usize = 8;
/// Bound on the non-blocking steps of a wait on a dedicated connection.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Replies per queue in `time_to_work`'s first pipeline.
const PER_QUEUE: usize = 6;
/// How long a wake-up token no `BLPOP` took is kept on its private key.
const WAKE_TOKEN_KEPT_SECS: u64 = 60;

/// What one queue has, as `time_to_work` found it.
struct Lanes {
    /// Ungrouped ready jobs.
    plain: bool,
    /// A rotation: lanes claimable now.
    rotation: bool,
    /// Ms until the first delayed job is due.
    delayed_in: Option<i64>,
    /// Ms until the first parked lane is looked at again (server clock).
    parked_in: Option<i64>,
    /// A rate hash (limit, hold or cap): `rate_gate.lua` tells the rest.
    gated: bool,
}

impl Lanes {
    /// Ms until a claim may take one of the queue's jobs, given `rate_gate.lua`'s
    /// `(hold, window, per_group)`: the queue's hold gates every lane; the
    /// queue's window every lane, or under a per-group limit only the ungrouped
    /// jobs (the groups' own windows park their lanes).
    fn due_in(&self, (hold, window, per_group): (i64, i64, u8)) -> i64 {
        let per_group = per_group == 1;
        let plain = match (self.plain, per_group) {
            (false, _) => None,
            (true, true) => Some(window),
            (true, false) => Some(0),
        };
        let first = [
            self.rotation.then_some(0),
            plain,
            self.delayed_in,
            self.parked_in,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(0);
        if per_group {
            hold.max(first)
        } else {
            hold.max(window).max(first)
        }
    }
}

pub(crate) struct Dedicated {
    pub(crate) conn: Conn,
    /// Names this connection's private wake-up keys (see `Keys::waker`).
    pub(crate) id: String,
}

/// One dedicated connection's part of a wait: the queues it blocks on and its
/// private wake-up key.
pub(crate) struct Block {
    d: Dedicated,
    waker: String,
    qkeys: Vec<Arc<QueueKeys>>,
}

/// Opens and keeps the dedicated blocking connections.
pub(crate) struct Waiter {
    /// Connections without a response timeout (a `BLPOP` may block for long).
    connector: Connector,
    /// True on a cluster: one `BLPOP` per queue.
    cluster: bool,
    idle: Mutex<Vec<Dedicated>>,
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let idle = self.idle.lock().map(|v| v.len()).unwrap_or(0);
        f.debug_struct("Waiter").field("idle", &idle).finish()
    }
}

impl Waiter {
    pub fn new(config: &RedisConfig) -> Result<Self, ConfigError> {
        Ok(Waiter {
            connector: Connector::new(config, true)?,
            cluster: config.cluster_nodes.is_some(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// True on a cluster: one `BLPOP` per queue.
    pub(crate) fn is_cluster(&self) -> bool {
        self.cluster
    }

    fn take_idle(&self) -> Option<Dedicated> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    pub(crate) fn put_back(&self, d: Dedicated) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(d);
        }
    }
}

pub(crate) async fn bounded<T>(
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, DriverError> {
    match tokio::time::timeout(STEP_TIMEOUT, fut).await {
        Ok(res) => res.map_err(redis_error),
        Err(_) => Err(DriverError::unavailable(
            crate::NAME,
            "no reply from Redis within 5 s on the waiting connection",
        )),
    }
}

impl RedisDriver {
    pub(crate) async fn dedicated(&self) -> Result<Dedicated, DriverError> {
        if let Some(d) = self.inner.waiter.take_idle() {
            return Ok(d);
        }
        let conn = bounded(self.inner.waiter.connector.connect()).await?;
        Ok(Dedicated {
            conn,
            id: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    /// Waits until a job may be claimable on one of `queues` or `timeout`
    /// passes (see `time_to_work` and `block_until_woken`).
    pub(crate) async fn wait_on(
        &self,
        queues: &[routemq_core::QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError> {
        let keys = &self.inner.keys;
        let qkeys: Vec<Arc<QueueKeys>> = queues.iter().map(|q| keys.queue(q)).collect();
        let parts: Vec<&[Arc<QueueKeys>]> = match self.inner.waiter.cluster {
            false => vec![&qkeys[..]],
            true => qkeys.chunks(1).collect(),
        };
        let mut blocks: Vec<Block> = Vec::with_capacity(parts.len());
        let mut wait = timeout;
        for part in parts {
            let mut d = self.dedicated().await?;
            let slot_of = self.inner.waiter.cluster.then(|| &*part[0]);
            let waker = keys.waker(&d.id, slot_of);
            match self.time_to_work(&mut d, &waker, part, timeout).await? {
                Some(w) => {
                    wait = wait.min(w);
                    blocks.push(Block {
                        d,
                        waker,
                        qkeys: part.to_vec(),
                    });
                }
                None => {
                    self.inner.waiter.put_back(d);
                    for b in blocks {
                        self.inner.waiter.put_back(b.d);
                    }
                    return Ok(());
                }
            }
        }
        self.block_until_woken(blocks, wait).await
    }

    /// Looks before blocking: `None` when a job is ready on one of the queues
    /// (or one is due now), else how long to block (the caller's `timeout`, cut
    /// short by the earliest delayed job's due time or parked lane's time).
    /// Paused queues are left out (their jobs are not claimable, so returning
    /// for them would make an idle worker spin); a resume pushes a wake-up token
    /// like a push does. Lanes that are blocked (a group held, its window full,
    /// at its cap) are parked out of the rotation, so their jobs count as due
    /// when the lane is looked at again (a capped group's lane is also woken
    /// when one of its jobs ends). A queue with a full rate-limit window or a
    /// hold counts its jobs as due when it opens (`rate_gate.lua`, a second
    /// round trip only for such queues with jobs); under a per-group limit the
    /// queue's window only gates its ungrouped jobs. Drops stale wake-up tokens
    /// first, so a push after this point leaves a token that ends the block at
    /// once.
    pub(crate) async fn time_to_work(
        &self,
        d: &mut Dedicated,
        waker: &str,
        qkeys: &[Arc<QueueKeys>],
        timeout: Duration,
    ) -> Result<Option<Duration>, DriverError> {
        let mut pipe = SlotPipeline::new();
        let del = pipe.cmd("DEL").arg(waker);
        for k in qkeys {
            del.arg(&k.notify);
        }
        pipe.ignore();
        for k in qkeys {
            pipe.cmd("EXISTS").arg(&k.paused);
            pipe.cmd("LLEN").arg(&k.ready);
            pipe.cmd("EXISTS").arg(&k.groups);
            pipe.cmd("ZRANGE")
                .arg(&k.delayed)
                .arg(0)
                .arg(0)
                .arg("WITHSCORES");
            pipe.cmd("EXISTS").arg(&k.rate);
            pipe.cmd("ZRANGE")
                .arg(&k.parked)
                .arg(0)
                .arg(0)
                .arg("WITHSCORES");
        }
        pipe.cmd("TIME");
        let mut replies: Vec<Value> = bounded(pipe.whole().query_async(&mut d.conn)).await?;
        if qkeys.len() * PER_QUEUE + 1 != replies.len() {
            return Err(bad_reply("wait", format!("{} replies", replies.len())));
        }
        let now = now_ms();
        let server_now = match replies.pop() {
            Some(time) => {
                let (secs, micros): (i64, i64) =
                    redis::from_redis_value(time).map_err(|e| bad_reply("TIME", e))?;
                secs * 1000 + micros / 1000
            }
            None => return Err(bad_reply("wait", "no TIME reply")),
        };
        let mut work: Vec<(&Arc<QueueKeys>, Lanes)> = Vec::new();
        for (k, six) in qkeys.iter().zip(replies.chunks(PER_QUEUE)) {
            let [paused, ready, grouped, next, gated, parked] = six else {
                return Err(bad_reply("wait", format!("{} replies", replies.len())));
            };
            let flag = |v: &Value| -> Result<bool, DriverError> {
                let n: u8 = redis::from_redis_value_ref(v).map_err(|e| bad_reply("EXISTS", e))?;
                Ok(n == 1)
            };
            if flag(paused)? {
                continue;
            }
            let first = |v: &Value, what: &str| -> Result<Option<f64>, DriverError> {
                let got: Vec<(String, f64)> =
                    redis::from_redis_value_ref(v).map_err(|e| bad_reply(what, e))?;
                Ok(got.first().map(|(_, score)| *score))
            };
            let ready: u64 =
                redis::from_redis_value_ref(ready).map_err(|e| bad_reply("LLEN", e))?;
            let lanes = Lanes {
                plain: ready > 0,
                rotation: flag(grouped)?,
                // One millisecond past the due time, so the claim that follows sees it.
                delayed_in: first(next, "ZRANGE")?.map(|due| (due as i64 - now + 1).max(0)),
                parked_in: first(parked, "ZRANGE")?.map(|at| (at as i64 - server_now + 1).max(0)),
                gated: flag(gated)?,
            };
            if lanes.plain
                || lanes.rotation
                || lanes.delayed_in.is_some()
                || lanes.parked_in.is_some()
            {
                work.push((k, lanes));
            }
        }
        let gated: Vec<&Arc<QueueKeys>> = work.iter().filter(|w| w.1.gated).map(|w| w.0).collect();
        let mut opens = Vec::new();
        if !gated.is_empty() {
            let mut pipe = SlotPipeline::new();
            for k in &gated {
                pipe.add_command(
                    self.inner
                        .pool
                        .scripts()
                        .rate_gate
                        .cmd(&[&k.rate, &k.rate_log], &[] as &[&str]),
                );
            }
            opens = self.inner.pool.pipe::<Vec<(i64, i64, u8)>>(&pipe).await?;
        }
        let mut opens = opens.into_iter();
        let mut wait = timeout;
        for (_, lanes) in work {
            let gate = if lanes.gated {
                opens.next().unwrap_or((0, 0, 0))
            } else {
                (0, 0, 0)
            };
            let at = lanes.due_in(gate);
            if at == 0 {
                return Ok(None);
            }
            wait = wait.min(Duration::from_millis(at as u64));
        }
        Ok((!wait.is_zero()).then_some(wait))
    }

    /// Ends the `BLPOP`s blocked on `wakers` (private keys): `wake.lua` on
    /// each, one pipeline; on a cluster one request per key, the slots' at once.
    pub(crate) async fn wake(&self, wakers: &[&str]) -> Result<(), DriverError> {
        let mut wake = SlotPipeline::new();
        for waker in wakers {
            let script = self
                .inner
                .pool
                .scripts()
                .wake
                .cmd(&[*waker], WAKE_TOKEN_KEPT_SECS);
            wake.add_command(script).ignore();
        }
        self.inner.pool.pipe::<()>(&wake).await
    }

    /// `BLPOP` on each block's notify lists and private key, all at once, for
    /// at most `wait` (ended client-side with a token on the private keys); the
    /// first to return ends the others the same way. Connections are given back
    /// for reuse unless still blocked or failed.
    async fn block_until_woken(
        &self,
        blocks: Vec<Block>,
        wait: Duration,
    ) -> Result<(), DriverError> {
        let server_secs = wait.as_secs() + 2;
        let wakers: Vec<String> = blocks.iter().map(|b| b.waker.clone()).collect();
        let mut done = vec![false; blocks.len()];
        let mut pending: FuturesUnordered<_> = blocks
            .into_iter()
            .enumerate()
            .map(|(i, b)| blpop(i, b, server_secs))
            .collect();
        let first = tokio::select! {
            first = pending.next() => first,
            _ = tokio::time::sleep(wait) => None,
        };
        let mut outcome = Ok(());
        if let Some((i, d, res)) = first {
            done[i] = true;
            match res {
                Ok(()) => self.inner.waiter.put_back(d),
                Err(e) => outcome = Err(redis_error(e)),
            }
        }
        if pending.is_empty() {
            return outcome;
        }
        // Time is up, or one queue woke: end the other BLPOPs with a token on
        // their private keys.
        let unwoken: Vec<&str> = wakers
            .iter()
            .zip(&done)
            .filter(|(_, d)| !**d)
            .map(|(w, _)| w.as_str())
            .collect();
        self.wake(&unwoken).await?;
        let rest = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some((_, d, res)) = pending.next().await {
                match res {
                    Ok(()) => self.inner.waiter.put_back(d),
                    Err(e) => {
                        if outcome.is_ok() {
                            outcome = Err(redis_error(e));
                        }
                    }
                }
            }
        });
        // Still blocked after a second: give those connections up rather than
        // reuse them (dropping `pending` drops them).
        let _ = rest.await;
        outcome
    }
}

/// One block's `BLPOP` on its notify lists and private key; gives back its
/// position, its connection and whether the call succeeded.
async fn blpop(
    i: usize,
    mut b: Block,
    server_secs: u64,
) -> (usize, Dedicated, redis::RedisResult<()>) {
    let mut cmd = redis::cmd("BLPOP");
    for k in &b.qkeys {
        cmd.arg(&k.notify);
    }
    cmd.arg(&b.waker).arg(server_secs);
    let res = cmd
        .query_async::<Option<(String, String)>>(&mut b.d.conn)
        .await
        .map(drop);
    (i, b.d, res)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wake` leaves one token on each private key, and each key expires
    /// within [`WAKE_TOKEN_KEPT_SECS`]; on a cluster the keys are in two
    /// slots, so the call spans two masters' requests.
    #[tokio::test]
    async fn a_wake_leaves_one_token_per_key_that_expires() {
        let driver = crate::testkit_driver();
        let pool = &driver.inner.pool;
        let id = format!("{}-{}", std::process::id(), now_ms());
        let wakers = [
            format!("routemq-test:{{wake-a}}:waker:{id}"),
            format!("routemq-test:{{wake-b}}:waker:{id}"),
        ];
        let names: Vec<&str> = wakers.iter().map(String::as_str).collect();
        driver.wake(&names).await.unwrap();
        for waker in &wakers {
            let len: i64 = pool.cmd(redis::cmd("LLEN").arg(waker)).await.unwrap();
            let ttl_ms: i64 = pool.cmd(redis::cmd("PTTL").arg(waker)).await.unwrap();
            pool.cmd::<i64>(redis::cmd("DEL").arg(waker)).await.unwrap();
            assert_eq!(len, 1, "{waker}: one token");
            assert!(
                (1..=WAKE_TOKEN_KEPT_SECS as i64 * 1_000).contains(&ttl_ms),
                "{waker}: PTTL {ttl_ms} ms"
            );
        }
    }
}
