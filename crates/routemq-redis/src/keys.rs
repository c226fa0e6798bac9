//! Key names.
//!
//! With prefix `routemq`, plain mode and queue `default`:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `routemq:queue:default` | list | ready job ids, FIFO (`LLEN` = ready count) |
//! | `routemq:queue:default:delayed` | zset | job ids scored by available-at ms (`ZCARD` = delayed count) |
//! | `routemq:queue:default:reserved` | zset | `"{id}\|{token}"` scored by lease deadline ms |
//! | `routemq:queue:default:jobs:{bucket}` | hash | the jobs hash, one per 256 ms of job ids (`{bucket}`: the first 10 hex digits of a UUIDv7 id, its milliseconds / 256; `other` for any other id; `job_hash` in this file, `lib.lua`'s `job_hash`): id → the metadata the job was stored with, then its payload byte for byte (`"\0"`, the metadata's length, `"\|"`, the metadata, the payload: `split_body`, `lib.lua`'s `body_with_meta`; a body of a release before that, without the leading byte 0, is all payload); `"{id}:meta"`, written by the first claim, release or reclaim and then outranking the body's → `"attempts\|max_tries\|ready_at_ms"` (a unique job adds `"\|s\|key"` or `"\|f\|key"`; a chain link `"\|w\|c\|next\|catch"`, a batch job `"\|w\|b\|batch"`); `"{id}:group"` → a grouped job's group; `"{id}:run"` → its worker's run record (JSON: token, worker, progress, error); `"{id}:cancel"` → `1` while a cancel of the running job is pending |
//! | `routemq:queue:default:jobs:buckets` | set | names of the buckets above that may hold fields, so `clear` finds them: a write adds one (a driver's single push leaves that out for the bucket of the last minute it listed itself); one leaves only by `sweep_buckets.lua`, once its key is gone and its 256 ms ended an hour before (`bucket_listing.rs`) |
//! | `routemq:queue:default:jobs` | hash | the jobs hash of releases before the buckets: still read for a field found in no bucket and deleted from, never written, so jobs stored before an upgrade are served until they are gone |
//! | `routemq:queue:default:done:{id}` | string | a finished job's kept record, `"state\|attempts\|max_tries\|finished_at_ms\|has_result\|result"` (state `s` succeeded or `c` cancelled; the result bytes as they are), with a time to live (`PX`) |
//! | `routemq:queue:default:notify` | list | wake-up tokens for idle workers (64 after a trim, plus fewer than `WAKE_TRIM_EVERY` per driver since its last trim: `driver.rs`) |
//! | `routemq:queue:default:paused` | string | present while the queue is paused: when (ms); `claim.lua` skips the queue |
//! | `routemq:queue:default:unique` | set | uniqueness keys held on the queue (so `clear` finds their locks) |
//! | `routemq:queue:default:unique:{key}` | string | a uniqueness lock: the holder's job id, with a time to live (`PX`) |
//! | `routemq:queue:default:rate` | hash | rate limit, hold and cap: `jobs`, `per_ms`, `per_group` (`1`), `held_until` (server ms), `group_concurrency`; present while the queue has a limit, a cap or a hold (a hold alone expires with it) |
//! | `routemq:queue:default:rate_log` | zset | the limit's window: one member per started job (its token), scored by the start (server ms); expires a window after the last start |
//! | `routemq:queue:default:pushed_once` | zset | job ids stored by `RedisDriver::push_once` (a relay's idempotent push), scored by when (ms); entries older than the relay's memory are dropped by the next `push_once` |
//! | `routemq:queue:failed:default` | list | failed-job JSON records, newest first |
//! | `routemq:queue:default:group:{g}` | list | ready job ids of group `g`, FIFO (exists while it has ready jobs) |
//! | `routemq:queue:default:groups` | list | the rotation: groups with ready jobs in turn, each once, `""` standing for the ungrouped ready list; exists only while a group has ready jobs |
//! | `routemq:queue:default:grouped` | string | set once the queue has had a grouped job: promotions, releases and reclaims then read `"{id}:group"` fields |
//! | `routemq:queue:default:parked` | zset | blocked lanes out of the rotation (group held, its window full, at its cap) → when to look again (server ms); their lists keep their jobs |
//! | `routemq:queue:default:active` | hash | group → its reserved jobs (every grouped job, cap or not; a field leaves at 0) |
//! | `routemq:queue:default:rate:holds` | hash | group → its hold's end (server ms); expires with the last hold |
//! | `routemq:queue:default:rate_log:{g}` | zset | group `g`'s window under a per-group limit (the queue's `rate_log` is then the ungrouped jobs' window) |
//! | `routemq:queue:default:rate:windows` | zset | groups with a window log → when it expires (so `clear_rate_limit` finds them) |
//! | `routemq:queue:default:failed_index` | hash | id → the same record, for lookups by id |
//! | `routemq:queue:default:waiting` | set | ids of waiting jobs (chain links after the first, chain and batch callbacks): stored in the jobs hash, in no list or zset until released |
//! | `routemq:queue:default:waiting:order` | zset | the same ids in the order they were stored (score `stored_at_ms * 1000 + position in the push`, the position capped at 999; ties by id), so a listing pages through them oldest first; written and removed with the set |
//! | `routemq:queue:default:history:{hour}` | hash | throughput history of unix hour `{hour}` (`unix ms / 3,600,000`): field `{minute of the hour}` (`0`–`59`) → `"processed\|failed\|retried"`; expires `HISTORY_KEPT_FOR` after the hour ends (see `history.rs`) |
//! | `routemq:queue:default:batches` | zset | the queue's batch ids → when their record expires (ms; `+inf` until the batch finishes), so `clear` finds them |
//! | `routemq:queue:default:batch:{id}` | hash | batch `id`'s record: `name`, `total`, `pending`, `succeeded`, `failed`, `cancelled`, `allow_failures`, `cancelled_batch` (`1`/`0`), `created_at_ms`, `finished_at_ms`, `then`/`catch`/`finally` (callback ids, `""` once released or removed), `keep_ms`, `cancelled_keep_ms`; expires `BATCH_KEPT_FOR` after it finished |
//! | `routemq:queue:default:batch:{id}:jobs` | set | the batch's jobs not settled yet (ready, delayed or running) |
//! | `routemq:batches` | hash | batch id → `"queue\|created_at_ms"`, for listing and finding a batch's queue (written before the batch; entries whose record expired are dropped by a listing) |
//! | `routemq:queues` | set | every queue name ever used |
//! | `routemq:queues:paused` | set | names of paused queues, for listing only (the per-queue `paused` key decides) |
//! | `routemq:queues:limited` | set | names of queues with a rate limit, for listing only (the per-queue `rate` hash decides) |
//! | `routemq:workers` / `routemq:workers:info` | zset / hash | heartbeats: id → expiry ms / JSON (cluster mode: `routemq:{workers}` / `routemq:{workers}:info`, one slot) |
//! | `routemq:waker:{id}` | list | a waiting connection's private wake-up key (expires in 60 s; on a cluster `routemq:queue:{q}:waker:{id}`, in the queue's slot) |
//! | `routemq:queue:default:schedule:NAME` | hash | schedule NAME (its jobs go to `default`): `def` (definition JSON), `key` (spec and queue), `next`, `last` (ms), `last_job` (id) |
//! | `routemq:schedules` | hash | schedule name → its queue, for listing and finding the state hash |
//!
//! In cluster mode the queue name is wrapped in a hash tag (`routemq:queue:{default}`,
//! `routemq:queue:failed:{default}`, …), so one queue's keys share a slot. A
//! uniqueness lock's name starts with its queue's tagged name, so it shares that
//! slot too: `claim.lua`, `ack.lua`, `fail.lua`, `reclaim.lua` and `clear.lua`
//! build lock names from the `unique` set's name and the job's metadata, and
//! uniqueness is per queue. Finished records (`…:done:{id}`) are named from the
//! queue's base name likewise (`reclaim.lua` builds them from the prefix). Group lists, the rotation, the grouped flag, the
//! parked lanes and the running counts are named the same way (from the ready
//! list's name), group holds and windows from the `rate` and `rate_log` names,
//! by the scripts that use them. The workflow keys (waiting set and its order
//! index, batch index, batch records and job sets) likewise: `lib.lua`'s workflow
//! helpers name them from the ready list's name. History hashes are named from
//! the queue's base name too, so one queue's `record_history.lua` call touches one
//! slot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use routemq_core::QueueName;

