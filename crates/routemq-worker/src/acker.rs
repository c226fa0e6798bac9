//! The acker: one task that acknowledges finished jobs in batches.
//!
//! A job that succeeded hands its lease to the acker and frees its slot at once.
//! The acker sends whatever has accumulated in one
//! [`ack_batch`](routemq_core::JobLifecycle::ack_batch) call: when idle it
//! acknowledges a single job immediately (no timer, so no added latency);
//! under load the acks that arrive while a batch is in flight form the next batch.

use std::sync::Arc;
use std::time::SystemTime;

use routemq_core::{Driver, Lease};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::backend_retry::Incident;

/// Most leases sent in one `ack_batch` call.
pub(crate) const MAX_BATCH: usize = 512;

/// Where finished jobs' leases go. Dropping every sender lets the acker finish the
/// acks it holds and stop.
#[derive(Debug, Clone)]
pub(crate) struct AckSender(mpsc::UnboundedSender<Lease>);

impl AckSender {
    /// Queues `lease` for acknowledgement.
    pub(crate) fn send(&self, lease: Lease) {
        if let Err(mpsc::error::SendError(lease)) = self.0.send(lease) {
            // Only possible after the acker stopped, which the run loop does last.
            tracing::error!(job_id = %lease.job_id, "acker already stopped; the job's lease will expire and it will run again");
        }
    }
}

/// Starts the acker.
pub(crate) fn spawn(driver: Arc<dyn Driver>) -> (AckSender, JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(driver, rx));
    (AckSender(tx), task)
}

async fn run(driver: Arc<dyn Driver>, mut rx: mpsc::UnboundedReceiver<Lease>) {
    let mut pending: Vec<Lease> = Vec::new();
    let mut incident = Incident::new("ack_batch");
    // The batch in hand is being sent again after a backend error.
    let mut retried = false;
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(lease) => pending.push(lease),
                None => return,
            }
        }
        while pending.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(lease) => pending.push(lease),
                Err(_) => break,
            }
        }
        match driver.ack_batch(&pending).await {
            Ok(outcome) => {
                incident.recovered();
                report_lost(&outcome.lost, retried);
                retried = false;
                pending.clear();
            }
            Err(error) => {
                retried = true;
                let delay = incident.failed(&error);
                let now = SystemTime::now();
                pending.retain(|lease| {
                    let alive = lease.expires_at > now;
                    if !alive {
                        tracing::error!(job_id = %lease.job_id, %error,
                            "giving up the ack: the lease expired while the backend failed; the job will be reclaimed and run again");
                    }
                    alive
                });
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Logs the leases an `ack_batch` reported lost: one line per batch, not per job.
/// After a backend error the earlier attempt may have gone through with its reply
/// lost, so "lost" there most likely means "already acknowledged".
fn report_lost(lost: &[routemq_core::JobId], after_error: bool) {
    if lost.is_empty() {
        return;
    }
    let first: Vec<&str> = lost.iter().take(5).map(|id| id.as_str()).collect();
    if after_error {
        tracing::info!(count = lost.len(), first = ?first,
            "acks sent again after a backend error found their jobs gone: the earlier attempt most likely went through");
    } else {
        tracing::warn!(count = lost.len(), first = ?first,
            "ack refused: the lease was lost before the ack arrived; these jobs may run again");
    }
}
