//! The Redis driver for RouteMQ: [`RedisDriver`] implements
//! [`routemq_core::Driver`] over Redis 5.0+ with the seed's key names.
//!
//! # What this crate must not depend on
//! The worker, the CLI, the MySQL driver and the testkit (only as a
//! dev-dependency). It names nothing but `routemq-core` of the project.
//!
//! # How it stores jobs
//! See the key table in the `keys` module docs (mirrored here):
//! `routemq:queue:{q}` is a list of job ids (so `LLEN` is the ready count),
//! `routemq:queue:{q}:delayed` a sorted set of ids scored by available-at ms
//! (`ZCARD` is the delayed count), `routemq:queue:{q}:reserved` a sorted set of
//! `"{id}|{token}"` members scored by lease deadline ms, and
//! `routemq:queue:failed:{q}` a list of JSON failed-job records
//! `{id, connection, queue, payload, exception, failed_at, max_tries}` (newest
//! first; `failed_at` in ms since the epoch; `payload` is the stored envelope text,
//! or base64 with `"payload_encoding":"base64"` when it is not UTF-8, as with
//! MessagePack envelopes). Job bodies live in the queue's jobs hash (field = id),
//! each with its attempts, max tries and ready-since time in front
//! ([`split_body`]), so a queued job is one field; the first claim, release or
//! reclaim writes them beside the body (field `"{id}:meta"`, which then
//! outranks the body's; one `HMGET` reads both and one `HDEL` drops both). The jobs
//! hash is split in time buckets, `routemq:queue:{q}:jobs:{bucket}`, one per
//! 256 ms of UUIDv7 job ids ([`job_hash`]), so no hash grows with the queue;
//! `routemq:queue:{q}:jobs` itself, where releases before the buckets kept every
//! job, is still read and emptied, never written, so an upgrade loses nothing. A hash
//! `routemq:queue:{q}:failed_index` finds a failed record by id without a scan.
//! Job tracking adds a running attempt's run record (`"{id}:run"`) and a cancel
//! request (`"{id}:cancel"`) to the jobs hash, so they go with the job, and keeps
//! finished jobs' records (`routemq:queue:{q}:done:{id}`, with a time to live).
//! Workflows (chains and batches, `workflows.rs`) add waiting jobs (in the jobs
//! hash, listed in the set `routemq:queue:{q}:waiting`), a workflow tail in
//! their jobs' metadata, and batch records (`routemq:queue:{q}:batch:{id}`, with
//! their job sets, expiring after they finished), indexed by `routemq:batches`;
//! waiting jobs are also kept in stored order (`routemq:queue:{q}:waiting:order`,
//! for listing). Throughput history (`history.rs`) is one hash per queue per hour,
//! `routemq:queue:{q}:history:{unix hour}`, field `{minute of the hour}` →
//! `"processed|failed|retried"`, expiring `HISTORY_KEPT_FOR` after the hour ends.
//! Listing (`listing.rs`) reads a page of one state in one read-only script.
//!
//! # Guarantees
//! - Every state change is one Lua script (`src/lua/*.lua`, each with a header
//!   naming its KEYS, ARGV and guarantee) run with EVALSHA, reloaded on NOSCRIPT;
//!   a script carries only the helpers of `lib.lua`/`groups.lua` it names. One
//!   exception: a push of ungrouped jobs to one queue (a single dispatch, or a
//!   bulk with one queue) is one `MULTI`/`EXEC` of plain commands per 1,000
//!   jobs (atomic as well, without the script's copy of every argument into
//!   Lua; see `push.rs`). Grouped jobs, bulks over several queues and a
//!   single dispatch that also registers its queue (once per 30 s, `SADD` in
//!   the same pipeline) use `push.lua`.
//!   Scripts use only Redis 5.0 commands (a test checks the list) and declare
//!   every key they touch; in [`KeyMode::Cluster`] one queue's keys share a slot.
//! - The owner token is part of the reserved member, so `ack`, `release`, `fail`
//!   and `extend_lease` are fenced by a single `ZREM`/`ZSCORE`.
//! - Claims take up to N jobs in one call (`LRANGE` + `LTRIM`, or `LPOP` for one;
//!   one `HMGET` per 1,000 jobs for bodies and metadata: six Redis calls per queue
//!   for up to 1,000 jobs when no delayed job is due; an ack is one `ZREM` per job
//!   plus one `HDEL`);
//!   `ack_batch` is one call per queue, all pipelined; `push_bulk` is one
//!   transaction per 1,000 jobs of one queue, or one pipeline of 1,000-job script
//!   calls (each atomic; a failure part-way through a bulk push can leave the
//!   earlier chunks stored, never a partial chunk, with one exception: a key of
//!   the queue holding the wrong type, which only outside writes cause, fails
//!   its command while the rest of the transaction still runs, and the error
//!   is returned). A push from a
//!   driver instance adds its queue to the `routemq:queues` registry at most every
//!   30 s per queue, keeping `SADD` off the single-push path. Variadic commands
//!   inside scripts are chunked so batches of any size stay under Lua's `unpack`
//!   limit.
//! - A ready-list element without a body (the Python RouteMQ pushes whole JSON
//!   payloads; a fault injector may push garbage) is adopted at claim under a fresh
//!   UUIDv7 id with `max_tries` 1, so the worker fails it with a reason.
//! - Idle workers block in `BLPOP` on the queues' notify lists over a dedicated
//!   connection (on a cluster one per queue, see `wait.rs`), bounded by the next delayed job's due time; a sub-second bound is
//!   kept client-side and the blocked call is ended by a push to the waiter's
//!   private key (Redis 5's `BLPOP` takes whole seconds). On one server an idle
//!   worker's `wait_and_claim` sends the claim script behind its `BLPOP` in one
//!   pipeline, so a pushed job is claimed the moment its wake-up token arrives
//!   (see `wait_claim.rs`: such a wait blocks at most 1 s, as the claim's clock is
//!   read when it is sent).
//! - Connection errors are [`DriverError::Unavailable`](routemq_core::DriverError)
//!   (the broken connection is dropped from the pool, the next call reconnects);
//!   script and server errors are `Backend`. Never "no job".
//!
//! # Measuring
//! `cargo run --release -p routemq-redis --example redis-throughput -- [URL] [jobs]
//! [claimers] [claim size]` prints the driver's own rates (single and bulk enqueue, claim +
//! `ack_batch` drain, idle wake-up latency) next to a PING round-trip floor; the
//! worker-level benchmark is `cargo xtask bench redis`. Single pushes are bound by
//! the round trip (one `MULTI`/`EXEC` each: about 0.7 of a one-client `RPUSH`
//! loop's rate here, where an `EVALSHA` push reached about 0.5);
//! bulk pushes by Redis itself (a few microseconds of `HSET`/`RPUSH` per job,
//! most of it the jobs hash's lookups and incremental rehash as it grows, which
//! the time buckets bound by the push rate instead of the queue's depth; the
//! transaction instead of `push.lua` took a bulk from about 100,000 to about
//! 125,000 jobs/s, and ids from a userspace RNG to about 135,000); small claims by
//! the per-call cost of Redis commands inside Lua (a few microseconds each), which
//! is why claims and acks are batched and keep their command count flat.
//!
//! # Limits
//! - A bulk push is atomic per 1,000-job chunk, not as a whole (see above).
//! - Prune walks each failed list from its oldest end and stops at a record whose
//!   `failed_at` it cannot read (one written by another producer in another
//!   format); list, show, retry and forget still handle such records.
//! - A Redis Cluster ([`RedisConfig::cluster`], `REDIS_CLUSTER_NODES`) keeps one
//!   queue on one master (its keys share a hash tag), so spreading load means
//!   spreading queues; claims over several queues are one script per queue, in
//!   priority order, and an idle wait is one `BLPOP` per queue. Replication is
//!   asynchronous and the driver does not `WAIT`: a failover can lose the old
//!   master's last acknowledged writes (a claim or ack: the job runs again; a
//!   push: it is gone). No TLS to a cluster.

