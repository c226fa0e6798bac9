//! A claimed job waiting for a running slot: with
//! [`WorkerBuilder::prefetch`](crate::WorkerBuilder::prefetch) the worker holds
//! more jobs than it runs at once, and each of them takes one of the
//! `concurrency` running slots before it starts. While it waits its lease is
//! extended and cancel requests are watched for (a cancelled job is settled
//! as cancelled, never started); when shutdown is asked first it goes back to
//! its queue unstarted. Without prefetch a slot is always free when a job
//! arrives, and nothing waits.

use std::sync::{Arc, Mutex};

use routemq_core::{AttemptSignals, Reservation};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::backend_retry::GaveUp;
use crate::execute::JobRunner;
use crate::lease_keeper;
use crate::telemetry::unstarted_job;

/// How a wait for a running slot ended.
enum Waited {
    Slot(OwnedSemaphorePermit),
    Stopped,
    Cancelled,
    Lost(GaveUp),
}

impl JobRunner {
    /// Takes one of `running`'s permits for `reservation`, waiting in claim
    /// order (the semaphore is fair) while the lease keeper extends its lease.
    /// Returns the reservation, its lease as last extended, with the permit;
    /// `None` when the job will not run here: shutdown was asked first (the job
    /// is given back unstarted, its attempt not counted), it was cancelled
    /// (settled as cancelled) or its lease was lost.
    pub(crate) async fn wait_for_slot(
        &self,
        mut reservation: Reservation,
        running: Arc<Semaphore>,
    ) -> Option<(Reservation, OwnedSemaphorePermit)> {
        if !self.stop_starting.is_cancelled() {
            if let Ok(permit) = running.clone().try_acquire_owned() {
                return Some((reservation, permit));
            }
        }
        let lease = Arc::new(Mutex::new(reservation.lease.clone()));
        let signals = Arc::new(AttemptSignals::new());
        let watched = self.watch.enter_waiting(lease.clone(), signals.clone());
        let waited = tokio::select! {
            biased;
            _ = self.stop_starting.cancelled() => Waited::Stopped,
            _ = signals.cancelled() => Waited::Cancelled,
            permit = running.acquire_owned() => match permit {
                Ok(permit) => Waited::Slot(permit),
                Err(_) => Waited::Stopped,
            },
            gave_up = lease_keeper::keep(&*self.driver, &lease, self.config.lease, self.config.extend_every()) => {
                Waited::Lost(gave_up)
            }
        };
        drop(watched);
        reservation.lease = lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Waited::Slot(permit) = waited {
            return Some((reservation, permit));
        }
        let (name, span) = unstarted_job(&reservation);
        let lease = &reservation.lease;
        async {
            match waited {
                Waited::Lost(gave_up) => {
                    tracing::warn!(error = %gave_up, "dropped a job claimed ahead: its lease is lost and another worker may own it now");
                    self.abandoned(lease.queue.as_str(), &name);
                }
                Waited::Cancelled => self.settle_cancelled(lease, &name).await,
                _ => self.release_unstarted(lease, &name).await,
            }
        }
        .instrument(span)
        .await;
        None
    }
}
