//! One attempt of a job: the handler runs in its own task under the timeout, so a
//! timeout drops its future (the job stops at its next `.await`), a panic is caught
//! as a failure with its message, and the supervisor can abort it.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use routemq_core::{JobContext, JobError};
use tokio::task::{JoinError, JoinHandle};
use tracing::{Instrument, Span};

use crate::backend_retry::round_ms;
use crate::registry::LoadedJob;

/// How an attempt's handler ended.
#[derive(Debug)]
pub(crate) enum AttemptEnd {
    /// `handle` returned `Ok`.
    Succeeded,
    /// `handle` returned `Err`, panicked or timed out.
    Failed {
        /// The error as the failed hook and the failed store see it.
        error: JobError,
        /// True when the timeout stopped it.
        timed_out: bool,
    },
}

type HandlerOutput = Result<Result<(), JobError>, tokio::time::error::Elapsed>;

/// Starts `job.handle(ctx)` in its own task, bounded by `timeout`.
pub(crate) fn spawn(
    job: Arc<dyn LoadedJob>,
    ctx: JobContext,
    timeout: Duration,
    span: Span,
) -> JoinHandle<HandlerOutput> {
    tokio::spawn(
        async move { tokio::time::timeout(timeout, job.handle(&ctx)).await }.instrument(span),
    )
}

/// Interprets the handler task's result.
pub(crate) fn classify(result: Result<HandlerOutput, JoinError>, timeout: Duration) -> AttemptEnd {
    match result {
        Ok(Ok(Ok(()))) => AttemptEnd::Succeeded,
        Ok(Ok(Err(error))) => AttemptEnd::Failed {
            error,
            timed_out: false,
        },
        Ok(Err(_elapsed)) => AttemptEnd::Failed {
            error: JobError::retry(timed_out_message(timeout)),
            timed_out: true,
        },
        Err(join) => AttemptEnd::Failed {
            error: JobError::retry(join_error_message(join)),
            timed_out: false,
        },
    }
}

/// "timed out after 2s".
pub(crate) fn timed_out_message(timeout: Duration) -> String {
    format!(
        "timed out after {}",
        humantime::format_duration(round_ms(timeout))
    )
}

/// "panicked: \<message\>" for a panic, or why the task was cancelled.
pub(crate) fn join_error_message(join: JoinError) -> String {
    if join.is_panic() {
        format!("panicked: {}", panic_message(join.into_panic().as_ref()))
    } else {
        "the attempt was cancelled before it finished".to_owned()
    }
}

/// The text of a panic payload (`panic!("…")` gives `&str` or `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_readable() {
        assert_eq!(
            timed_out_message(Duration::from_secs(2)),
            "timed out after 2s"
        );
        assert_eq!(
            timed_out_message(Duration::from_micros(300_400)),
            "timed out after 300ms"
        );
        let p: Box<dyn Any + Send> = Box::new("boom");
        assert_eq!(panic_message(p.as_ref()), "boom");
        let p: Box<dyn Any + Send> = Box::new(format!("x={}", 1));
        assert_eq!(panic_message(p.as_ref()), "x=1");
        let p: Box<dyn Any + Send> = Box::new(7u8);
        assert!(panic_message(p.as_ref()).contains("non-text"));
    }
}
