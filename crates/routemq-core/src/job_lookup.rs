//! Finding one job by id: on the queue given, or on every queue the backend
//! knows, then in the failed store (which may be another backend's). Used by
//! [`Queue::status`](crate::Queue::status), `routemq job show` and
//! `routemq cancel`.

use crate::{
    unix_ms, CancelOutcome, Driver, DriverError, FailedStore, JobId, JobState, JobStatus, QueueName,
};

/// The queues to look on: `queue` alone, or every known queue.
async fn queues_to_search(
    driver: &dyn Driver,
    queue: Option<&QueueName>,
) -> Result<Vec<QueueName>, DriverError> {
    match queue {
        Some(q) => Ok(vec![q.clone()]),
        None => driver.queues().await,
    }
}

/// Where job `id` is: its status on `queue` (or the first known queue that
/// knows it), else its record in `failed` as a failed job; `None` when neither
/// knows it.
pub async fn find_job(
    driver: &dyn Driver,
    failed: &dyn FailedStore,
    id: &JobId,
    queue: Option<&QueueName>,
) -> Result<Option<JobStatus>, DriverError> {
    for q in queues_to_search(driver, queue).await? {
        if let Some(status) = driver.job_status(&q, id).await? {
            return Ok(Some(status));
        }
    }
    let Some(job) = failed.failed_show(id).await? else {
        return Ok(None);
    };
    let failed_queue = QueueName::new(&job.queue)?;
    if queue.is_some_and(|q| *q != failed_queue) {
        return Ok(None);
    }
    let mut status = JobStatus::new(id.clone(), failed_queue, JobState::Failed, 0);
    status.last_error = Some(job.exception);
    status.finished_at_ms = Some(unix_ms(job.failed_at));
    Ok(Some(status))
}

/// Cancels job `id` on `queue` (or on the first known queue that knows it);
/// a job found only in `failed` is already finished.
pub async fn cancel_job(
    driver: &dyn Driver,
    failed: &dyn FailedStore,
    id: &JobId,
    queue: Option<&QueueName>,
) -> Result<(QueueName, CancelOutcome), DriverError> {
    let queues = queues_to_search(driver, queue).await?;
    for q in &queues {
        let outcome = driver.cancel(q, id).await?;
        if outcome != CancelOutcome::NotFound {
            return Ok((q.clone(), outcome));
        }
    }
    if let Some(job) = failed.failed_show(id).await? {
        let q = QueueName::new(&job.queue)?;
        if queue.is_none_or(|given| *given == q) {
            return Ok((q, CancelOutcome::AlreadyFinished(JobState::Failed)));
        }
    }
    let q = match queue {
        Some(q) => q.clone(),
        None => QueueName::new(crate::JobOptions::DEFAULT_QUEUE)?,
    };
    Ok((q, CancelOutcome::NotFound))
}
