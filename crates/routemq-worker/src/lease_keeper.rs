//! The lease keeper: extends a running job's lease every third of its length so the
//! lease never has to guess the job's run time.

use std::sync::Mutex;
use std::time::Duration;

use routemq_core::{Driver, Lease};

use crate::backend_retry::{until_lease_ends, GaveUp};

/// Extends `lease` to `now + lease_for` every `every` until ownership ends, and
/// returns why it ended. Updates the shared deadline the job's
/// [`JobContext`](routemq_core::JobContext) reads. Transient backend errors are
/// retried until the lease's deadline passes.
pub(crate) async fn keep(
    driver: &dyn Driver,
    lease: &Mutex<Lease>,
    lease_for: Duration,
    every: Duration,
) -> GaveUp {
    loop {
        tokio::time::sleep(every).await;
        let current = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let extended =
            until_lease_ends("extend_lease", &current.job_id, current.expires_at, || {
                driver.extend_lease(&current, lease_for)
            })
            .await;
        match extended {
            Ok(deadline) => {
                let mut l = lease.lock().unwrap_or_else(|p| p.into_inner());
                if l.expires_at < deadline {
                    l.expires_at = deadline;
                }
            }
            Err(gave_up) => return gave_up,
        }
    }
}
