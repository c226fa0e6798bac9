//! The claims a busy worker keeps in flight: gathering slots for a claim,
//! the claim call holding their permits, and giving back what the claims in
//! flight got when the worker stops.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use routemq_core::{Driver, DriverError, Reservation};
use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::RunLoop;
use crate::builder::Config;
use crate::telemetry::unstarted_job;

/// While the queue is busy (the last claim was full), the longest the worker waits
/// for more slots to free before claiming, so that a busy worker claims in batches
/// of at least half the jobs it may hold (its concurrency plus its prefetch)
/// instead of paying one round trip per job.
const BATCH_WINDOW: Duration = Duration::from_millis(2);

/// Claims that may be in flight at once while the queue is busy.
pub(super) const MAX_CLAIMS_IN_FLIGHT: usize = 2;

/// A claim's reply, with the permits of the slots it asked jobs for.
pub(super) type ClaimDone = (
    Vec<OwnedSemaphorePermit>,
    Result<Vec<Reservation>, DriverError>,
);

/// A claim in flight.
pub(super) type ClaimCall = BoxFuture<'static, ClaimDone>;

/// Claims up to `permits.len()` jobs; the permits travel with the reply.
pub(super) fn claim_call(
    driver: Arc<dyn Driver>,
    config: Arc<Config>,
    permits: Vec<OwnedSemaphorePermit>,
) -> ClaimCall {
    Box::pin(async move {
        let res = driver
            .claim(&config.queues, permits.len(), config.lease)
            .await;
        (permits, res)
    })
}

impl RunLoop {
    /// The permits for one claim: `first`, every other free one up to `want`, and
    /// while the queue is busy, those that free within [`BATCH_WINDOW`] up to half
    /// the jobs it may hold, so a busy worker claims in batches. Gathering stops early
    /// when a claim in flight replies (returned too, to be handled at once).
    pub(super) async fn gather(
        &self,
        first: OwnedSemaphorePermit,
        want: usize,
        in_flight: &mut FuturesUnordered<ClaimCall>,
    ) -> (Vec<OwnedSemaphorePermit>, Option<ClaimDone>) {
        let mut permits = vec![first];
        while permits.len() < want {
            match self.slots.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        if self.queue_busy {
            let batch = want.min(self.config.held_at_most().div_ceil(2));
            let window = tokio::time::sleep(BATCH_WINDOW);
            tokio::pin!(window);
            while permits.len() < batch {
                tokio::select! {
                    biased;
                    done = in_flight.next(), if !in_flight.is_empty() => return (permits, done),
                    _ = &mut window => break,
                    p = self.slots.clone().acquire_owned() => match p {
                        Ok(p) => permits.push(p),
                        Err(_) => break,
                    },
                }
            }
        }
        (permits, None)
    }

    /// After the claim loop stopped: waits for the claims still in flight and gives
    /// the jobs they got back to their queues at once, unstarted, with the
    /// attempt their claim counted given back (they never ran), as jobs claimed
    /// ahead are at shutdown.
    pub(super) async fn give_back(
        &self,
        arrived: Option<ClaimDone>,
        mut in_flight: FuturesUnordered<ClaimCall>,
    ) {
        let mut pending: Vec<ClaimDone> = arrived.into_iter().collect();
        while let Some(done) = in_flight.next().await {
            pending.push(done);
        }
        for (permits, claimed) in pending {
            let reservations = claimed.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "stopping: the last claim failed; if it went through, its jobs run again when their leases expire");
                Vec::new()
            });
            for r in reservations {
                let (name, span) = unstarted_job(&r);
                self.runner
                    .release_unstarted(&r.lease, &name)
                    .instrument(span)
                    .await;
            }
            drop(permits);
        }
    }
}
