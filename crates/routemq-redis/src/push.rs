//! Building the push scripts' commands (`push.lua` for one queue's jobs,
//! `push_unique.lua` for one job under a uniqueness key).

use std::collections::BTreeMap;
use std::time::Duration;

use routemq_core::{unix_ms, PendingJob, QueueName, UniqueScope, Uniqueness};

use crate::body::BodyWithMeta;
use crate::driver::PushWrites;
use crate::lifecycle::ms;
use crate::RedisDriver;

/// Appends a new job's field of the jobs hash to `cmd` (an `HSET` or a
/// script's argument list): id → the payload with its metadata in front
/// (`crate::body`), `"0|max_tries|ready_at_ms"` followed by `tail` (a uniqueness
/// or workflow tail, `""` for none).
pub(crate) fn job_body(cmd: &mut redis::Cmd, job: &PendingJob, ready_at: i64, tail: &str) {
    // Built without `format!`, whose machinery cost about 1,100 instructions
    // a job (7 % of a bulk push's client time).
    let (mut tries, mut at) = (itoa::Buffer::new(), itoa::Buffer::new());
    let meta = [
        "0|",
        tries.format(job.max_tries.max(1)),
        "|",
        at.format(ready_at),
        tail,
    ]
    .concat();
    cmd.arg(job.id.as_str()).arg(BodyWithMeta {
        meta: &meta,
        payload: &job.payload,
    });
}

/// At least the bytes of `job`'s body field as [`job_body`] writes it: the
/// payload and room for the metadata in front (framing, attempts, tries, a
/// millisecond time) without a tail.
fn body_len(job: &PendingJob) -> usize {
    job.payload.len() + 48
}

/// A command named `name` with room for `args` arguments (the name among them)
/// and `bytes` bytes of them besides the name.
fn command(name: &str, args: usize, bytes: usize) -> redis::Cmd {
    let mut cmd = redis::Cmd::with_capacity(args, name.len() + bytes);
    cmd.arg(name);
    cmd
}

impl RedisDriver {
    /// The push script's arguments: counts, then the jobs hash's field/value pairs
    /// (the body, metadata in front, per job), ready ids and (score, id) pairs for
    /// delayed jobs (see `push.lua`).
    pub(crate) fn push_cmd(&self, queue: &QueueName, jobs: &[&PendingJob], now: i64) -> redis::Cmd {
        let k = self.inner.keys.queue(queue);
        let due: Vec<i64> = jobs
            .iter()
            .map(|j| j.available_at.map_or(now, unix_ms))
            .collect();
        let delayed = due.iter().filter(|at| **at > now).count();
        let plain_ready = jobs
            .iter()
            .zip(&due)
            .filter(|(j, at)| **at <= now && j.group.is_none())
            .count();
        let grouped = jobs.iter().filter(|j| j.group.is_some()).count();
        // Ready grouped jobs by group, groups in order of first appearance.
        let mut lanes: Vec<(&str, Vec<&str>)> = Vec::new();
        for (job, at) in jobs.iter().zip(&due) {
            if let (Some(g), true) = (&job.group, *at <= now) {
                match lanes.iter_mut().find(|(name, _)| *name == g.as_str()) {
                    Some((_, ids)) => ids.push(job.id.as_str()),
                    None => lanes.push((g.as_str(), vec![job.id.as_str()])),
                }
            }
        }
        let mut cmd = self.inner.pool.scripts().push.cmd(
            &[&k.ready, &k.delayed, &k.jobs, &k.notify],
            (jobs.len(), plain_ready, delayed, grouped, lanes.len()),
        );
        for (job, at) in jobs.iter().zip(&due) {
            // The body, after attempts | max_tries | when it became (or becomes) claimable.
            job_body(&mut cmd, job, *at, "");
        }
        for job in jobs {
            if let Some(g) = &job.group {
                cmd.arg(format!("{}:group", job.id)).arg(g.as_str());
            }
        }
        for (job, at) in jobs.iter().zip(&due) {
            if *at <= now && job.group.is_none() {
                cmd.arg(job.id.as_str());
            }
        }
        for (job, at) in jobs.iter().zip(&due) {
            if *at > now {
                cmd.arg(*at).arg(job.id.as_str());
            }
        }
        for (g, ids) in &lanes {
            cmd.arg(*g).arg(ids.len()).arg(ids);
        }
        cmd
    }

