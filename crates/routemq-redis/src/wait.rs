//! Idle waiting: `BLPOP` on the queues' notify lists over dedicated connections.
//!
//! Redis 5's `BLPOP` timeout is whole seconds, so the exact bound (the caller's
//! timeout or the next delayed job's due time) is kept client-side; when it passes,
//! the waiter pushes a token to its own private key (one of the keys it blocks on)
//! so the blocked call returns at once and the connection stays usable. A wait
//! whose future is dropped mid-`BLPOP` drops its connection with it.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Value};
use routemq_core::DriverError;

use crate::error::{bad_reply, redis_error};
use std::sync::Arc;

use crate::keys::QueueKeys;
use crate::lifecycle::now_ms;
use crate::{ConfigError, RedisConfig, RedisDriver};

/// Idle dedicated connections kept for reuse.
const MAX_IDLE: usize = 8;
/// Bound on the non-blocking steps of a wait on a dedicated connection.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// Replies per queue in `time_to_work`'s first pipeline.
const PER_QUEUE: usize = 6;

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
    conn: MultiplexedConnection,
    /// This connection's private wake-up key.
    waker: String,
}

/// Opens and keeps the dedicated blocking connections.
pub(crate) struct Waiter {
    client: Client,
    config: AsyncConnectionConfig,
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
            client: Client::open(config.info.clone())
                .map_err(|e| ConfigError::Invalid(e.to_string()))?,
            config: AsyncConnectionConfig::new()
                .set_connection_timeout(Some(config.connect_timeout))
                .set_response_timeout(None),
            idle: Mutex::new(Vec::new()),
        })
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

async fn bounded<T>(
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
    pub(crate) async fn dedicated(
        &self,
        prefix_waker: impl FnOnce(&str) -> String,
    ) -> Result<Dedicated, DriverError> {
        if let Some(d) = self.inner.waiter.take_idle() {
            return Ok(d);
        }
        let w = &self.inner.waiter;
        let conn = bounded(
            w.client
                .get_multiplexed_async_connection_with_config(&w.config),
        )
        .await?;
        Ok(Dedicated {
            conn,
            waker: prefix_waker(&uuid::Uuid::new_v4().simple().to_string()),
        })
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
        qkeys: &[Arc<QueueKeys>],
        timeout: Duration,
    ) -> Result<Option<Duration>, DriverError> {
        let mut pipe = redis::pipe();
        let del = pipe.cmd("DEL").arg(&d.waker);
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
        let mut replies: Vec<Value> = bounded(pipe.query_async(&mut d.conn)).await?;
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
            let mut pipe = redis::pipe();
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

    /// `BLPOP` on the queues' notify lists and `d`'s private key for at most
    /// `wait` (ended client-side with a token on the private key), then gives the
    /// connection back for reuse unless it is still blocked.
    pub(crate) async fn block_until_woken(
        &self,
        d: Dedicated,
        qkeys: &[Arc<QueueKeys>],
        wait: Duration,
    ) -> Result<(), DriverError> {
        let server_secs = wait.as_secs() + 2;
        let mut blpop = redis::cmd("BLPOP");
        for k in qkeys {
            blpop.arg(&k.notify);
        }
        blpop.arg(&d.waker).arg(server_secs);
        let mut conn = d.conn.clone();
        let fut = blpop.query_async::<Option<(String, String)>>(&mut conn);
        tokio::pin!(fut);
        let res = tokio::select! {
            res = &mut fut => Some(res),
            _ = tokio::time::sleep(wait) => None,
        };
        let res = match res {
            Some(res) => res,
            None => {
                // Time is up: end our own BLPOP with a token on the private key.
                let mut wake = redis::pipe();
                wake.cmd("RPUSH").arg(&d.waker).arg("1").ignore();
                wake.cmd("EXPIRE").arg(&d.waker).arg(60).ignore();
                self.inner.pool.pipe::<()>(&wake).await?;
                match tokio::time::timeout(Duration::from_secs(1), &mut fut).await {
                    Ok(res) => res,
                    // Still blocked: give the connection up rather than reuse it.
                    Err(_) => return Ok(()),
                }
            }
        };
        match res {
            Ok(_) => {
                self.inner.waiter.put_back(d);
                Ok(())
            }
            Err(e) => Err(redis_error(e)),
        }
    }
}
