//! Turning mysql_async errors into [`DriverError`]s, and the driver's own errors.

use routemq_core::DriverError;

/// The connection name recorded in failed jobs and errors.
pub(crate) const NAME: &str = "database";

/// Server error codes worth retrying inside the driver: the transaction was
/// rolled back and running it again is safe.
const ER_LOCK_DEADLOCK: u16 = 1213;
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;

/// Server error codes that mean the connection or the server went away.
const CONNECTION_LOST: &[u16] = &[
    1040, // ER_CON_COUNT_ERROR: too many connections
    1053, // ER_SERVER_SHUTDOWN
    1152, // ER_ABORTING_CONNECTION
    1927, // ER_CONNECTION_KILLED (MariaDB)
    2002, 2003, 2006, 2013, // client-side "can't connect" / "gone away" / "lost"
    4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
];

/// True when `e` is a deadlock or a lock-wait timeout: the statement (and, for a
/// deadlock, the whole transaction) was rolled back, so the caller may retry.
pub(crate) fn is_retryable(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if s.code == ER_LOCK_DEADLOCK || s.code == ER_LOCK_WAIT_TIMEOUT)
}

/// Connection loss → [`DriverError::Unavailable`]; anything the server said →
/// [`DriverError::Backend`].
pub(crate) fn map(e: mysql_async::Error) -> DriverError {
    use mysql_async::{DriverError as D, Error};
    let unavailable = match &e {
        Error::Io(_) => true,
        Error::Server(s) => CONNECTION_LOST.contains(&s.code),
        Error::Driver(d) => matches!(
            d,
            D::ConnectionClosed
                | D::PoolDisconnected
                | D::PacketOutOfOrder
                | D::UnexpectedPacket { .. }
        ),
        _ => false,
    };
    if unavailable {
        DriverError::unavailable(NAME, e)
    } else {
        DriverError::backend(NAME, e)
    }
}

/// Why the driver could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither `DATABASE_URL` nor `DB_NAME` is set.
    #[error("DB_NAME is not set; name the database (or set DATABASE_URL=mysql://user:pass@host:3306/db)")]
    Missing,
    /// An environment variable (or other
    /// [`MysqlConfig::from_lookup`](crate::MysqlConfig::from_lookup) key) holds a
    /// value that cannot be used: `DB_PORT=0 is not a port number (1-65535)`.
    #[error("{var}={value} {reason}")]
    Variable {
        /// The variable.
        var: &'static str,
        /// Its value as shown: `***` for a password, a URL with its password
        /// replaced.
        value: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A setting that cannot be used.
    #[error("invalid database setting {name}: {reason}")]
    Invalid {
        /// The setting (environment variable or URL part).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// TLS was asked for but the crate was built without its `tls` feature.
    #[error("TLS was requested (require_ssl / DB_SSL) but routemq-mysql was built without its `tls` feature")]
    TlsUnavailable,
}

/// Why applying migrations failed. A variant that wraps another error returns it
/// from `source()` and does not repeat it in its own message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// A statement of a migration failed; earlier statements of it may have been
    /// applied (MySQL commits DDL at once), so every migration is written to be
    /// re-runnable (`CREATE TABLE IF NOT EXISTS`).
    #[error("migration {version} ({name}) failed")]
    Statement {
        /// Migration version.
        version: u32,
        /// Migration name.
        name: &'static str,
        /// The server's error.
        #[source]
        source: DriverError,
    },
    /// A migration recorded as applied has changed since.
    #[error("migration {version} ({name}) was applied with checksum {recorded} but the shipped file has {shipped}; migrations must not be edited once released")]
    Changed {
        /// Migration version.
        version: u32,
        /// Migration name.
        name: &'static str,
        /// Checksum in the migrations table.
        recorded: String,
        /// Checksum of the embedded file.
        shipped: String,
    },
    /// The database records a migration this build does not know (a newer
    /// release migrated it).
    #[error("the database has migration {version} applied, which this build does not know; upgrade routemq")]
    Unknown {
        /// The unknown version.
        version: u32,
    },
    /// Another process held the migration lock for too long.
    #[error("timed out waiting for the migration lock held by another process")]
    LockTimeout,
    /// Talking to the server failed.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_unavailable_and_sql_errors_are_backend() {
        let io = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::other("reset")));
        assert!(matches!(map(io), DriverError::Unavailable { .. }));
        let sql = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1064,
            message: "syntax".into(),
            state: "42000".into(),
        });
        assert!(matches!(map(sql), DriverError::Backend { .. }));
        let gone = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1053,
            message: "shutdown".into(),
            state: "08S01".into(),
        });
        assert!(matches!(map(gone), DriverError::Unavailable { .. }));
        let deadlock = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1213,
            message: "deadlock".into(),
            state: "40001".into(),
        });
        assert!(is_retryable(&deadlock));
    }
}
