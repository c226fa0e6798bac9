//! Shutdown on SIGTERM or SIGINT (Ctrl-C elsewhere than Unix).

use std::future::Future;

use crate::WorkerError;

/// A future that resolves on the first SIGTERM or SIGINT, for
/// [`Worker::run_until`](crate::Worker::run_until). The handlers are installed
/// when this is called, so a signal arriving before the future is polled is not
/// missed.
pub fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, WorkerError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(WorkerError::Signal)?;
        let mut int = signal(SignalKind::interrupt()).map_err(WorkerError::Signal)?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = int.recv() => tracing::info!("SIGINT: shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C: shutting down");
            }
        })
    }
}
