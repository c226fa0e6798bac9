//! The CLI's error type, its exit codes, and how it is printed.
//!
//! Every error here follows one rule: a variant that wraps another error returns
//! it from `source()` and does not repeat it in its own message. [`ErrorChain`]
//! prints the message and each cause once, `a: b: c`.

use std::fmt;

use routemq_core::DriverError;

use crate::ConfigError;

/// Why a command failed. [`CliError::exit_code`] maps it to the process exit code;
/// print it with [`CliError::chain`] to see every cause.
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
    /// A worker setting given by a flag was refused by the worker builder: exit
    /// code 2.
    #[error("{flag}")]
    WorkerUsage {
        /// The flag.
        flag: &'static str,
        /// The worker's error.
        #[source]
        source: routemq_worker::WorkerError,
    },
    /// A schedule given on the command line was refused (bad cron expression,
    /// zone, interval, name or missed-tick policy): exit code 2.
    #[error("{flag}")]
    ScheduleUsage {
        /// The flag or argument.
        flag: &'static str,
        /// Why the schedule was refused.
        #[source]
        source: routemq_core::ScheduleError,
    },
    /// A driver call failed (backend unreachable, backend error…): exit code 1.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// The MySQL driver could not be set up: exit code 1.
    #[cfg(feature = "mysql")]
    #[error(transparent)]
    MysqlConnect(routemq_mysql::ConnectError),
    /// The thing asked for does not exist (for example a failed-job id): exit code 1.
    #[error("{0}")]
    NotFound(String),
    /// The worker stopped with an error: exit code 1.
    #[error("worker")]
    Worker(#[from] routemq_worker::WorkerError),
    /// The metrics endpoint could not be served: exit code 1.
    #[error("cannot serve metrics on {addr}")]
    Metrics {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The exporter's error.
        #[source]
        source: metrics_exporter_prometheus::BuildError,
    },
    /// The demo did not account for every job in time: exit code 1.
    #[error("demo: the demo did not account for every job within {deadline_secs}s ({left} left in the queue)")]
    DemoIncomplete {
        /// How long the demo waited, in seconds.
        deadline_secs: u64,
        /// Jobs still in the queue.
        left: u64,
    },
    /// The outbox or its relay failed: exit code 1.
    #[cfg(feature = "outbox")]
    #[error("outbox")]
    Outbox(#[from] routemq_outbox::OutboxError),
    /// Applying the MySQL migrations failed: exit code 1.
    #[cfg(feature = "mysql")]
    #[error("migrate")]
    Migration(#[from] routemq_mysql::MigrationError),
    /// The benchmark failed: exit code 1.
    #[error("bench")]
    Bench(#[from] routemq_bench::BenchError),
    /// Writing output or another local I/O problem: exit code 1.
    #[error("{what}")]
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
            CliError::Config(_)
            | CliError::Usage { .. }
            | CliError::WorkerUsage { .. }
            | CliError::ScheduleUsage { .. } => 2,
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

    /// The message and every cause, each once: `worker: bad queue name: …`.
    pub fn chain(&self) -> ErrorChain<'_> {
        ErrorChain(self)
    }
}

impl From<std::io::Error> for CliError {
    fn from(source: std::io::Error) -> Self {
        CliError::io("writing output", source)
    }
}

/// Displays an error and its `source()` chain on one line, `a: b: c`, each cause
/// once. Messages that are empty (a transparent wrapper's) are skipped.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(self.0);
        while let Some(e) = next {
            let text = e.to_string();
            if !text.is_empty() {
                if !first {
                    f.write_str(": ")?;
                }
                f.write_str(&text)?;
                first = false;
            }
            next = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_error_prints_each_cause_once() {
        let io = std::io::Error::other("disk on fire");
        let e = CliError::io("writing output", io);
        assert_eq!(e.chain().to_string(), "writing output: disk on fire");

        // Three levels: CLI -> bench -> worker -> driver.
        let driver = DriverError::InvalidArgument("batch of 0".into());
        let worker = routemq_worker::WorkerError::InvalidQueue(driver);
        let bench = routemq_bench::BenchError::Worker(worker);
        let e = CliError::from(bench);
        let text = e.chain().to_string();
        assert_eq!(
            text,
            "bench: benchmark worker failed: bad queue name: invalid argument: batch of 0"
        );
        let parts: Vec<&str> = text.split(": ").collect();
        let mut unique = parts.clone();
        unique.dedup();
        assert_eq!(parts, unique, "a cause printed twice: {text:?}");
        assert_eq!(text.matches("batch of 0").count(), 1, "{text:?}");
    }

    #[test]
    fn transparent_variants_do_not_repeat_their_inner_error() {
        let e = CliError::from(DriverError::unavailable(
            "redis",
            std::io::Error::other("connection refused"),
        ));
        assert_eq!(
            e.chain().to_string(),
            "redis backend unavailable: connection refused"
        );
    }
}
