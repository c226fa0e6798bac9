//! [`Workflows`] for [`MemoryDriver`]: chain links and batch callbacks wait in
//! their queue's `waiting` set; `State::settled`, called by every settlement
//! under the same lock, applies a chain's or batch's effects.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{MemoryDriver, State, StoredJob};
use crate::{
    check_workflow_jobs, unix_ms, BatchId, BatchInfo, BatchPlan, ChainPlan, DriverError, JobId,
    JobState, PendingJob, Workflows, BATCH_KEPT_FOR, CANCELLED_KEPT_FOR,
};

/// How a job of a chain or batch settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
}

/// A job's place in a workflow.
#[derive(Debug, Clone)]
pub(super) enum Flow {
    /// A chain link: the next link and the chain's catch job.
    Chain {
        next: Option<JobId>,
        catch: Option<JobId>,
    },
    /// A job of a batch.
    Batch(BatchId),
}

/// A batch: its counters and its callbacks (not yet released).
#[derive(Debug)]
pub(super) struct BatchState {
    info: BatchInfo,
    then: Option<JobId>,
    catch: Option<JobId>,
    finally: Option<JobId>,
    /// Set once finished: when the record goes.
    expires_at_ms: Option<i64>,
}

impl BatchState {
    /// The batch's queue.
    pub(super) fn queue(&self) -> &crate::QueueName {
        &self.info.queue
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl State {
    /// Stores `job` waiting (never claimed until released).
    fn insert_waiting(&mut self, job: PendingJob, flow: Option<Flow>) {
        let id = job.id.clone();
        let queue = job.queue.clone();
        let stored_seq = self.next_seq();
        self.jobs.insert(
            id.clone(),
            StoredJob {
                queue: job.queue,
                max_tries: job.max_tries.max(1),
                payload: job.payload,
                attempts: 0,
                unique: None,
                group: job.group,
                run: None,
                cancel: false,
                flow,
                waiting: true,
                stored_seq,
            },
        );
        self.queues.entry(queue).or_default().waiting.insert(id);
    }

    /// Stores `job` like a push, with its place in a workflow.
    fn insert_flowing(&mut self, job: PendingJob, flow: Flow, now: i64) {
        let id = job.id.clone();
        self.insert(job, now);
        if let Some(j) = self.jobs.get_mut(&id) {
            j.flow = Some(flow);
        }
    }

    /// Makes waiting job `id` claimable now.
    fn release_waiting(&mut self, id: &JobId, now: i64) {
        let Some(job) = self.jobs.get_mut(id).filter(|j| j.waiting) else {
            return;
        };
        job.waiting = false;
        let queue = job.queue.clone();
        if let Some(q) = self.queues.get_mut(&queue) {
            q.waiting.remove(id);
        }
        self.make_ready(&queue, id.clone(), now);
    }

    /// Removes waiting job `id` (a callback never released).
    fn drop_waiting(&mut self, id: &JobId) {
        if self.jobs.get(id).is_some_and(|j| j.waiting) {
            let queue = self.jobs.get(id).map(|j| j.queue.clone());
            if let Some(q) = queue.and_then(|q| self.queues.get_mut(&q)) {
                q.waiting.remove(id);
            }
            self.remove_job(id);
        }
    }

    /// Applies the workflow effects of job `id` settling with `outcome`; called
    /// before the job is removed, under the same lock as its settlement.
    pub(super) fn settled(&mut self, id: &JobId, outcome: Outcome, now: i64) {
        let Some(flow) = self.jobs.get(id).and_then(|j| j.flow.clone()) else {
            return;
        };
        match (flow, outcome) {
            (
                Flow::Chain {
                    next: Some(next), ..
                },
                Outcome::Succeeded,
            ) => self.release_waiting(&next, now),
            // The chain is done: its catch job will never be needed.
            (
                Flow::Chain {
                    next: None,
                    catch: Some(catch),
                },
                Outcome::Succeeded,
            ) => self.drop_waiting(&catch),
            (
                Flow::Chain {
                    catch: Some(catch), ..
                },
                Outcome::Failed,
            ) => self.release_waiting(&catch, now),
            (Flow::Chain { .. }, _) => {}
            (Flow::Batch(batch), outcome) => self.batch_settled(&batch, id, outcome, now),
        }
    }

    fn batch_settled(&mut self, id: &BatchId, job: &JobId, outcome: Outcome, now: i64) {
        let Some(b) = self.batches.get_mut(id) else {
            return;
        };
        b.info.pending = b.info.pending.saturating_sub(1);
        let mut cancel_rest = false;
        let mut release = Vec::new();
        match outcome {
            Outcome::Succeeded => b.info.succeeded += 1,
            Outcome::Cancelled => b.info.cancelled += 1,
            Outcome::Failed => {
                b.info.failed += 1;
                if b.info.failed == 1 {
                    release.extend(b.catch.take());
                }
                if !b.info.allow_failures && !b.info.cancelled_batch {
                    b.info.cancelled_batch = true;
                    cancel_rest = true;
                }
            }
        }
        for job in release {
            self.release_waiting(&job, now);
        }
        if cancel_rest {
            self.cancel_not_started(id, Some(job), now);
        }
        self.finish_batch_if_done(id, now);
    }

    /// Removes the batch's jobs not yet started (but `settling`, the job whose
    /// settlement this is), counting them cancelled.
    fn cancel_not_started(&mut self, id: &BatchId, settling: Option<&JobId>, now: i64) {
        let not_started: Vec<JobId> = self
            .jobs
            .iter()
            .filter(|(jid, j)| {
                matches!(&j.flow, Some(Flow::Batch(b)) if b == id)
                    && Some(*jid) != settling
                    && !j.waiting
                    && !self
                        .queues
                        .get(&j.queue)
                        .is_some_and(|q| q.reserved.contains_key(*jid))
            })
            .map(|(jid, _)| jid.clone())
            .collect();
        for jid in not_started {
            let Some(job) = self.jobs.get(&jid) else {
                continue;
            };
            let (queue, group) = (job.queue.clone(), job.group.clone());
            if let Some(q) = self.queues.get_mut(&queue) {
                if let Some(key) = q.delayed.iter().find(|(_, j)| **j == jid).map(|(k, _)| *k) {
                    q.delayed.remove(&key);
                } else {
                    q.remove_ready(&jid, group.as_ref());
                }
            }
            // Counted through `settled` like any cancel.
            self.finish(&jid, JobState::Cancelled, None, CANCELLED_KEPT_FOR, now);
        }
    }

    /// Finishes a batch whose pending count reached 0: releases `then` (all
    /// succeeded) and `finally`, drops callbacks not released.
    fn finish_batch_if_done(&mut self, id: &BatchId, now: i64) {
        let Some(b) = self.batches.get_mut(id) else {
            return;
        };
        if b.info.pending > 0 || b.info.finished_at_ms.is_some() {
            return;
        }
        b.info.finished_at_ms = Some(now);
        b.expires_at_ms = Some(now.saturating_add(ms(BATCH_KEPT_FOR)));
        let all_good = b.info.failed == 0 && b.info.cancelled == 0;
        let then = b.then.take();
        let catch = b.catch.take();
        let finally = b.finally.take();
        match then {
            Some(t) if all_good => self.release_waiting(&t, now),
            Some(t) => self.drop_waiting(&t),
            None => {}
        }
        if let Some(c) = catch {
            self.drop_waiting(&c);
        }
        if let Some(f) = finally {
            self.release_waiting(&f, now);
        }
    }

    fn prune_batches(&mut self, now: i64) {
        self.batches
            .retain(|_, b| b.expires_at_ms.is_none_or(|at| at > now));
    }
}

#[async_trait]
impl Workflows for MemoryDriver {
    async fn push_chain(&self, chain: ChainPlan) -> Result<Vec<JobId>, DriverError> {
        chain.check(self.max_payload, super::NAME)?;
        let ids: Vec<JobId> = chain.links.iter().map(|j| j.id.clone()).collect();
        let catch_id = chain.catch.as_ref().map(|j| j.id.clone());
        let now = unix_ms(SystemTime::now());
        {
            let mut state = self.state();
            if let Some(c) = chain.catch {
                state.insert_waiting(c, None);
            }
            for (i, link) in chain.links.into_iter().enumerate() {
                let flow = Flow::Chain {
                    next: ids.get(i + 1).cloned(),
                    catch: catch_id.clone(),
                };
                if i == 0 {
                    state.insert_flowing(link, flow, now);
                } else {
                    state.insert_waiting(link, Some(flow));
                }
            }
        }
        self.inner.notify.notify_waiters();
        Ok(ids)
    }

    async fn push_batch(&self, batch: BatchPlan) -> Result<BatchInfo, DriverError> {
        batch.check(self.max_payload, super::NAME)?;
        let now = unix_ms(SystemTime::now());
        let info = {
            let mut state = self.state();
            state.prune_batches(now);
            let info = BatchInfo {
                id: batch.id.clone(),
                queue: batch.queue.clone(),
                name: batch.name,
                total: batch.jobs.len() as u64,
                pending: batch.jobs.len() as u64,
                succeeded: 0,
                failed: 0,
                cancelled: 0,
                allow_failures: batch.allow_failures,
                cancelled_batch: false,
                created_at_ms: now,
                finished_at_ms: None,
            };
            let ids = |j: &Option<PendingJob>| j.as_ref().map(|j| j.id.clone());
            state.batches.insert(
                batch.id.clone(),
                BatchState {
                    info,
                    then: ids(&batch.then),
                    catch: ids(&batch.catch),
                    finally: ids(&batch.finally),
                    expires_at_ms: None,
                },
            );
            for cb in [batch.then, batch.catch, batch.finally]
                .into_iter()
                .flatten()
            {
                state.insert_waiting(cb, None);
            }
            for job in batch.jobs {
                state.insert_flowing(job, Flow::Batch(batch.id.clone()), now);
            }
            state.finish_batch_if_done(&batch.id, now);
            state.batches[&batch.id].info.clone()
        };
        self.inner.notify.notify_waiters();
        Ok(info)
    }

    async fn add_to_batch(
        &self,
        id: &BatchId,
        jobs: Vec<PendingJob>,
    ) -> Result<BatchInfo, DriverError> {
        let now = unix_ms(SystemTime::now());
        let info = {
            let mut state = self.state();
            state.prune_batches(now);
            let Some(b) = state.batches.get_mut(id) else {
                return Err(DriverError::InvalidArgument(format!(
                    "batch {id} is unknown (never stored, or its record expired)"
                )));
            };
            check_workflow_jobs(
                &format!("batch {id}"),
                &b.info.queue,
                &jobs,
                self.max_payload,
                super::NAME,
            )?;
            if b.info.finished_at_ms.is_some() {
                return Err(DriverError::InvalidArgument(format!(
                    "batch {id} has finished: no job can be added"
                )));
            }
            if b.info.cancelled_batch {
                return Err(DriverError::InvalidArgument(format!(
                    "batch {id} was cancelled: no job can be added"
                )));
            }
            b.info.total += jobs.len() as u64;
            b.info.pending += jobs.len() as u64;
            let info = b.info.clone();
            for job in jobs {
                state.insert_flowing(job, Flow::Batch(id.clone()), now);
            }
            info
        };
        self.inner.notify.notify_waiters();
        Ok(info)
    }

    async fn batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        state.prune_batches(now);
        Ok(state.batches.get(id).map(|b| b.info.clone()))
    }

    async fn batches(&self) -> Result<Vec<BatchInfo>, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        state.prune_batches(now);
        let mut all: Vec<BatchInfo> = state.batches.values().map(|b| b.info.clone()).collect();
        all.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(all)
    }

    async fn cancel_batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError> {
        let now = unix_ms(SystemTime::now());
        let info = {
            let mut state = self.state();
            state.prune_batches(now);
            let Some(b) = state.batches.get_mut(id) else {
                return Ok(None);
            };
            if !b.info.cancelled_batch && b.info.finished_at_ms.is_none() {
                b.info.cancelled_batch = true;
                state.cancel_not_started(id, None, now);
                state.finish_batch_if_done(id, now);
            }
            state.batches.get(id).map(|b| b.info.clone())
        };
        self.inner.notify.notify_waiters();
        Ok(info)
    }
}
