//! The `routemq` command line as a library: configuration (flags > environment >
//! `.env`), driver connection, the worker and admin verbs, the web dashboard, the
//! demo, the benchmark verb, and the built-in job types. The `routemq` binary is
//! `App::new().run()`; an application embeds the same verbs in its own binary with
//! its own job types: `routemq_cli::App::new().register::<SendEmail>().run()`.
//!
//! # What this crate must not depend on
//! Nothing depends on it. It may depend on every other RouteMQ crate, but names a
//! concrete driver (`routemq-redis`, `routemq-mysql`) only in `connect.rs`, behind
//! the `redis` and `mysql` cargo features, so the binary builds with either off.

#![warn(missing_docs)]

mod app;
mod cli;
mod commands;
mod config;
mod connect;
mod duration;
mod error;
pub mod jobs;
mod metrics;
mod output;

pub use app::App;
pub use config::{
    dashboard_auth, load_env_file, shown_variables, variables, Config, ConfigError, Connection,
    EncryptionConfig, Unconfigured, CLI_VARIABLES, DASHBOARD_BASIC_AUTH_VAR, DASHBOARD_TOKEN_VAR,
    ENCRYPT_ALL_VAR,
};
pub use connect::{connect, migrate_if_database};
pub use duration::parse_duration;
pub use error::{CliError, ErrorChain};
