//! [`FailedStore`] for [`DatabaseFailedStore`], and the retry back to Redis.

use std::time::SystemTime;

use async_trait::async_trait;
use routemq_core::{
    DriverError, FailedJob, FailedQuery, FailedStore, JobId, PendingJob, QueueName,
};
use routemq_mysql::HandoffRetry;

use crate::{DatabaseFailedStore, HandoffError, HandoffStep, CONNECTION};

impl DatabaseFailedStore {
    /// A retry of failed job `id` that stops after `step` as if its process
    /// died there. For fault tests; `Ok(false)` when there is no such job.
    pub async fn retry_stopping_at(
        &self,
        id: &JobId,
        step: HandoffStep,
    ) -> Result<bool, HandoffError> {
        let Some(retry) = self.mysql.begin_handoff_retry(id, CONNECTION).await? else {
            return Ok(false);
        };
        if step == HandoffStep::RetryMarked {
            return Err(HandoffError::Stopped(step));
        }
        self.finish_retry(&retry, Some(step)).await
    }

    /// Pushes a marked retry's job back to its Redis queue (claimable now,
    /// attempts reset, idempotent under the retry's token) and deletes its row.
    /// `true` when this call deleted the row.
    pub(crate) async fn finish_retry(
        &self,
        retry: &HandoffRetry,
        stop: Option<HandoffStep>,
    ) -> Result<bool, HandoffError> {
        let job = &retry.failed.job;
        let queue = match QueueName::new(job.queue.clone()) {
            Ok(q) => q,
            Err(e) => {
                // Left marked in the failed store; an operator can forget it.
                tracing::error!(id = %job.id, queue = %job.queue, "a failed job with an invalid queue name cannot be retried: {e}");
                return Ok(false);
            }
        };
        let pending = PendingJob {
            id: job.id.clone(),
            queue,
            max_tries: retry.failed.max_tries,
            payload: job.payload.clone(),
            available_at: None,
            group: job.group.clone(),
        };
        let marker = format!("{}:retry:{}", job.id, retry.token);
        self.redis
            .push_once_marked(&pending, &marker, self.config.remember)
            .await?;
        if stop == Some(HandoffStep::RetryPushed) {
            return Err(HandoffError::Stopped(HandoffStep::RetryPushed));
        }
        Ok(self.mysql.finish_handoff_retry(retry).await?)
    }
}

#[async_trait]
impl FailedStore for DatabaseFailedStore {
    /// Moves fresh failures first, so a job that just failed is listed.
    async fn failed_list(&self, query: &FailedQuery) -> Result<Vec<FailedJob>, DriverError> {
        self.move_failures().await?;
        self.mysql.failed_list(query).await
    }

    async fn failed_show(&self, id: &JobId) -> Result<Option<FailedJob>, DriverError> {
        self.move_failures().await?;
        self.mysql.failed_show(id).await
    }

    /// A Redis queue's job goes back to Redis in the marked steps (see the
    /// crate docs); a database queue's row is retried by `MysqlDriver`.
    async fn failed_retry(&self, id: &JobId) -> Result<bool, DriverError> {
        self.move_failures().await?;
        match self.mysql.begin_handoff_retry(id, CONNECTION).await? {
            Some(retry) => match self.finish_retry(&retry, None).await {
                Ok(done) => Ok(done),
                Err(HandoffError::Driver(e)) => Err(e),
                Err(HandoffError::Stopped(_)) => unreachable!("a retry without a stop never stops"),
            },
            None => self.mysql.failed_retry(id).await,
        }
    }

    async fn failed_forget(&self, id: &JobId) -> Result<bool, DriverError> {
        self.move_failures().await?;
        self.mysql.failed_forget(id).await
    }

    async fn failed_flush(&self, queue: Option<&QueueName>) -> Result<u64, DriverError> {
        self.move_failures().await?;
        self.mysql.failed_flush(queue).await
    }

    async fn failed_prune(&self, cutoff: SystemTime) -> Result<u64, DriverError> {
        self.move_failures().await?;
        self.mysql.failed_prune(cutoff).await
    }
}
