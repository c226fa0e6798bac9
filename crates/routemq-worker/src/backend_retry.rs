//! Retrying backend calls: capped exponential backoff (50 ms doubling to 5 s), one
//! warning when an incident starts and one info line when it ends.

use std::future::Future;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use routemq_core::{DriverError, JobId};

/// First pause after a failed backend call.
pub(crate) const FIRST_DELAY: Duration = Duration::from_millis(50);
/// Longest pause between attempts.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(5);

/// The state of one kind of backend call (claim, ack, heartbeat, …): healthy, or
/// failing since some instant. Logs once per incident, not once per failure.
#[derive(Debug)]
pub(crate) struct Incident {
    what: &'static str,
    since: Option<Instant>,
    failures: u32,
}

impl Incident {
    pub(crate) fn new(what: &'static str) -> Self {
        Incident {
            what,
            since: None,
            failures: 0,
        }
    }

    /// Records a failure; returns how long to wait before trying again.
    pub(crate) fn failed(&mut self, error: &DriverError) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if self.since.is_none() {
            self.since = Some(Instant::now());
            tracing::warn!(call = self.what, error = %error, "backend call failed; retrying with backoff until it recovers");
        } else {
            tracing::debug!(call = self.what, error = %error, failures = self.failures, "backend call still failing");
        }
        Self::delay_for(self.failures)
    }

    /// Records a success; logs the recovery if an incident was open.
    pub(crate) fn recovered(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(
                call = self.what,
                failures = self.failures,
                outage = %humantime::format_duration(round_ms(since.elapsed())),
                "backend call recovered"
            );
        }
        self.failures = 0;
    }

    /// The pause after the `n`-th consecutive failure (1-based).
    pub(crate) fn delay_for(n: u32) -> Duration {
        let shift = n.saturating_sub(1).min(16);
        FIRST_DELAY.saturating_mul(1 << shift).min(MAX_DELAY)
    }
}

/// Rounds to whole milliseconds for readable durations in logs and messages.
pub(crate) fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why a state change on a reservation was given up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GaveUp {
    /// The backend says another worker owns the job now.
    #[error(transparent)]
    LeaseLost(DriverError),
    /// The backend kept failing until the lease ran out; the backend will reclaim
    /// the job and run it again.
    #[error("backend kept failing until the lease expired: {0}")]
    Expired(DriverError),
}

/// Runs `op` until it succeeds, the backend reports the lease lost, or `deadline`
/// (the lease's) passes. Each call is bounded by the time left, so a hung backend
/// cannot hold the job past its lease either.
pub(crate) async fn until_lease_ends<F, Fut, T>(
    what: &'static str,
    job_id: &JobId,
    deadline: SystemTime,
    mut op: F,
) -> Result<T, GaveUp>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DriverError>>,
{
    let mut incident = Incident::new(what);
    loop {
        let left = deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .max(FIRST_DELAY);
        let error = match tokio::time::timeout(left, op()).await {
            Ok(Ok(v)) => {
                incident.recovered();
                return Ok(v);
            }
            Ok(Err(e @ DriverError::LeaseLost { .. })) => return Err(GaveUp::LeaseLost(e)),
            Ok(Err(e)) => e,
            Err(_) => DriverError::unavailable(
                "worker",
                format!("{what} did not answer within the lease ({left:?})"),
            ),
        };
        let delay = incident.failed(&error);
        if SystemTime::now() + delay >= deadline {
            tracing::error!(call = what, job_id = %job_id, error = %error,
                "giving up: the lease expires before the backend recovers; the job will be reclaimed and run again");
            return Err(GaveUp::Expired(error));
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_cap() {
        assert_eq!(Incident::delay_for(1), Duration::from_millis(50));
        assert_eq!(Incident::delay_for(2), Duration::from_millis(100));
        assert_eq!(Incident::delay_for(7), Duration::from_millis(3200));
        assert_eq!(Incident::delay_for(8), MAX_DELAY);
        assert_eq!(Incident::delay_for(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn incident_opens_once_and_closes() {
        let mut i = Incident::new("claim");
        let e = DriverError::unavailable("memory", "down");
        assert!(i.since.is_none());
        assert_eq!(i.failed(&e), FIRST_DELAY);
        assert_eq!(i.failed(&e), FIRST_DELAY * 2);
        assert!(i.since.is_some());
        i.recovered();
        assert!(i.since.is_none());
        assert_eq!(i.failed(&e), FIRST_DELAY);
    }
}
