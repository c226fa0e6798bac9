//! [`OutboxError`].

use routemq_core::DriverError;

use crate::RelayStep;

/// What went wrong in the outbox or its relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// A job was refused before anything was written (payload over the Redis
    /// driver's limit, a due time out of range), or Redis failed during a push.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// The MySQL database failed (the caller's transaction for `stage`, the
    /// relay's connection otherwise).
    #[error("outbox database error: {0}")]
    Mysql(#[from] mysql_async::Error),
    /// A fault test stopped the relay at this step, as if its process had died
    /// there (see [`Outbox::relay_pass_stopping_at`](crate::Outbox::relay_pass_stopping_at)).
    #[error("the relay was stopped after {0:?}")]
    Stopped(RelayStep),
}
