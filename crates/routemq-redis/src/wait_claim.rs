//! `wait_and_claim` on one server: the idle `BLPOP` and the claim script sent
//! together, so the claim runs the moment the wait ends, without a round trip
//! back to the worker in between.
//!
//! Redis runs a client's commands in order and holds the ones behind a blocked
//! `BLPOP` until it returns, so a pipeline of `BLPOP` then `EVALSHA claim.lua`
//! claims right after a push's wake-up token arrives. The claim's clock is read
//! when the pipeline is built, so its lease deadline is that instant plus the
//! lease: the wait is cut to [`FUSED_WAIT_MAX`] (and a quarter of the lease) so
//! a lease is never shortened by more, and the deadline reported is exactly the
//! one stored. Due delayed jobs are moved by a claim built after their due
//! time, so a wait that ends at a due time comes back empty and the next one
//! (which sees the job due before blocking) claims it.
//!
//! Ending a wait early (its time is up, or `stop`) pushes a token to the
//! waiter's private key, like a plain wait; the claim then still runs. After
//! `stop` what it claimed is given back at once, its attempt not counted.
//!
//! On a cluster the same pipeline serves a wait on one queue: the queue's
//! notify list, the waiter's private key (named in the queue's slot,
//! `Keys::waker`) and the claim's keys all hash to the queue's slot, so the
//! cluster client sends the pipeline to that slot's master as one. A wait over
//! several queues on a cluster cannot be one `BLPOP` (their lists live in
//! several slots): it waits, one `BLPOP` per queue, then claims the queues in
//! priority order. When the queue's slot moves while the wait blocks, the old
//! master answers both commands with `MOVED`, and the cluster client sends the
//! whole pipeline again to the new one (a plain pipeline, unlike a push's
//! transaction: see `transaction.rs`).

use std::time::Duration;

use redis::{ServerErrorKind, Value};
use routemq_core::{DriverError, JobLifecycle, QueueName, Reservation};
use tokio_util::sync::CancellationToken;

use crate::claim::{parse_claim, ClaimRequest};
use crate::error::{bad_reply, redis_error};
use crate::wait::bounded;
use crate::RedisDriver;

/// The longest a wait that carries a claim blocks: the most its claim's lease
/// can be shortened by (the claim's clock is read when it is sent).
const FUSED_WAIT_MAX: Duration = Duration::from_secs(1);

impl RedisDriver {
    /// [`JobLifecycle::wait_and_claim`] on one server, `max` within the claim
    /// limit (see the module docs).
    pub(crate) async fn blpop_then_claim(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
        timeout: Duration,
        stop: &CancellationToken,
    ) -> Result<Vec<Reservation>, DriverError> {
        let keys = &self.inner.keys;
        let qkeys: Vec<_> = queues.iter().map(|q| keys.queue(q)).collect();
        let mut d = self.dedicated().await?;
        let cluster = self.inner.waiter.is_cluster();
        debug_assert!(
            !cluster || qkeys.len() == 1,
            "one queue per fused wait on a cluster"
        );
        let waker = keys.waker(&d.id, cluster.then(|| &*qkeys[0]));
        let wait = match self.time_to_work(&mut d, &waker, &qkeys, timeout).await? {
            Some(wait) => wait.min(FUSED_WAIT_MAX).min(lease / 4),
            None => {
                self.inner.waiter.put_back(d);
                return self.claim(queues, max, lease).await;
            }
        };
        let ClaimRequest { cmd, deadline } = self.claim_request(queues, max, lease);
        let mut blpop = redis::cmd("BLPOP");
        for k in &qkeys {
            blpop.arg(&k.notify);
        }
        blpop.arg(&waker).arg(wait.as_secs() + 2);
        let mut pipe = redis::pipe();
        pipe.add_command(blpop).ignore().add_command(cmd);
        pipe.ignore_errors();
        let reply = {
            let sent = pipe.query_async::<Vec<Value>>(&mut d.conn);
            tokio::pin!(sent);
            let replied = tokio::select! {
                biased;
                reply = &mut sent => Some(reply.map_err(redis_error)),
                _ = tokio::time::sleep(wait) => None,
                _ = stop.cancelled() => None,
            };
            match replied {
                Some(reply) => reply,
                None => {
                    // Time is up or stop fired: end the BLPOP with a token on
                    // the private key; the claim behind it runs and replies.
                    self.wake(&[&waker]).await?;
                    bounded(sent).await
                }
            }
        };
        // On an error the connection is dropped, not reused: it may still be
        // blocked.
        let reply = reply?;
        self.inner.waiter.put_back(d);
        let claimed = match reply.into_iter().next() {
            Some(Value::Array(values)) => values,
            Some(Value::ServerError(e)) if e.kind() == Some(ServerErrorKind::NoScript) => {
                // The server lost its scripts (restart, flush, a replica
                // promoted): nothing was claimed; the plain claim loads them.
                if stop.is_cancelled() {
                    return Ok(Vec::new());
                }
                return self.claim(queues, max, lease).await;
            }
            Some(Value::ServerError(e)) => return Err(redis_error(e.into())),
            other => return Err(bad_reply("claim", format!("{other:?}"))),
        };
        let mut out = Vec::new();
        parse_claim(claimed, queues, deadline, &mut out)?;
        if stop.is_cancelled() && !out.is_empty() {
            for r in out.drain(..) {
                self.release_uncounted(&r.lease, Duration::ZERO).await?;
            }
        }
        Ok(out)
    }
}
