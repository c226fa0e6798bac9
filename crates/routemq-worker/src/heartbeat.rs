//! The heartbeat task: writes this worker's [`WorkerInfo`] every few seconds so
//! `routemq workers` lists it, and removes it on a clean exit.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use routemq_core::{unix_ms, Driver, WorkerInfo};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backend_retry::Incident;
use crate::stats::WorkerStats;

/// A heartbeat lives this many intervals unless renewed.
const TTL_INTERVALS: u32 = 3;
/// Bound on the final `remove_worker` call.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the heartbeat; cancel `stop` to remove the worker and end the task.
pub(crate) fn spawn(
    driver: Arc<dyn Driver>,
    base: WorkerInfo,
    stats: Arc<WorkerStats>,
    every: Duration,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut incident = Incident::new("heartbeat");
        let ttl = every.saturating_mul(TTL_INTERVALS);
        loop {
            let s = stats.snapshot();
            let info = WorkerInfo {
                running: u32::try_from(s.running).unwrap_or(u32::MAX),
                processed: s.processed,
                failed: s.failed,
                last_seen_ms: unix_ms(SystemTime::now()),
                ..base.clone()
            };
            let pause = tokio::select! {
                _ = stop.cancelled() => break,
                res = driver.heartbeat(&info, ttl) => match res {
                    Ok(()) => {
                        incident.recovered();
                        every
                    }
                    Err(e) => incident.failed(&e).min(every),
                },
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        match tokio::time::timeout(REMOVE_TIMEOUT, driver.remove_worker(&base.id)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not remove the worker's heartbeat; it expires by itself")
            }
            Err(_) => {
                tracing::warn!("removing the worker's heartbeat timed out; it expires by itself")
            }
        }
    })
}