use crate::KeyMode;

/// Builds key names for one prefix and mode. Each queue's names are built once
/// and kept (claims and acks ask for them on every call).
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
    mode: KeyMode,
    built: Arc<Mutex<HashMap<QueueName, Arc<QueueKeys>>>>,
}

/// The keys of one queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueKeys {
    pub ready: String,
    pub delayed: String,
    pub reserved: String,
    /// The jobs hash's name: its fields live in buckets named from it
    /// ([`job_hash`]); the hash of this name is the pre-bucket one.
    pub jobs: String,
    /// The set of buckets that may hold job fields.
    pub job_buckets: String,
    pub notify: String,
    pub paused: String,
    /// The set of held uniqueness keys; each lock is this name, `:` and the key.
    pub unique: String,
    pub rate: String,
    pub rate_log: String,
    /// The rotation of lanes with ready jobs (fair groups; see `groups.lua`).
    pub groups: String,
    /// Blocked lanes (group held, its window full, at its cap) → when to look
    /// again, server ms (see `groups.lua`).
    pub parked: String,
    /// Ids stored by `push_once`, scored by when (ms).
    pub pushed_once: String,
    pub failed: String,
    pub failed_index: String,
    /// The prefix of finished jobs' kept records; each is this name, `:` and the
    /// job id (see `done_record`).
    pub done: String,
    /// Waiting jobs (chain links, callbacks; see `lib.lua`'s workflow helpers).
    pub waiting: String,
    /// The waiting jobs in the order they were stored (zset; see `lib.lua`'s
    /// workflow helpers).
    pub waiting_order: String,
    /// The prefix of the throughput history's hourly hashes; each is this name,
    /// `:` and the unix hour (see `history_hour`).
    pub history: String,
    /// The queue's batches → when their record expires (ms).
    pub batches: String,
}

