//! The idle wait: when a claim found nothing, one
//! [`wait_and_claim`](routemq_core::JobLifecycle::wait_and_claim) over the free
//! slots, which the driver may send together with its wait so that a job pushed
//! to an idle worker is claimed without another round trip.

use std::future::Future;
use std::time::Duration;

use futures::future::FusedFuture;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{ClaimDone, RunLoop, Shutdown};
use crate::stats::StopReason;

/// The shortest idle wait asked of the driver.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// The pause before an idle wait that follows one that returned empty within
/// this long, so a driver whose wait returns at once (allowed: "may return
/// early") cannot make the worker spin: at most 200 empty claims a second.
const MIN_IDLE_GAP: Duration = Duration::from_millis(5);

impl RunLoop {
    /// Waits for work and claims it, over every free slot (at most `want`):
    /// until a job may be ready, `sleep` passes, the next reclaim is due or the
    /// `max_time` deadline; with `stop_when_empty` also until a running job is
    /// settled. Shutdown and a settled job end the wait through its stop token,
    /// never by dropping it, so a claim the driver sent with its wait is never
    /// lost. Returns the claim's reply with its permits (to be handled like any
    /// claim's), and `Some` reason when the worker must stop.
    pub(super) async fn idle<F: Future<Output = ()>>(
        &mut self,
        mut shutdown: Shutdown<'_, F>,
        want: usize,
    ) -> (Option<ClaimDone>, Option<StopReason>) {
        if want == 0 {
            // The job budget is spent: nothing to claim, the loop stops.
            return (None, None);
        }
        if self.empty_after_wake {
            tokio::select! {
                biased;
                _ = &mut shutdown => return (None, Some(StopReason::Shutdown)),
                _ = tokio::time::sleep(MIN_IDLE_GAP) => {}
            }
        }
        // The claim that found nothing gave its permits back, so one is free
        // unless a job was started meanwhile; then wait for one.
        let mut permits = Vec::new();
        while permits.len() < want {
            match self.slots.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        if permits.is_empty() {
            tokio::select! {
                biased;
                _ = &mut shutdown => return (None, Some(StopReason::Shutdown)),
                p = self.slots.clone().acquire_owned() => match p {
                    Ok(p) => permits.push(p),
                    Err(_) => return (None, Some(StopReason::Shutdown)),
                },
            }
        }
        let now = Instant::now();
        let mut wait = self
            .config
            .sleep
            .min(self.next_reclaim.saturating_duration_since(now));
        if let Some(deadline) = self.deadline {
            wait = wait.min(deadline.saturating_duration_since(now));
        }
        let wait = wait.max(MIN_WAIT);
        let stop = CancellationToken::new();
        let finished = self.finished.clone();
        let driver = self.driver.clone();
        let call = driver.wait_and_claim(
            &self.config.queues,
            permits.len(),
            self.config.lease,
            wait,
            &stop,
        );
        tokio::pin!(call);
        let began = Instant::now();
        let mut reason = None;
        let res = loop {
            tokio::select! {
                biased;
                res = &mut call => break res,
                _ = &mut shutdown, if !shutdown.is_terminated() && reason.is_none() => {
                    reason = Some(StopReason::Shutdown);
                    stop.cancel();
                }
                _ = finished.notified(), if self.config.stop_when_empty && !stop.is_cancelled() => {
                    stop.cancel();
                }
            }
        };
        self.empty_after_wake =
            res.as_ref().is_ok_and(|got| got.is_empty()) && began.elapsed() < MIN_IDLE_GAP;
        (Some((permits, res)), reason)
    }
}
