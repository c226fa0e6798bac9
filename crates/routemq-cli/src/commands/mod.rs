//! One module per verb. Each takes the connected driver and an [`Output`](crate::output::Output).

pub(crate) mod admin;
pub(crate) mod batch;
pub(crate) mod bench;
pub(crate) mod dashboard;
pub(crate) mod demo;
pub(crate) mod failed;
pub(crate) mod job;
pub(crate) mod limit;
#[cfg(feature = "outbox")]
pub(crate) mod outbox;
pub(crate) mod pause;
pub(crate) mod push;
pub(crate) mod schedule;
pub(crate) mod stats;
pub(crate) mod work;

use routemq_core::QueueName;

use crate::CliError;

/// Validates a queue name given with `flag`, as a usage error (exit code 2).
pub(crate) fn queue_arg(flag: &str, name: &str) -> Result<QueueName, CliError> {
    QueueName::new(name).map_err(|e| CliError::usage(flag, e.to_string()))
}
