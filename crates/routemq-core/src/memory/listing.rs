//! [`JobListing`] for [`MemoryDriver`]: reads the queue's lanes, delayed map,
//! reservations and waiting set under the lock, in the contract's orders.
//! Ready and delayed pages walk only `offset + limit` entries; running and
//! waiting pages sort the queue's running (or waiting) jobs, which memory can
//! afford.

use std::time::SystemTime;

use async_trait::async_trait;

use super::{MemoryDriver, QueueState, State};
use crate::{
    unix_ms, DriverError, JobId, JobListing, JobState, JobSummary, ListPage, QueueName,
    MAX_LIST_PAGE,
};

/// One listed job before its stored fields are read: (id, due at, lease until).
type Entry = (JobId, Option<i64>, Option<i64>);

impl QueueState {
    /// The ready jobs with the time each became available, in claim order for
    /// the plain list, then the grouped lanes one after another in their turn.
    fn ready_in_order(&self) -> impl Iterator<Item = &(JobId, i64)> {
        let lanes = self
            .rotation
            .iter()
            .flatten()
            .filter_map(|g| self.groups.get(g))
            .flatten();
        self.ready.iter().chain(lanes)
    }
}

impl State {
    /// The page's entries of `q` (see [`JobListing::list_jobs`]).
    fn list_entries(
        &self,
        q: &QueueState,
        state: JobState,
        skip: usize,
        take: usize,
    ) -> Vec<Entry> {
        match state {
            JobState::Ready => q
                .ready_in_order()
                .skip(skip)
                .take(take)
                .map(|(id, at)| (id.clone(), Some(*at), None))
                .collect(),
            JobState::Delayed => q
                .delayed
                .iter()
                .skip(skip)
                .take(take)
                .map(|((at, _), id)| (id.clone(), Some(*at), None))
                .collect(),
            JobState::Running => {
                let mut running: Vec<(i64, &JobId)> =
                    q.reserved.iter().map(|(id, (_, d))| (*d, id)).collect();
                running.sort_unstable();
                running
                    .into_iter()
                    .skip(skip)
                    .take(take)
                    .map(|(d, id)| (id.clone(), None, Some(d)))
                    .collect()
            }
            _ => {
                let mut waiting: Vec<(u64, &JobId)> = q
                    .waiting
                    .iter()
                    .map(|id| (self.jobs.get(id).map_or(0, |j| j.stored_seq), id))
                    .collect();
                waiting.sort_unstable();
                waiting
                    .into_iter()
                    .skip(skip)
                    .take(take)
                    .map(|(_, id)| (id.clone(), None, None))
                    .collect()
            }
        }
    }
}

#[async_trait]
impl JobListing for MemoryDriver {
    async fn list_jobs(
        &self,
        queue: &QueueName,
        page: ListPage,
    ) -> Result<Vec<JobSummary>, DriverError> {
        let kind = page.state;
        if !matches!(
            kind,
            JobState::Ready | JobState::Delayed | JobState::Running | JobState::Waiting
        ) {
            return Err(DriverError::InvalidArgument(format!(
                "cannot list {} jobs: a listing shows ready, delayed, running or waiting jobs",
                kind.as_str()
            )));
        }
        let take = page.limit.min(MAX_LIST_PAGE);
        let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        // Due jobs are ready, as a claim would find them (no claim happens).
        state.promote_due(queue, now);
        let state = &*state;
        let Some(q) = state.queues.get(queue) else {
            return Ok(Vec::new());
        };
        Ok(state
            .list_entries(q, kind, skip, take)
            .into_iter()
            .map(|(id, due_at_ms, lease_until_ms)| {
                let job = state.jobs.get(&id);
                JobSummary {
                    state: kind,
                    attempts: job.map_or(0, |j| j.attempts),
                    due_at_ms,
                    lease_until_ms,
                    envelope: job.map(|j| j.payload.clone()).unwrap_or_default(),
                    id,
                }
            })
            .collect())
    }

    async fn job_envelope(
        &self,
        queue: &QueueName,
        id: &JobId,
    ) -> Result<Option<Vec<u8>>, DriverError> {
        Ok(self
            .state()
            .jobs
            .get(id)
            .filter(|j| j.queue == *queue)
            .map(|j| j.payload.clone()))
    }
}