impl QueueKeys {
    /// The kept record of finished job `id` on this queue (same hash tag).
    pub fn done_record(&self, id: &str) -> String {
        format!("{}:{id}", self.done)
    }

    /// The record of batch `id` on this queue (same hash tag; `lib.lua` names it
    /// the same way from the ready list's name).
    pub fn batch(&self, id: &str) -> String {
        format!("{}:batch:{id}", self.ready)
    }

    /// The set of batch `id`'s jobs not settled yet.
    pub fn batch_jobs(&self, id: &str) -> String {
        format!("{}:batch:{id}:jobs", self.ready)
    }

    /// The throughput history hash of unix hour `hour` on this queue (same hash
    /// tag).
    pub fn history_hour(&self, hour: i64) -> String {
        format!("{}:{hour}", self.history)
    }

    /// The uniqueness lock of `key` on this queue.
    pub fn unique_lock(&self, key: &str) -> String {
        format!("{}:{key}", self.unique)
    }
}

/// The Redis hash that holds field `field` of a queue's jobs hash named `jobs`
/// (`routemq:queue:{q}:jobs`; a field is a job id, or an id, `:` and a suffix
/// such as `meta`).
///
/// Jobs are kept in one hash per 256 ms of their UUIDv7 ids, so no hash grows
/// with the queue (ARCHITECTURE.md, "Cost as the queue grows"): bytes 9 and 14
/// `-` and byte 15 `7` (a UUIDv7's hyphens and version) name the bucket
/// `{jobs}:` followed by bytes 1–8 and 10–11 (the id's milliseconds / 256 in
/// hex); any other field goes to `{jobs}:other`. Only bytes 1–15 count, which
/// are the id's for every field of a job (ids have no `:`, the suffixes no `-`
/// or `7`), so a job's fields share a bucket. The name is bytes because the
/// rule cuts bytes, which in an id that is not a UUID may split a character.
/// `lib.lua`'s `job_hash` is the same rule (`tests/job_buckets.rs` checks that both
/// put the jobs of every push path in the same bucket).
pub fn job_hash(jobs: &str, field: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(jobs.len() + 11);
    key.extend_from_slice(jobs.as_bytes());
    key.push(b':');
    match bucket_digits(field) {
        Some((high, low)) => {
            key.extend_from_slice(high);
            key.extend_from_slice(low);
        }
        None => key.extend_from_slice(b"other"),
    }
    key
}