    /// Ungrouped jobs of one queue pushed as one `MULTI`/`EXEC` of plain
    /// commands: bodies with their metadata (`HSET` per bucket of the jobs hash,
    /// and with `writes.list_buckets` `SADD` of the buckets), ready ids in order
    /// (`RPUSH`), delayed ids (`ZADD`), wake-up tokens (`RPUSH` of one per job,
    /// at most 64, and with `writes.trim_wake` an `LTRIM` to 64), the writes
    /// `push.lua` makes for such jobs. A single push trims only now and then
    /// (`crate::driver::WAKE_TRIM_EVERY`) and lists its bucket only when this
    /// driver has not listed it yet (`crate::bucket_listing`): two commands
    /// less in most single pushes, whose transaction is their cost
    /// (ARCHITECTURE.md, "The transaction is the single push's floor").
    /// Atomic like a script, one round trip, and a fraction of a script's
    /// server time: the script copies every argument into Lua strings and back
    /// (an `EVALSHA` of one job's four commands took 17 µs of Redis time here,
    /// the transaction about 4 µs; a bulk of 1,000 jobs about 9 ms as a script).
    /// The caller passes at least one job, none grouped (a grouped job needs
    /// `push.lua`, which keeps the group rotation), all of `queue`, and at most
    /// `PUSH_CHUNK` of them, so one `EXEC` stays short.
    ///
    /// Run it for `()`: no command is marked ignored, because the `redis`
    /// crate keeps ignored positions in a `HashSet` it builds and probes on
    /// every call (about 4,000 of a single push's 58,300 client instructions
    /// under callgrind); a server error in any reply is still returned.
    pub(crate) fn push_tx(
        &self,
        queue: &QueueName,
        jobs: &[&PendingJob],
        now: i64,
        writes: PushWrites,
    ) -> redis::Pipeline {
        debug_assert!(!jobs.is_empty() && jobs.iter().all(|j| j.group.is_none()));
        let k = self.inner.keys.queue(queue);
        let due = |job: &PendingJob| job.available_at.map_or(now, unix_ms);
        // Every command is sized before it is written: growing a command's
        // buffers one argument at a time cost ten reallocations a single push
        // (about 4,700 of its client instructions under callgrind). The call
        // has at most `PUSH_CHUNK` jobs, so the room taken stays bounded.
        //
        // One HSET per bucket of the jobs hash (`crate::keys::job_hash`). A
        // bulk's ids are time-ordered, so a job's bucket is nearly always the
        // previous job's; any other is found through `index`, so ids of many
        // times (jobs built long before their bulk push) stay O(n log n).
        let ids_bytes: usize = jobs.iter().map(|j| j.id.as_str().len()).sum();
        let fields_bytes = ids_bytes + jobs.iter().map(|j| body_len(j)).sum::<usize>();

        let mut hsets: Vec<(Vec<u8>, redis::Cmd)> = Vec::with_capacity(1);
        let mut index: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        let mut delayed = 0;
        for job in jobs {
            let at = due(job);
            delayed += usize::from(at > now);
            let bucket = crate::keys::job_hash(&k.jobs, job.id.as_str());
            let at_index = match hsets.last() {
                Some((last, _)) if *last == bucket => hsets.len() - 1,
                _ => *index.entry(bucket.clone()).or_insert_with(|| {
                    // The first bucket has room for every job: a bulk's jobs
                    // nearly always share it. A later one grows as it goes.
                    let mut hset = match hsets.is_empty() {
                        true => command("HSET", 2 + 2 * jobs.len(), bucket.len() + fields_bytes),
                        false => redis::cmd("HSET"),
                    };
                    hset.arg(&bucket);
                    hsets.push((bucket, hset));
                    hsets.len() - 1
                }),
            };
            job_body(&mut hsets[at_index].1, job, at, "");
        }
        let ready = jobs.len() - delayed;
        let mut tx = redis::Pipeline::with_capacity(hsets.len() + 5);
        tx.atomic();
        let mut sadd = writes.list_buckets.then(|| {
            let buckets_bytes: usize = hsets.iter().map(|(b, _)| b.len()).sum();
            let mut sadd = command("SADD", 2 + hsets.len(), k.job_buckets.len() + buckets_bytes);
            sadd.arg(&k.job_buckets);
            sadd
        });
        for (bucket, hset) in hsets {
            if let Some(sadd) = &mut sadd {
                sadd.arg(bucket);
            }
            tx.add_command(hset);
        }
        if let Some(sadd) = sadd {
            tx.add_command(sadd);
        }
        if ready > 0 {
            let mut rpush = command("RPUSH", 2 + ready, k.ready.len() + ids_bytes);
            rpush.arg(&k.ready);
            for job in jobs.iter().filter(|j| due(j) <= now) {
                rpush.arg(job.id.as_str());
            }
            tx.add_command(rpush);
        }
        if delayed > 0 {
            let mut zadd = command(
                "ZADD",
                2 + 2 * delayed,
                k.delayed.len() + ids_bytes + 13 * delayed,
            );
            zadd.arg(&k.delayed);
            for job in jobs {
                let at = due(job);
                if at > now {
                    zadd.arg(at).arg(job.id.as_str());
                }
            }
            tx.add_command(zadd);
        }
        let tokens = jobs.len().min(64);
        let mut wake = command("RPUSH", 2 + tokens, k.notify.len() + tokens);
        wake.arg(&k.notify);
        for _ in 0..tokens {
            wake.arg("1");
        }
        tx.add_command(wake);
        if writes.trim_wake {
            let mut trim = command("LTRIM", 4, k.notify.len() + 4);
            trim.arg(&k.notify).arg(-64).arg(-1);
            tx.add_command(trim);
        }
        tx
    }

    /// `push_unique.lua`'s command for `job` under `unique` (see the script's
    /// header for the arguments).
    pub(crate) fn push_unique_cmd(
        &self,
        job: &PendingJob,
        unique: &Uniqueness,
        now: i64,
    ) -> redis::Cmd {
        let k = self.inner.keys.queue(&job.queue);
        let due = job.available_at.map_or(now, unix_ms);
        let ttl = ms(unique.lock_ttl(Duration::from_millis((due - now).max(0) as u64))).max(1);
        let scope = if unique.scope.until_started() {
            "s"
        } else {
            "f"
        };
        let lock = k.unique_lock(unique.key.as_str());
        let mut cmd = self.inner.pool.scripts().push_unique.cmd(
            &[&k.ready, &k.delayed, &k.jobs, &k.notify, &k.unique, &lock],
            (
                job.id.as_str(),
                job.payload.as_slice(),
                job.max_tries.max(1),
            ),
        );
        let renew = !matches!(unique.scope, UniqueScope::For(_));
        cmd.arg(due)
            .arg(now)
            .arg(scope)
            .arg(ttl)
            .arg(if unique.debounce.is_some() { "1" } else { "0" })
            .arg(unique.key.as_str())
            .arg(if renew { "1" } else { "0" })
            .arg(job.group.as_ref().map_or("", |g| g.as_str()));
        cmd
    }
}
