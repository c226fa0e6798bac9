//! Building the push script's command (`push.lua`) for one queue's jobs.

use routemq_core::{unix_ms, PendingJob, QueueName};

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
        let ready = jobs.len() - delayed;
        let mut cmd = self.inner.pool.scripts().push.cmd(
            &[&k.ready, &k.delayed, &k.jobs, &k.notify],
            (jobs.len(), ready, delayed),
        );
        for (job, at) in jobs.iter().zip(&due) {
            // Body, then attempts | max_tries | when it became (or becomes) claimable.
            cmd.arg(job.id.as_str())
                .arg(job.payload.as_slice())
                .arg(format!("{}:meta", job.id))
                .arg(format!("0|{}|{at}", job.max_tries.max(1)));
        }
        for (job, at) in jobs.iter().zip(&due) {
            if *at <= now {
                cmd.arg(job.id.as_str());
            }
        }
        for (job, at) in jobs.iter().zip(&due) {
            if *at > now {
                cmd.arg(*at).arg(job.id.as_str());
            }
        }
        cmd
    }
}