/// The bytes of `field` that name its bucket ([`job_hash`]): bytes 1–8 and
/// 10–11 when bytes 9 and 14 are `-` and byte 15 is `7`, else `None` (the
/// `other` bucket).
fn bucket_digits(field: &str) -> Option<(&[u8], &[u8])> {
    let b = field.as_bytes();
    (b.len() >= 15 && b[8] == b'-' && b[13] == b'-' && b[14] == b'7').then(|| (&b[..8], &b[9..11]))
}

/// When the bucket of `field` ([`job_hash`]) begins, in milliseconds since the
/// epoch: its 10 hex digits times 256. `None` for a field of the `other`
/// bucket, and for one whose bucket bytes are not hex (an id that only looks
/// like a UUID); `sweep_buckets.lua` reads a bucket's name the same way.
pub(crate) fn bucket_start_ms(field: &str) -> Option<i64> {
    let (high, low) = bucket_digits(field)?;
    let mut at: i64 = 0;
    for &c in high.iter().chain(low) {
        at = at * 16 + i64::from(char::from(c).to_digit(16)?);
    }
    Some(at * 256)
}

impl Keys {
    pub fn new(prefix: &str, mode: KeyMode) -> Self {
        Keys {
            prefix: prefix.to_owned(),
            mode,
            built: Arc::default(),
        }
    }

    /// The keys of `queue` (built on first use, then shared).
    pub fn queue(&self, queue: &QueueName) -> Arc<QueueKeys> {
        let mut built = self.built.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = built.get(queue) {
            return k.clone();
        }
        let k = Arc::new(self.build(queue));
        built.insert(queue.clone(), k.clone());
        k
    }

    fn build(&self, queue: &QueueName) -> QueueKeys {
        let name = match self.mode {
            KeyMode::Plain => queue.as_str().to_owned(),
            KeyMode::Cluster => format!("{{{queue}}}"),
        };
        let base = format!("{}:queue:{name}", self.prefix);
        QueueKeys {
            delayed: format!("{base}:delayed"),
            reserved: format!("{base}:reserved"),
            jobs: format!("{base}:jobs"),
            job_buckets: format!("{base}:jobs:buckets"),
            notify: format!("{base}:notify"),
            paused: format!("{base}:paused"),
            unique: format!("{base}:unique"),
            rate: format!("{base}:rate"),
            rate_log: format!("{base}:rate_log"),
            groups: format!("{base}:groups"),
            parked: format!("{base}:parked"),
            pushed_once: format!("{base}:pushed_once"),
            failed_index: format!("{base}:failed_index"),
            done: format!("{base}:done"),
            waiting: format!("{base}:waiting"),
            waiting_order: format!("{base}:waiting:order"),
            history: format!("{base}:history"),
            batches: format!("{base}:batches"),
            failed: format!("{}:queue:failed:{name}", self.prefix),
            ready: base,
        }
    }

