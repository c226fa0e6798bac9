//! Mapping client errors onto [`DriverError`].

use redis::{ErrorKind, RedisError, ServerErrorKind};
use routemq_core::DriverError;

use crate::NAME;

/// True when the error means the connection (or the server) is gone or not ready:
/// the connection must not be reused and the call is worth retrying.
pub(crate) fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
            )
        )
}

/// Connection trouble → [`DriverError::Unavailable`]; anything the server or a
/// script answered → [`DriverError::Backend`].
pub(crate) fn redis_error(e: RedisError) -> DriverError {
    if is_connection_error(&e) {
        DriverError::unavailable(NAME, e)
    } else {
        DriverError::backend(NAME, e)
    }
}

/// A reply that does not have the shape a script promises.
pub(crate) fn bad_reply(what: &str, detail: impl std::fmt::Display) -> DriverError {
    DriverError::Corrupt {
        driver: NAME,
        detail: format!("unexpected reply from {what}: {detail}"),
    }
}

/// A stored record (at `key`: a key, or a hash field named with its key) that
/// does not have the driver's format.
pub(crate) fn bad_record(key: &str, what: &str, detail: impl std::fmt::Display) -> DriverError {
    DriverError::Corrupt {
        driver: NAME,
        detail: format!("malformed {what} at {key}: {detail}"),
    }
}
