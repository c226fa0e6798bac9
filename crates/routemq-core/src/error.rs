//! The error every [`Driver`](crate::Driver) call returns.

use crate::{CodecError, JobId};

/// A boxed error from a backend client (redis, mysql_async, …).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in a driver or dispatch call. Backend failures are always
/// returned — never turned into "no job" — so the caller can retry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The caller no longer owns this reservation: its lease expired and the job was
    /// reclaimed, or it was acked, released, failed or cleared already. Nothing was
    /// changed.
    #[error("lease lost on job {job_id}: the reservation expired or belongs to another worker; nothing was changed")]
    LeaseLost {
        /// The job whose lease was lost.
        job_id: JobId,
    },

    /// A queue name that is empty, too long or uses characters outside the safe set.
    #[error("invalid queue name {name:?}: {reason}")]
    InvalidQueueName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The encoded job is larger than the backend accepts.
    #[error("job payload is {size} bytes, over the {limit}-byte limit of the {driver} driver")]
    PayloadTooLarge {
        /// Encoded size in bytes.
        size: usize,
        /// The driver's limit in bytes.
        limit: usize,
        /// The driver's connection name.
        driver: &'static str,
    },

    /// The job could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The job asked for encryption and its data could not be encrypted (no key).
    #[error(transparent)]
    Encrypt(#[from] crate::EncryptError),

    /// A rate limit no driver can keep (0 jobs, a zero period, …).
    #[error(transparent)]
    InvalidRateLimit(#[from] crate::RateLimitError),

    /// An argument that makes no sense (for example a batch size of 0).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The backend could not be reached or the connection broke. Transient: retry
    /// with backoff.
    ///
    /// The client's error is part of this message (`redis backend unavailable:
    /// …`), so it is not also returned by `source()`: a printer that walks the
    /// chain shows it once.
    #[error("{driver} backend unavailable: {cause}")]
    Unavailable {
        /// The driver's connection name.
        driver: &'static str,
        /// The client's error (shown in the message).
        cause: BoxError,
    },

    /// The backend answered with an error (a failing script, a SQL error, …).
    ///
    /// As with [`Unavailable`](Self::Unavailable), the client's error is shown in
    /// the message and not returned by `source()`.
    #[error("{driver} backend error: {cause}")]
    Backend {
        /// The driver's connection name.
        driver: &'static str,
        /// The client's error (shown in the message).
        cause: BoxError,
    },

    /// Stored data that breaks the driver's own invariants (for example a
    /// reservation record that cannot be parsed).
    #[error("{driver} backend holds inconsistent data: {detail}")]
    Corrupt {
        /// The driver's connection name.
        driver: &'static str,
        /// What was found.
        detail: String,
    },
}

impl DriverError {
    /// True for errors worth retrying after a pause (connection loss, server
    /// restarts, backend errors); false for errors that will repeat identically
    /// (bad names, oversize payloads, lost leases, codec errors).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DriverError::Unavailable { .. } | DriverError::Backend { .. }
        )
    }

    /// Shorthand for a [`DriverError::Unavailable`].
    pub fn unavailable(driver: &'static str, source: impl Into<BoxError>) -> Self {
        DriverError::Unavailable {
            driver,
            cause: source.into(),
        }
    }

    /// Shorthand for a [`DriverError::Backend`].
    pub fn backend(driver: &'static str, source: impl Into<BoxError>) -> Self {
        DriverError::Backend {
            driver,
            cause: source.into(),
        }
    }
}