    /// The set of queue names.
    pub fn queues(&self) -> String {
        format!("{}:queues", self.prefix)
    }

    /// The set of paused queue names (an index for listing; each queue's own
    /// `paused` key is what claims check, so one queue's claim stays in one slot).
    pub fn paused_queues(&self) -> String {
        format!("{}:queues:paused", self.prefix)
    }

    /// The set of rate-limited queue names (an index for listing; each queue's
    /// own `rate` hash is what claims check).
    pub fn limited_queues(&self) -> String {
        format!("{}:queues:limited", self.prefix)
    }

    /// Worker heartbeats: id → expiry ms. In cluster mode `{prefix}:{workers}`,
    /// so the two heartbeat keys share a slot (the heartbeat scripts touch both).
    pub fn workers(&self) -> String {
        match self.mode {
            KeyMode::Plain => format!("{}:workers", self.prefix),
            KeyMode::Cluster => format!("{}:{{workers}}", self.prefix),
        }
    }

    /// Worker heartbeats: id → info JSON.
    pub fn workers_info(&self) -> String {
        format!("{}:info", self.workers())
    }

    /// The state hash of schedule `name`, in its queue's slot (so firing a tick
    /// touches one slot).
    pub fn schedule(&self, queue: &QueueName, name: &str) -> String {
        format!("{}:schedule:{name}", self.queue(queue).ready)
    }

    /// The schedule index: name → queue.
    pub fn schedules(&self) -> String {
        format!("{}:schedules", self.prefix)
    }

    /// The batch index: id → `"queue|created_at_ms"`.
    pub fn batch_index(&self) -> String {
        format!("{}:batches", self.prefix)
    }

