//! Dispatching chains and batches: [`Queue::chain`] and [`Queue::batch`] build
//! a [`ChainPlan`] / [`BatchPlan`] from typed jobs of any types (each encoded
//! like a dispatch, with its type's options) and hand it to the driver's
//! [`Workflows`](crate::Workflows) in one atomic step.
//!
//! Every job of a chain or batch, callbacks included, must be on one queue
//! (the first job's), so a Redis Cluster keeps the whole workflow in one slot,
//! and may not be unique or grouped; a job that breaks this is refused at
//! dispatch with [`DriverError::InvalidArgument`] naming it.

use crate::{
    BatchId, BatchInfo, BatchPlan, ChainPlan, DriverError, Job, JobId, JobOptions, PendingJob,
    Queue, QueueName,
};

/// One job of a workflow, encoded; or why it could not be.
type Encoded = Result<(PendingJob, &'static str), DriverError>;

fn encode<J: Job>(queue: &Queue, job: &J, options: &JobOptions) -> Encoded {
    let merged = J::options().merged(options);
    if merged.unique.is_some() {
        return Err(DriverError::InvalidArgument(format!(
            "job {} cannot be unique inside a chain or batch",
            J::NAME
        )));
    }
    if merged.group.is_some() {
        return Err(DriverError::InvalidArgument(format!(
            "job {} cannot be grouped inside a chain or batch",
            J::NAME
        )));
    }
    Ok((queue.pending(job, options, None)?, J::NAME))
}

/// The queue of the first job; every other must be on it.
fn one_queue(jobs: &[&(PendingJob, &'static str)]) -> Result<QueueName, DriverError> {
    let Some((first, _)) = jobs.first() else {
        return Err(DriverError::InvalidArgument(
            "a chain needs at least one job".into(),
        ));
    };
    for (job, name) in jobs {
        if job.queue != first.queue {
            return Err(DriverError::InvalidArgument(format!(
                "job {name} is on queue {}, but this workflow's jobs are on {}: every job of a chain or batch, callbacks included, must be on one queue",
                job.queue, first.queue
            )));
        }
    }
    Ok(first.queue.clone())
}

/// A chain being built: [`Queue::chain`].
#[must_use = "a chain does nothing until dispatched"]
pub struct ChainBuilder<'q> {
    queue: &'q Queue,
    links: Vec<Encoded>,
    catch: Option<Encoded>,
}

impl<'q> ChainBuilder<'q> {
    /// Appends `job` with its type's options.
    pub fn then<J: Job>(self, job: J) -> Self {
        self.then_with(job, &JobOptions::new())
    }

    /// Appends `job` with `options` over its type's.
    pub fn then_with<J: Job>(mut self, job: J, options: &JobOptions) -> Self {
        self.links.push(encode(self.queue, &job, options));
        self
    }

    /// Runs `job` if a link fails for good (the later links then never run).
    pub fn catch<J: Job>(mut self, job: J) -> Self {
        self.catch = Some(encode(self.queue, &job, &JobOptions::new()));
        self
    }

    /// Stores the chain; returns its links' ids in order. Only the first is
    /// claimable now; each next one becomes claimable when the one before
    /// succeeds, in the same atomic step as its acknowledgement.
    pub async fn dispatch(self) -> Result<Vec<JobId>, DriverError> {
        let links = self.links.into_iter().collect::<Result<Vec<_>, _>>()?;
        let catch = self.catch.transpose()?;
        let queue = one_queue(&links.iter().chain(catch.as_ref()).collect::<Vec<_>>())?;
        self.queue
            .driver()
            .push_chain(ChainPlan {
                queue,
                links: links.into_iter().map(|(j, _)| j).collect(),
                catch: catch.map(|(j, _)| j),
            })
            .await
    }
}

/// A batch being built: [`Queue::batch`].
#[must_use = "a batch does nothing until dispatched"]
pub struct BatchBuilder<'q> {
    queue: &'q Queue,
    name: String,
    jobs: Vec<Encoded>,
    then: Option<Encoded>,
    catch: Option<Encoded>,
    finally: Option<Encoded>,
    allow_failures: bool,
}

impl<'q> BatchBuilder<'q> {
    /// Adds `job` with its type's options.
    pub fn job<J: Job>(self, job: J) -> Self {
        self.job_with(job, &JobOptions::new())
    }

    /// Adds `job` with `options` over its type's.
    pub fn job_with<J: Job>(mut self, job: J, options: &JobOptions) -> Self {
        self.jobs.push(encode(self.queue, &job, options));
        self
    }

    /// Runs `job` once every job of the batch succeeded.
    pub fn then<J: Job>(mut self, job: J) -> Self {
        self.then = Some(encode(self.queue, &job, &JobOptions::new()));
        self
    }

    /// Runs `job` at the batch's first failure.
    pub fn catch<J: Job>(mut self, job: J) -> Self {
        self.catch = Some(encode(self.queue, &job, &JobOptions::new()));
        self
    }

    /// Runs `job` once no job of the batch is pending, whatever the outcome.
    pub fn finally<J: Job>(mut self, job: J) -> Self {
        self.finally = Some(encode(self.queue, &job, &JobOptions::new()));
        self
    }

    /// Lets the batch go on after a failure (by default the first failure
    /// cancels it: its jobs not yet started are not run).
    pub fn allow_failures(mut self) -> Self {
        self.allow_failures = true;
        self
    }

    /// Stores the batch, its jobs and callbacks in one atomic step.
    pub async fn dispatch(self) -> Result<BatchInfo, DriverError> {
        let jobs = self.jobs.into_iter().collect::<Result<Vec<_>, _>>()?;
        let then = self.then.transpose()?;
        let catch = self.catch.transpose()?;
        let finally = self.finally.transpose()?;
        let all: Vec<_> = jobs
            .iter()
            .chain(then.as_ref())
            .chain(catch.as_ref())
            .chain(finally.as_ref())
            .collect();
        let queue = match one_queue(&all) {
            Ok(q) => q,
            Err(_) if all.is_empty() => JobOptions::new().resolved_queue()?,
            Err(e) => return Err(e),
        };
        self.queue
            .driver()
            .push_batch(BatchPlan {
                id: BatchId::generate(),
                queue,
                name: self.name,
                jobs: jobs.into_iter().map(|(j, _)| j).collect(),
                then: then.map(|(j, _)| j),
                catch: catch.map(|(j, _)| j),
                finally: finally.map(|(j, _)| j),
                allow_failures: self.allow_failures,
            })
            .await
    }
}

impl Queue {
    /// Starts a chain: jobs (of any types) run one after another, each only
    /// after the one before succeeded.
    ///
    /// ```no_run
    /// # use routemq_core::{Job, JobContext, JobError, MemoryDriver, Queue};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize)] struct Fetch; #[derive(Serialize, Deserialize)] struct Render;
    /// # #[derive(Serialize, Deserialize)] struct Alert;
    /// # impl Job for Fetch { const NAME: &'static str = "fetch"; async fn handle(&self, _: &JobContext) -> Result<(), JobError> { Ok(()) } }
    /// # impl Job for Render { const NAME: &'static str = "render"; async fn handle(&self, _: &JobContext) -> Result<(), JobError> { Ok(()) } }
    /// # impl Job for Alert { const NAME: &'static str = "alert"; async fn handle(&self, _: &JobContext) -> Result<(), JobError> { Ok(()) } }
    /// # async fn demo(queue: Queue) -> Result<(), routemq_core::DriverError> {
    /// let ids = queue.chain().then(Fetch).then(Render).catch(Alert).dispatch().await?;
    /// # Ok(()) }
    /// ```
    pub fn chain(&self) -> ChainBuilder<'_> {
        ChainBuilder {
            queue: self,
            links: Vec::new(),
            catch: None,
        }
    }

    /// Starts a batch named `name`: jobs with counters and `then` / `catch` /
    /// `finally` callbacks, each released exactly once.
    ///
    /// ```no_run
    /// # use routemq_core::{Job, JobContext, JobError, Queue};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize)] struct Import { row: u32 }
    /// # #[derive(Serialize, Deserialize)] struct Notify;
    /// # impl Job for Import { const NAME: &'static str = "import"; async fn handle(&self, _: &JobContext) -> Result<(), JobError> { Ok(()) } }
    /// # impl Job for Notify { const NAME: &'static str = "notify"; async fn handle(&self, _: &JobContext) -> Result<(), JobError> { Ok(()) } }
    /// # async fn demo(queue: Queue) -> Result<(), routemq_core::DriverError> {
    /// let mut batch = queue.batch("import");
    /// for row in 0..100 {
    ///     batch = batch.job(Import { row });
    /// }
    /// let info = batch.then(Notify).allow_failures().dispatch().await?;
    /// println!("batch {} has {} jobs", info.id, info.total);
    /// # Ok(()) }
    /// ```
    pub fn batch(&self, name: impl Into<String>) -> BatchBuilder<'_> {
        BatchBuilder {
            queue: self,
            name: name.into(),
            jobs: Vec::new(),
            then: None,
            catch: None,
            finally: None,
            allow_failures: false,
        }
    }

    /// Adds `jobs` (built with [`Queue::pending`]) to a running batch; they
    /// must be on the batch's queue and not grouped. A finished, cancelled or
    /// unknown batch refuses them.
    pub async fn add_to_batch(
        &self,
        id: &BatchId,
        jobs: Vec<PendingJob>,
    ) -> Result<BatchInfo, DriverError> {
        self.driver().add_to_batch(id, jobs).await
    }

    /// A batch's counters and state.
    pub async fn batch_info(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError> {
        self.driver().batch(id).await
    }

    /// Cancels a batch: its jobs not yet started are not run.
    pub async fn cancel_batch(&self, id: &BatchId) -> Result<Option<BatchInfo>, DriverError> {
        self.driver().cancel_batch(id).await
    }
}
