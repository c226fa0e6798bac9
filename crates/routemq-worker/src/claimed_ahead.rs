//! A claimed job waiting for a running slot: with
//! [`WorkerBuilder::prefetch`](crate::WorkerBuilder::prefetch) the worker holds
//! more jobs than it runs at once, and each of them takes one of the
//! `concurrency` running slots before it starts. While it waits its lease is
//! extended and cancel requests are watched for (a cancelled job is settled
//! as cancelled, never started); when shutdown is asked first it goes back to
//! its queue unstarted. Without prefetch a slot is always free when a job
//! arrives, and nothing waits.
//!
//! Jobs start in claim order because each takes its turn ([`SlotTurn::take`])
//! in the run loop, one after the other as the claim's reply lists them, before
//! its task is spawned: the tasks themselves start in whatever order the
//! runtime polls them (tokio runs the last spawned first), so a turn taken in
//! the task would not keep the order.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use routemq_core::{AttemptSignals, Reservation};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::backend_retry::GaveUp;
use crate::execute::JobRunner;
use crate::lease_keeper;
use crate::telemetry::unstarted_job;

/// A job's turn at one of the running slots, taken in claim order.
pub(crate) enum SlotTurn {
    /// A slot was free.
    Now(OwnedSemaphorePermit),
    /// Its place in the semaphore's queue of waiters (fair: first queued,
    /// first served); awaiting it gives the permit.
    Queued(Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>),
}

impl SlotTurn {
    /// Takes the next turn at `running`: a free permit, or else a place in its
    /// queue, enqueued here by polling the acquire once (tokio keeps a queued
    /// waiter's place and takes the waker of the poll that finally waits).
    pub(crate) fn take(running: &Arc<Semaphore>) -> SlotTurn {
        if let Ok(permit) = running.clone().try_acquire_owned() {
            return SlotTurn::Now(permit);
        }
        let mut acquire = Box::pin(running.clone().acquire_owned());
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        match acquire.as_mut().poll(&mut cx) {
            // A slot freed since the `try_acquire_owned` above.
            Poll::Ready(Ok(permit)) => SlotTurn::Now(permit),
            // Closed: a finished future is not polled again, so its error is
            // kept in a ready one.
            Poll::Ready(Err(closed)) => SlotTurn::Queued(Box::pin(std::future::ready(Err(closed)))),
            Poll::Pending => SlotTurn::Queued(acquire),
        }
    }
}

/// How a wait for a running slot ended.
enum Waited {
    Slot(OwnedSemaphorePermit),
    Stopped,
    Cancelled,
    Lost(GaveUp),
}

impl JobRunner {
    /// Waits for `reservation`'s `turn` at a running slot while the lease
    /// keeper extends its lease.
    /// Returns the reservation, its lease as last extended, with the permit;
    /// `None` when the job will not run here: shutdown was asked first (the job
    /// is given back unstarted, its attempt not counted), it was cancelled
    /// (settled as cancelled) or its lease was lost.
    pub(crate) async fn wait_for_slot(
        &self,
        mut reservation: Reservation,
        turn: SlotTurn,
    ) -> Option<(Reservation, OwnedSemaphorePermit)> {
        let acquire = match turn {
            SlotTurn::Now(permit) if !self.stop_starting.is_cancelled() => {
                return Some((reservation, permit));
            }
            SlotTurn::Now(permit) => Box::pin(std::future::ready(Ok(permit))),
            SlotTurn::Queued(acquire) => acquire,
        };
        let lease = Arc::new(Mutex::new(reservation.lease.clone()));
        let signals = Arc::new(AttemptSignals::new());
        let watched = self.watch.enter_waiting(lease.clone(), signals.clone());
        let waited = tokio::select! {
            biased;
            _ = self.stop_starting.cancelled() => Waited::Stopped,
            _ = signals.cancelled() => Waited::Cancelled,
            permit = acquire => match permit {
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
