//! The [`Worker`] handle: built by [`WorkerBuilder`], run once with
//! [`Worker::run`] or [`Worker::run_until`].

use std::sync::Arc;

use routemq_core::{Driver, QueueName};

use crate::builder::{Config, WorkerBuilder};
use crate::registry::Registry;
use crate::signal::shutdown_signal;
use crate::stats::{WorkerReport, WorkerStats};
use crate::WorkerError;

/// A configured worker. Consumed by running it.
///
/// Watch progress while it runs through [`Worker::stats`]: take the
/// `Arc<WorkerStats>` before calling `run`/`run_until`, then read
/// [`WorkerStats::snapshot`] from any task.
pub struct Worker {
    pub(crate) driver: Arc<dyn Driver>,
    pub(crate) registry: Registry,
    pub(crate) config: Arc<Config>,
    pub(crate) stats: Arc<WorkerStats>,
    pub(crate) id: String,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("driver", &self.driver)
            .field("jobs", &self.registry.names())
            .field("config", &self.config)
            .finish()
    }
}

impl Worker {
    /// Starts configuring a worker over `driver`.
    pub fn builder(driver: Arc<dyn Driver>) -> WorkerBuilder {
        WorkerBuilder::new(driver)
    }

    pub(crate) fn new(driver: Arc<dyn Driver>, registry: Registry, config: Config) -> Self {
        Worker {
            driver,
            registry,
            config: Arc::new(config),
            stats: Arc::new(WorkerStats::default()),
            id: uuid::Uuid::now_v7().hyphenated().to_string(),
        }
    }

    /// This run's id (a UUIDv7), as in its heartbeat and report.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Names of the registered job types, sorted.
    pub fn registered_names(&self) -> Vec<&'static str> {
        self.registry.names()
    }

    /// The queues drained, in priority order.
    pub fn queues(&self) -> &[QueueName] {
        &self.config.queues
    }

    /// The concurrency limit.
    pub fn concurrency(&self) -> usize {
        self.config.concurrency
    }

    /// Live counters, shared with the running worker.
    pub fn stats(&self) -> Arc<WorkerStats> {
        self.stats.clone()
    }

    /// Runs until SIGTERM or SIGINT (then shuts down gracefully) or a limit is
    /// reached.
    pub async fn run(self) -> Result<WorkerReport, WorkerError> {
        let signal = shutdown_signal()?;
        self.run_until(signal).await
    }
}