#![warn(missing_docs)]

mod admin;
mod body;
mod bucket_listing;
mod claim;
mod config;
mod driver;
mod error;
mod failed;
mod failed_handoff;
mod history;
mod keys;
mod lifecycle;
mod listing;
mod memory;
mod pool;
mod push;
mod push_once;
mod queue_groups;
mod rate_limits;
mod schedules;
mod scripts;
mod slot_pipeline;
mod tracking;
mod transaction;
mod wait;
mod wait_claim;
mod workers;
mod workflows;

pub use body::split_body;
pub use config::{ConfigError, KeyMode, RedisConfig};
pub use driver::RedisDriver;
pub use keys::job_hash;

/// The connection name recorded in failed jobs.
pub(crate) const NAME: &str = "redis";

/// A driver on the test kit's server or cluster (its nodes, cluster key mode
/// left at the default), for the crate's unit tests that need a real Redis.
#[cfg(test)]
pub(crate) fn testkit_driver() -> RedisDriver {
    let target = routemq_testkit::redis::redis();
    let config = match &target.cluster_nodes {
        Some(nodes) => RedisConfig::cluster(nodes.split(',')).unwrap(),
        None => RedisConfig::from_url(&target.url).unwrap(),
    };
    RedisDriver::new(config).unwrap()
}
