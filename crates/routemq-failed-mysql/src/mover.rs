//! Moving failures from Redis's failed lists into MySQL, and finishing retries
//! whose retrier died.

use std::future::Future;

use routemq_core::{DriverError, JobId, QueueAdmin};
use routemq_mysql::HandedOver;

use crate::{DatabaseFailedStore, HandoffError, HandoffStep, CONNECTION};

/// What one move did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MovePass {
    /// Failures moved from Redis to MySQL.
    pub moved: u64,
    /// Unfinished retries this move finished.
    pub retries_finished: u64,
}

impl DatabaseFailedStore {
    /// One move: every Redis queue's failed records, oldest first, copied into
    /// MySQL (idempotently) and then deleted from Redis; then the retries left
    /// unfinished longer than `retry_grace` are finished.
    pub async fn move_failures(&self) -> Result<MovePass, DriverError> {
        match self.move_pass(None).await {
            Ok(p) => Ok(p),
            Err(HandoffError::Driver(e)) => Err(e),
            Err(HandoffError::Stopped(_)) => unreachable!("a move without a stop never stops"),
        }
    }

    /// A move that stops after `step` ([`HandoffStep::Stored`]) as if its
    /// process died there. For fault tests.
    pub async fn move_failures_stopping_at(
        &self,
        step: HandoffStep,
    ) -> Result<MovePass, HandoffError> {
        self.move_pass(Some(step)).await
    }

    /// Moves every `interval` until `shutdown` completes, then once more (so
    /// the failures of a worker's last second are moved too); errors are
    /// logged and the next move tries again. Returns the failures moved.
    pub async fn run_mover(&self, shutdown: impl Future<Output = ()>) -> u64 {
        tokio::pin!(shutdown);
        let mut moved = 0;
        loop {
            match self.move_failures().await {
                Ok(p) => moved += p.moved,
                Err(e) => {
                    tracing::warn!(error = %e, "moving failed jobs to the database failed; retrying")
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.config.interval) => {}
            }
        }
        match self.move_failures().await {
            Ok(p) => moved + p.moved,
            Err(e) => {
                tracing::warn!(error = %e, "the last move of failed jobs to the database failed; the next mover moves them");
                moved
            }
        }
    }

    async fn move_pass(&self, stop: Option<HandoffStep>) -> Result<MovePass, HandoffError> {
        let mut pass = MovePass::default();
        let batch = self.config.batch.max(1);
        for queue in QueueAdmin::queues(&self.redis).await? {
            loop {
                let oldest = self.redis.failed_oldest(&queue, batch).await?;
                if oldest.is_empty() {
                    break;
                }
                let failures: Vec<HandedOver> = oldest
                    .into_iter()
                    .map(|(job, max_tries)| HandedOver { job, max_tries })
                    .collect();
                self.mysql.store_handed_over(&failures).await?;
                if stop == Some(HandoffStep::Stored) {
                    return Err(HandoffError::Stopped(HandoffStep::Stored));
                }
                let ids: Vec<JobId> = failures.iter().map(|f| f.job.id.clone()).collect();
                pass.moved += self.redis.failed_remove(&queue, &ids).await?;
                if failures.len() < batch {
                    break;
                }
            }
        }
        for retry in self
            .mysql
            .stale_handoff_retries(CONNECTION, self.config.retry_grace, batch)
            .await?
        {
            if self.finish_retry(&retry, None).await? {
                pass.retries_finished += 1;
            }
        }
        Ok(pass)
    }
}
