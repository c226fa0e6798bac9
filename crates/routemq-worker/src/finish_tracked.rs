//! The ends of an attempt that leave a record behind: a success whose job asks
//! for [`keep_result`](routemq_core::JobOptions::keep_result) (acknowledged with
//! its result, not through the batched acker), and a job stopped on a cancel
//! request (recorded as cancelled, neither retried nor failed).

use std::time::Duration;

use routemq_core::Lease;

use crate::backend_retry::until_lease_ends;
use crate::execute::JobRunner;
use crate::stats::Counter;
use crate::telemetry::{self, Outcome};

impl JobRunner {
    /// Acknowledges a succeeded job and keeps its record and `result` for
    /// `keep_for`; backend errors are retried until the lease ends.
    pub(crate) async fn ack_and_keep(
        &self,
        lease: &Lease,
        result: Option<Vec<u8>>,
        keep_for: Duration,
    ) {
        let kept = until_lease_ends("ack_and_keep", &lease.job_id, lease.expires_at, || {
            self.driver.ack_and_keep(lease, result.as_deref(), keep_for)
        })
        .await;
        if let Err(gave_up) = kept {
            // The job ran; another worker may run it again once the lease ends.
            tracing::warn!(error = %gave_up, "could not acknowledge the job and keep its result");
        }
    }

    /// Ends a job stopped on a cancel request: removed and recorded as cancelled.
    pub(crate) async fn settle_cancelled(&self, lease: &Lease, name: &str) {
        let queue = lease.queue.as_str();
        let done = until_lease_ends("ack_cancelled", &lease.job_id, lease.expires_at, || {
            self.driver.ack_cancelled(lease)
        })
        .await;
        match done {
            Ok(()) => {
                tracing::info!("the job was cancelled and stopped");
                self.stats.count(Counter::Cancelled);
                telemetry::record_outcome(queue, name, Outcome::Cancelled);
            }
            Err(gave_up) => {
                tracing::warn!(error = %gave_up, "could not record the cancelled job");
                self.abandoned(queue, name);
            }
        }
    }
}