    /// A waiter's private wake-up list: on one server one per waiter, whatever
    /// the queues; on a cluster named from the keys of the queue `slot_of` the
    /// wait blocks on, so it shares their slot and one `BLPOP` takes both.
    pub fn waker(&self, waiter: &str, slot_of: Option<&QueueKeys>) -> String {
        match slot_of {
            None => format!("{}:waker:{waiter}", self.prefix),
            Some(queue) => format!("{}:waker:{waiter}", queue.ready),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_fields_share_the_bucket_its_ids_milliseconds_name() {
        let jobs = "routemq:queue:{q}:jobs";
        let id = routemq_core::JobId::generate();
        let id = id.as_str();
        let bucket = job_hash(jobs, id);
        assert_eq!(
            bucket,
            format!("{jobs}:{}{}", &id[..8], &id[9..11]).into_bytes()
        );
        for suffix in ["meta", "group", "run", "cancel"] {
            assert_eq!(
                job_hash(jobs, &format!("{id}:{suffix}")),
                bucket,
                "{suffix}"
            );
        }
        // 256 ms apart: the next bucket.
        let ms: u64 = 0x0190_a1b2_c300;
        let at = |ms: u64| {
            format!(
                "{:08x}-{:04x}-7abc-8def-000000000001",
                ms >> 16,
                ms & 0xffff
            )
        };
        assert_eq!(job_hash(jobs, &at(ms)), job_hash(jobs, &at(ms + 255)));
        assert_ne!(job_hash(jobs, &at(ms)), job_hash(jobs, &at(ms + 256)));
        // Anything else (a UUIDv4, a short id, the id of a foreign payload) goes
        // to one bucket; bytes that split a character are kept as they are.
        let other = format!("{jobs}:other").into_bytes();
        for id in ["order-17", "x", "3b241101-e2bb-4255-8caf-4136c566a962", ""] {
            assert_eq!(job_hash(jobs, id), other, "{id}");
        }
        let odd = "aaaaaa\u{e9}-a\u{e9}a-7x";
        let mut want = format!("{jobs}:").into_bytes();
        want.extend_from_slice(&odd.as_bytes()[..8]);
        want.extend_from_slice(&odd.as_bytes()[9..11]);
        assert_eq!(job_hash(jobs, odd), want);
    }

    #[test]
    fn a_buckets_start_is_its_ids_milliseconds_rounded_down_to_256() {
        let ms: i64 = 0x0190_a1b2_c3ff;
        let id = format!(
            "{:08x}-{:04x}-7abc-8def-000000000001",
            ms >> 16,
            ms & 0xffff
        );
        assert_eq!(bucket_start_ms(&id), Some(0x0190_a1b2_c300));
        assert_eq!(
            bucket_start_ms(&format!("{id}:meta")),
            Some(0x0190_a1b2_c300)
        );
        let generated = routemq_core::JobId::generate();
        let now = routemq_core::unix_ms(std::time::SystemTime::now());
        let start = bucket_start_ms(generated.as_str()).expect("a UUIDv7 has a time");
        assert!(
            (now - 1_000..=now).contains(&start),
            "{start} against {now}"
        );
        // The `other` bucket, and bucket bytes that are not hex, have none.
        for id in [
            "order-17",
            "3b241101-e2bb-4255-8caf-4136c566a962",
            "aaaaaa\u{e9}-a\u{e9}a-7x",
            "zzzzzzzz-zzzz-7abc",
        ] {
            assert_eq!(bucket_start_ms(id), None, "{id}");
        }
    }

    #[test]
    fn plain_mode_gives_the_seed_names() {
        let k = Keys::new("routemq", KeyMode::Plain).queue(&QueueName::new("default").unwrap());
        assert_eq!(k.ready, "routemq:queue:default");
        assert_eq!(k.delayed, "routemq:queue:default:delayed");
        assert_eq!(k.reserved, "routemq:queue:default:reserved");
        assert_eq!(k.failed, "routemq:queue:failed:default");
        assert_eq!(k.paused, "routemq:queue:default:paused");
        assert_eq!(k.rate, "routemq:queue:default:rate");
        assert_eq!(k.rate_log, "routemq:queue:default:rate_log");
    }

    #[test]
    fn cluster_mode_puts_the_queue_in_a_hash_tag() {
        let k = Keys::new("routemq", KeyMode::Cluster).queue(&QueueName::new("emails").unwrap());
        assert_eq!(k.ready, "routemq:queue:{emails}");
        assert_eq!(k.delayed, "routemq:queue:{emails}:delayed");
        assert_eq!(k.failed, "routemq:queue:failed:{emails}");
        let lock = k.unique_lock("report:{7}");
        assert_eq!(lock, "routemq:queue:{emails}:unique:report:{7}");
        for key in [
            &k.reserved,
            &k.jobs,
            &k.notify,
            &k.failed_index,
            &k.paused,
            &k.unique,
            &k.rate,
            &k.rate_log,
            &k.done_record("0190-a"),
            &k.waiting,
            &k.waiting_order,
            &k.history_hour(480_000),
            &k.batches,
            &k.batch("b1"),
            &k.batch_jobs("b1"),
        ] {
            assert!(key.contains("{emails}"), "{key}");
        }
        assert_eq!(k.done_record("j1"), "routemq:queue:{emails}:done:j1");
        assert_eq!(k.batch("b1"), "routemq:queue:{emails}:batch:b1");
        assert_eq!(k.batch_jobs("b1"), "routemq:queue:{emails}:batch:b1:jobs");
        assert_eq!(k.waiting, "routemq:queue:{emails}:waiting");
        assert_eq!(k.waiting_order, "routemq:queue:{emails}:waiting:order");
        assert_eq!(
            k.history_hour(480_000),
            "routemq:queue:{emails}:history:480000"
        );
        let keys = Keys::new("routemq", KeyMode::Cluster);
        assert_eq!(
            keys.schedule(&QueueName::new("emails").unwrap(), "digest"),
            "routemq:queue:{emails}:schedule:digest"
        );
    }
}
