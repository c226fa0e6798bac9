//! Building the push scripts' commands (`push.lua` for one queue's jobs,
//! `push_unique.lua` for one job under a uniqueness key).

use std::time::Duration;

use routemq_core::{unix_ms, PendingJob, QueueName, UniqueScope, Uniqueness};

use crate::lifecycle::ms;
use crate::RedisDriver;

impl RedisDriver {
    /// The push script's arguments: counts, then the jobs hash's field/value pairs
    /// (body and `"{id}:meta"` per job), ready ids and (score, id) pairs for
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
            // Body, then attempts | max_tries | when it became (or becomes) claimable.
            cmd.arg(job.id.as_str())
                .arg(job.payload.as_slice())
                .arg(format!("{}:meta", job.id))
                .arg(format!("0|{}|{at}", job.max_tries.max(1)));
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

    /// The single dispatch's command: `push_one.lua` for an ungrouped job (the
    /// common case, about half the server time of `push.lua`), else `push.lua`.
    pub(crate) fn push_single_cmd(&self, job: &PendingJob, now: i64) -> redis::Cmd {
        if job.group.is_some() {
            return self.push_cmd(&job.queue, &[job], now);
        }
        let k = self.inner.keys.queue(&job.queue);
        let at = job.available_at.map_or(now, unix_ms);
        let due = if at > now {
            at.to_string()
        } else {
            String::new()
        };
        let mut cmd = self
            .inner
            .pool
            .scripts()
            .push_one
            .cmd(&[&k.ready, &k.delayed, &k.jobs, &k.notify], job.id.as_str());
        cmd.arg(job.payload.as_slice())
            .arg(format!("{}:meta", job.id))
            .arg(format!("0|{}|{at}", job.max_tries.max(1)))
            .arg(due);
        cmd
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
