//! What a running attempt shares with the worker that runs it: the progress the
//! handler reports, the value it returns, and the cancel signal the worker
//! raises. The handler reaches it through [`JobContext`](crate::JobContext); the
//! worker writes progress to the backend (coalesced) and raises the signal when
//! the backend says the job was cancelled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::{Codec, CodecError, Progress};

/// The shared state of one attempt. Cheap to update: a report only replaces the
/// latest value under a short lock, and the worker picks it up on its next pass.
#[derive(Debug, Default)]
pub struct AttemptSignals {
    progress: Mutex<Option<Progress>>,
    changed: AtomicBool,
    result: Mutex<Option<Vec<u8>>>,
    cancel: CancellationToken,
}

impl AttemptSignals {
    /// Fresh signals: no progress, no result, not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the latest progress (the handler's report).
    pub fn report(&self, progress: Progress) {
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(progress);
        self.changed.store(true, Ordering::Release);
    }

    /// The latest progress, if any.
    pub fn progress(&self) -> Option<Progress> {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// True once per change of the progress: the worker's cue to write it.
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::AcqRel)
    }

    /// Marks the progress as not yet written (a write that failed is retried).
    pub fn mark_changed(&self) {
        self.changed.store(true, Ordering::Release);
    }

    /// Encodes and keeps `value` as the attempt's result (JSON).
    pub fn set_result<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), CodecError> {
        let bytes = Codec::Json.encode("job result", value)?;
        *self.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(bytes);
        Ok(())
    }

    /// Takes the kept result (JSON bytes), if one was set.
    pub fn take_result(&self) -> Option<Vec<u8>> {
        self.result.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Raises the cancel signal (the worker does, on a cancel request).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// True once the cancel signal is raised.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the cancel signal is raised (at once if it already is).
    /// Dropping it is always safe.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }
}
