//! Uniqueness locks of [`MemoryDriver`](super::MemoryDriver): taking a key with
//! its job in one mutex section, debouncing a waiting holder, and releasing a
//! lock only while it still names the job.

use std::time::Duration;

use super::{State, StoredJob};
use crate::{unix_ms, Dispatched, JobId, PendingJob, UniqueScope, Uniqueness};

impl State {
    /// `push_unique` under the state's mutex (see
    /// [`JobLifecycle::push_unique`](crate::JobLifecycle::push_unique)).
    pub(super) fn push_unique(
        &mut self,
        job: PendingJob,
        unique: &Uniqueness,
        now: i64,
    ) -> Dispatched {
        let slot = (job.queue.clone(), unique.key.clone());
        let held = self
            .locks
            .get(&slot)
            .filter(|(holder, expires)| *expires > now && self.jobs.contains_key(holder))
            .map(|(holder, _)| holder.clone());
        let due = job.available_at.map_or(now, unix_ms);
        let ttl = unique.lock_ttl(Duration::from_millis((due - now).max(0) as u64));
        let expires = now.saturating_add(ttl.as_millis() as i64);
        if let Some(holder) = held {
            let debounced = unique.debounce.is_some() && self.debounce(&holder, job, due, now);
            if debounced && !matches!(unique.scope, UniqueScope::For(_)) {
                if let Some(lock) = self.locks.get_mut(&slot) {
                    lock.1 = expires;
                }
            }
            return Dispatched::duplicate_of(holder, debounced);
        }
        let id = job.id.clone();
        let queue = job.queue.clone();
        self.insert(job, now);
        if let Some(stored) = self.jobs.get_mut(&id) {
            stored.unique = Some((unique.key.clone(), unique.scope.until_started()));
        }
        self.locks
            .insert((queue, unique.key.clone()), (id.clone(), expires));
        Dispatched::stored(id)
    }

    /// Gives a holder that was never claimed `job`'s payload, tries and due time;
    /// false when it has started (nothing changes then).
    fn debounce(&mut self, holder: &JobId, job: PendingJob, due: i64, now: i64) -> bool {
        let Some(stored) = self.jobs.get_mut(holder) else {
            return false;
        };
        if stored.attempts > 0 {
            return false;
        }
        stored.payload = job.payload;
        stored.max_tries = job.max_tries.max(1);
        let queue = stored.queue.clone();
        let seq = self.next_seq();
        let Some(q) = self.queues.get_mut(&queue) else {
            return true;
        };
        q.unready(holder);
        q.delayed.retain(|_, id| id != holder);
        if due > now {
            q.delayed.insert((due, seq), holder.clone());
        } else {
            self.make_ready(&queue, holder.clone(), now);
        }
        true
    }

    /// Removes a job, releasing the lock it holds.
    pub(super) fn remove_job(&mut self, id: &JobId) -> Option<StoredJob> {
        self.release_lock(id);
        self.jobs.remove(id)
    }

    /// Releases the lock job `id` holds, if it still names the job.
    pub(super) fn release_lock(&mut self, id: &JobId) {
        let Some(job) = self.jobs.get_mut(id) else {
            return;
        };
        let Some((key, _)) = job.unique.take() else {
            return;
        };
        let slot = (job.queue.clone(), key);
        if self
            .locks
            .get(&slot)
            .is_some_and(|(holder, _)| holder == id)
        {
            self.locks.remove(&slot);
        }
    }

    /// At claim: releases the lock of an `UntilStarted` job.
    pub(super) fn started(&mut self, id: &JobId) {
        if self
            .jobs
            .get(id)
            .is_some_and(|j| matches!(j.unique, Some((_, true))))
        {
            self.release_lock(id);
        }
    }
}
