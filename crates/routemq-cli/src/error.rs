//! The CLI's error type and its exit codes.

use routemq_core::DriverError;

use crate::ConfigError;

/// Why a command failed. [`CliError::exit_code`] maps it to the process exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line did not parse (or `--help`/`--version` was asked for):
    /// clap's own message and exit code.
    #[error("{0}")]
    Args(clap::Error),
    /// Bad configuration or arguments: exit code 2.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A command-line value that cannot be used: exit code 2.
    #[error("{flag}: {problem}")]
    Usage {
        /// The flag or argument.
        flag: String,
        /// What is wrong.
        problem: String,
    },
    /// A driver call failed (backend unreachable, backend error…): exit code 1.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// The thing asked for does not exist (for example a failed-job id): exit code 1.
    #[error("{0}")]
    NotFound(String),
    /// The worker stopped with an error: exit code 1.
    #[error("worker: {0}")]
    Worker(String),
    /// Applying the MySQL migrations failed: exit code 1.
    #[error("migrate: {0}")]
    Migration(String),
    /// The benchmark failed: exit code 1.
    #[error("bench: {0}")]
    Bench(String),
    /// Writing output or another local I/O problem: exit code 1.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// 2 for configuration and usage errors, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Args(e) => u8::try_from(e.exit_code()).unwrap_or(2),
            CliError::Config(_) | CliError::Usage { .. } => 2,
            _ => 1,
        }
    }

    /// A usage error for `flag`.
    pub fn usage(flag: impl Into<String>, problem: impl Into<String>) -> Self {
        CliError::Usage {
            flag: flag.into(),
            problem: problem.into(),
        }
    }

    /// An output error.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io {
            what: what.into(),
            source,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(source: std::io::Error) -> Self {
        CliError::io("writing output", source)
    }
}
