//! [`FailedStore`] for [`MemoryDriver`].

use std::time::SystemTime;

use async_trait::async_trait;

use super::{FailedRecord, MemoryDriver};
use crate::{
    unix_ms, DriverError, FailedJob, FailedQuery, FailedStore, JobId, PendingJob, QueueName,
};

#[async_trait]
impl FailedStore for MemoryDriver {
    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError> {
        let state = self.state();
        let mut records: Vec<&FailedRecord> = state
            .failed
            .values()
            .filter(|f| {
                query
                    .queue
                    .as_ref()
                    .is_none_or(|q| f.job.queue == q.as_str())
            })
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.seq));
        Ok(records
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|r| r.job.clone())
            .collect())
    }

    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError> {
        Ok(self.state().failed.get(id).map(|r| r.job.clone()))
    }

    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError> {
        {
            let mut state = self.state();
            let Some(record) = state.failed.remove(id) else {
                return Ok(false);
            };
            let queue = match QueueName::new(record.job.queue.clone()) {
                Ok(q) => q,
                Err(e) => {
                    state.failed.insert(id.clone(), record);
                    return Err(e);
                }
            };
            state.insert(
                PendingJob {
                    id: id.clone(),
                    queue,
                    max_tries: record.max_tries,
                    payload: record.job.payload,
                    available_at: None,
                    group: record.job.group,
                },
                unix_ms(SystemTime::now()),
            );
        }
        self.inner.notify.notify_waiters();
        Ok(true)
    }

    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError> {
        Ok(self.state().failed.remove(id).is_some())
    }

    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError> {
        let mut state = self.state();
        let before = state.failed.len();
        state
            .failed
            .retain(|_, f| queue.is_some_and(|q| f.job.queue != q.as_str()));
        Ok((before - state.failed.len()) as u64)
    }

    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError> {
        let mut state = self.state();
        let before = state.failed.len();
        state.failed.retain(|_, f| f.job.failed_at >= cutoff);
        Ok((before - state.failed.len()) as u64)
    }
}
