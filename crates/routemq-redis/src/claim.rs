//! One call of the claim script (`claim.lua`) and the parsing of its reply.

use std::time::Duration;

use redis::Value;
use routemq_core::{
    from_unix_ms, DriverError, GroupKey, JobId, Lease, LeaseToken, QueueName, Reservation,
};

use crate::body::split_body;
use crate::error::bad_reply;
use crate::lifecycle::{ms, now_ms};
use crate::RedisDriver;

/// Due delayed jobs one claim moves at most per queue (beyond what it claims).
const PROMOTE_LIMIT: usize = 1_000;
/// Fresh ids passed to a claim for foreign payloads it may adopt.
const FRESH_IDS: usize = 4;

/// A claim script call, built: its command and the lease deadline it sets.
pub(crate) struct ClaimRequest {
    /// `EVALSHA` of `claim.lua`.
    pub(crate) cmd: redis::Cmd,
    /// The lease deadline (unix ms) the script writes: `now` at build time
    /// plus the lease, so a claim sent later leases for less.
    pub(crate) deadline: i64,
}

impl RedisDriver {
    /// One claim script call over `queues` (all in one slot in cluster mode).
    pub(crate) async fn claim_from(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
        out: &mut Vec<Reservation>,
    ) -> Result<(), DriverError> {
        if max == 0 || queues.is_empty() {
            return Ok(());
        }
        let req = self.claim_request(queues, max, lease);
        let reply: Vec<Value> = self.inner.pool.cmd(&req.cmd).await?;
        parse_claim(reply, queues, req.deadline, out)
    }

    /// The claim script call for up to `max` jobs of `queues`, its clock read
    /// now.
    pub(crate) fn claim_request(
        &self,
        queues: &[QueueName],
        max: usize,
        lease: Duration,
    ) -> ClaimRequest {
        let now = now_ms();
        let deadline = now.saturating_add(ms(lease));
        let qkeys: Vec<_> = queues.iter().map(|q| self.inner.keys.queue(q)).collect();
        let mut keys: Vec<&str> = Vec::with_capacity(queues.len() * 8);
        for k in &qkeys {
            keys.extend([
                k.ready.as_str(),
                k.delayed.as_str(),
                k.reserved.as_str(),
                k.jobs.as_str(),
                k.paused.as_str(),
                k.unique.as_str(),
                k.rate.as_str(),
                k.rate_log.as_str(),
            ]);
        }
        let nonce = format!("{:024x}-", rand::random::<u128>() >> 32);
        let mut args: Vec<String> = vec![
            now.to_string(),
            deadline.to_string(),
            max.to_string(),
            nonce,
            PROMOTE_LIMIT.max(max).to_string(),
        ];
        args.extend((0..FRESH_IDS.min(max)).map(|_| JobId::generate().to_string()));
        ClaimRequest {
            cmd: self.inner.pool.scripts().claim.cmd(&keys, args),
            deadline,
        }
    }
}

/// The payload of a body in the stored form a claim replies with (the body as
/// stored, metadata in front or not; `claim.lua`), split here so the script
/// does not copy each payload out of its frame.
fn stored_payload(mut body: Vec<u8>) -> Vec<u8> {
    let framing = body.len() - split_body(&body).0.len();
    body.drain(..framing);
    body
}

/// Appends the reservations of a claim script's `reply` to `out`, leased until
/// `deadline` (unix ms, the request's).
pub(crate) fn parse_claim(
    reply: Vec<Value>,
    queues: &[QueueName],
    deadline: i64,
    out: &mut Vec<Reservation>,
) -> Result<(), DriverError> {
    if reply.len() % 7 != 0 {
        return Err(bad_reply("claim", format!("{} values", reply.len())));
    }
    let expires_at = from_unix_ms(deadline);
    let mut values = reply.into_iter();
    while let Some(q) = values.next() {
        let mut next = || values.next().unwrap_or(Value::Nil);
        let (id, token, attempt, max_tries, payload, group) =
            (next(), next(), next(), next(), next(), next());
        let q: usize = redis::from_redis_value(q).map_err(|e| bad_reply("claim", e))?;
        let queue = queues
            .get(q.wrapping_sub(1))
            .ok_or_else(|| bad_reply("claim", format!("queue index {q}")))?;
        let parse = |e: redis::ParsingError| bad_reply("claim", e);
        let group: String = redis::from_redis_value(group).map_err(parse)?;
        let group = match group.as_str() {
            "" => None,
            g => Some(GroupKey::new(g).map_err(|e| bad_reply("claim", e))?),
        };
        out.push(Reservation {
            lease: Lease {
                job_id: JobId::from_string(redis::from_redis_value::<String>(id).map_err(parse)?),
                queue: queue.clone(),
                token: LeaseToken(redis::from_redis_value(token).map_err(parse)?),
                expires_at,
            },
            attempt: redis::from_redis_value(attempt).map_err(parse)?,
            max_tries: redis::from_redis_value(max_tries).map_err(parse)?,
            payload: stored_payload(redis::from_redis_value(payload).map_err(parse)?),
            group,
        });
    }
    Ok(())
}
