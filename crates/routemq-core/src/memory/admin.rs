//! [`QueueAdmin`] for [`MemoryDriver`].

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::MemoryDriver;
use crate::{unix_ms, DriverError, JobId, QueueAdmin, QueueName, QueueStats};

#[async_trait]
impl QueueAdmin for MemoryDriver {
    async fn stats(&self, queue: &QueueName) -> Result<QueueStats, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        state.promote_due(queue, now);
        let failed = state
            .failed
            .values()
            .filter(|f| f.job.queue == queue.as_str())
            .count() as u64;
        let q = state.queues.get(queue);
        Ok(QueueStats {
            queue: queue.to_string(),
            ready: q.map_or(0, |q| q.ready_iter().count() as u64),
            delayed: q.map_or(0, |q| q.delayed.len() as u64),
            reserved: q.map_or(0, |q| q.reserved.len() as u64),
            failed,
            oldest_ready_age: q
                .and_then(|q| q.ready_iter().map(|(_, at)| *at).min())
                .map(|at| Duration::from_millis((now - at).max(0) as u64)),
            paused: state.paused.contains(queue),
            rate_limit: state.limiters.get(queue).and_then(|l| l.limit()),
        })
    }

    async fn queues(&self) -> Result<Vec<QueueName>, DriverError> {
        let state = self.state();
        let mut names: BTreeSet<QueueName> = state.queues.keys().cloned().collect();
        for f in state.failed.values() {
            if let Ok(q) = QueueName::new(f.job.queue.clone()) {
                names.insert(q);
            }
        }
        Ok(names.into_iter().collect())
    }

    async fn clear(&self, queue: &QueueName) -> Result<u64, DriverError> {
        let mut state = self.state();
        let Some(q) = state.queues.get_mut(queue) else {
            return Ok(0);
        };
        let ids: Vec<JobId> = q
            .drain_ready()
            .into_iter()
            .chain(std::mem::take(&mut q.delayed).into_values())
            .chain(q.reserved.drain().map(|(id, _)| id))
            .chain(std::mem::take(&mut q.waiting))
            .collect();
        for id in &ids {
            state.remove_job(id);
        }
        // Its batches go with their jobs (a batch lives in one queue).
        state.batches.retain(|_, b| b.queue() != queue);
        Ok(ids.len() as u64)
    }

    async fn pause(&self, queue: &QueueName) -> Result<bool, DriverError> {
        Ok(self.state().paused.insert(queue.clone()))
    }

    async fn resume(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let was = self.state().paused.remove(queue);
        if was {
            self.inner.notify.notify_waiters();
        }
        Ok(was)
    }

    async fn paused(&self) -> Result<Vec<QueueName>, DriverError> {
        Ok(self.state().paused.iter().cloned().collect())
    }
}
