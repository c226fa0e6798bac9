//! [`App`]: the `routemq` command line as a value an application can extend with
//! its own job types and run as its own binary.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};
use routemq_core::{Driver, Job};
use routemq_worker::{Worker, WorkerBuilder};

use crate::cli::{Cli, Command, JobCommand};
use crate::commands;
use crate::config::{load_env_file, EncryptionConfig, Unconfigured};
use crate::jobs::{Fail, Flaky, Noop, Panic, Sleep};
use crate::output::Output;
use crate::{connect, CliError, Config};

type RegisterFn = fn(WorkerBuilder) -> WorkerBuilder;

fn register_one<J: Job>(builder: WorkerBuilder) -> WorkerBuilder {
    builder.register::<J>()
}

/// The `routemq` commands with a set of job types.
///
/// ```no_run
/// use routemq_core::{Job, JobContext, JobError};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct SendEmail { to: String }
///
/// impl Job for SendEmail {
///     const NAME: &'static str = "emails.send";
///     async fn handle(&self, _ctx: &JobContext) -> Result<(), JobError> { Ok(()) }
/// }
///
/// fn main() -> std::process::ExitCode {
///     routemq_cli::App::new().name("myapp").register::<SendEmail>().run()
/// }
/// ```
#[derive(Clone)]
pub struct App {
    name: String,
    jobs: Vec<(&'static str, RegisterFn)>,
    driver: Option<Arc<dyn Driver>>,
    log_to_stderr: bool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.name)
            .field("jobs", &self.job_names())
            .field("driver", &self.driver)
            .finish()
    }
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// The `routemq` command with the built-in job types (`routemq.noop`,
    /// `routemq.sleep`, `routemq.fail`, `routemq.panic`, `routemq.flaky`).
    pub fn new() -> Self {
        App {
            name: "routemq".to_owned(),
            jobs: Vec::new(),
            driver: None,
            log_to_stderr: false,
        }
        .register::<Noop>()
        .register::<Sleep>()
        .register::<Fail>()
        .register::<Panic>()
        .register::<Flaky>()
    }

    /// The program name shown in `--help`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds job type `J` to every worker this app runs (`work`, `demo`). A type
    /// registered under a name already taken replaces the earlier one.
    pub fn register<J: Job>(mut self) -> Self {
        self.jobs.retain(|(name, _)| *name != J::NAME);
        self.jobs.push((J::NAME, register_one::<J>));
        self
    }

    /// Uses `driver` instead of connecting from the configuration (for an app that
    /// already holds one, and for tests on the memory driver).
    pub fn with_driver(mut self, driver: Arc<dyn Driver>) -> Self {
        self.driver = Some(driver);
        self
    }

    /// The registered job type names, in registration order.
    pub fn job_names(&self) -> Vec<&'static str> {
        self.jobs.iter().map(|(name, _)| *name).collect()
    }

    /// A worker builder for `driver` with every registered job type.
    pub fn worker_builder(&self, driver: Arc<dyn Driver>) -> WorkerBuilder {
        self.jobs
            .iter()
            .fold(Worker::builder(driver), |b, (_, register)| register(b))
    }

    /// Runs the command line of this process: parses `std::env::args`, loads
    /// `.env`, runs the verb on a new Tokio runtime, prints any error as one line on
    /// stderr and returns the exit code (0 ok, 1 runtime failure, 2 bad
    /// configuration or usage).
    pub fn run(mut self) -> ExitCode {
        self.log_to_stderr = true;
        let mut stdout = std::io::stdout();
        match self.run_from(std::env::args_os(), &mut stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(CliError::Args(e)) => {
                let _ = e.print();
                ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
            }
            Err(e) => {
                let _ = stdout.flush();
                eprintln!("{}: {}", self.name, e.chain());
                ExitCode::from(e.exit_code())
            }
        }
    }

    /// Runs the verb given by `args` (the first item is the program name) on a new
    /// Tokio runtime, writing results to `out`. Use [`App::execute`] from inside a
    /// runtime.
    pub fn run_from<I, T>(&self, args: I, out: &mut dyn Write) -> Result<(), CliError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::io("starting the Tokio runtime", e))?;
        runtime.block_on(self.execute(args, out))
    }

    /// Runs the verb given by `args` (the first item is the program name), writing
    /// results to `out`.
    pub async fn execute<I, T>(&self, args: I, out: &mut dyn Write) -> Result<(), CliError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Cli::command()
            .name(self.name.clone())
            .bin_name(self.name.clone())
            .try_get_matches_from(args)
            .map_err(CliError::Args)?;
        let cli = Cli::from_arg_matches(&matches).map_err(CliError::Args)?;
        if self.log_to_stderr {
            init_tracing(match cli.command {
                Command::Work(_) => "info",
                Command::Demo(_) | Command::Bench(_) => "off",
                _ => "warn",
            });
        }
        load_env_file(cli.global.env_file.as_deref())?;
        // Every verb: a bad key stops the CLI before it touches any job.
        let encryption = EncryptionConfig::from_env()?;
        let unconfigured = match cli.command {
            Command::Demo(_) | Command::Bench(_) => Unconfigured::Memory,
            _ => Unconfigured::Refuse,
        };
        if let Command::Dashboard(args) = &cli.command {
            // Bad credentials or an exposed address stop it before it connects.
            commands::dashboard::settings(args)?;
        }
        let config = match &self.driver {
            Some(_) => None,
            None => Some(Config::from_env(
                cli.global.connection.as_deref(),
                unconfigured,
            )?),
        };
        let mut out = Output::new(out, cli.global.json);
        if let Command::Config = cli.command {
            return match &config {
                Some(c) => commands::admin::config(c, &encryption, &mut out),
                None => out.line("driver supplied by the application"),
            };
        }
        if let (Command::Demo(_) | Command::Bench(_), Some(c)) = (&cli.command, &config) {
            // The first-run verbs create the MySQL tables themselves.
            crate::connect::migrate_if_database(c).await?;
        }
        let driver = match (&self.driver, &config) {
            (Some(d), _) => d.clone(),
            (None, Some(c)) => connect(c).await?,
            (None, None) => {
                return Err(CliError::Config(crate::ConfigError::Choice(
                    "no driver: neither supplied by the application nor configured".into(),
                )))
            }
        };
        self.dispatch(cli.command, driver, config.as_ref(), &encryption, &mut out)
            .await
    }

    async fn dispatch(
        &self,
        command: Command,
        driver: Arc<dyn Driver>,
        config: Option<&Config>,
        encryption: &EncryptionConfig,
        out: &mut Output<'_>,
    ) -> Result<(), CliError> {
        match command {
            Command::Work(args) => {
                commands::work::run(self, driver, config, encryption, &args, out).await
            }
            Command::Push(args) => {
                commands::push::run(driver, &args, &self.job_names(), encryption, out).await
            }
            Command::Stats(args) => commands::stats::run(driver, config, &args, out).await,
            Command::Failed(cmd) => {
                let store = crate::connect::failed_store(config, driver).await?;
                commands::failed::run(store, &cmd, out).await
            }
            Command::Job(JobCommand::Show(args)) => {
                let store = crate::connect::failed_store(config, driver.clone()).await?;
                commands::job::show(driver, store, &args, out).await
            }
            Command::Batch(cmd) => commands::batch::run(driver, &cmd, out).await,
            Command::Cancel(args) => {
                let store = crate::connect::failed_store(config, driver.clone()).await?;
                commands::job::cancel(driver, store, &args, out).await
            }
            Command::Clear(args) => commands::admin::clear(driver, &args, out).await,
            Command::Pause(args) => commands::pause::run(driver, &args, true, out).await,
            Command::Resume(args) => commands::pause::run(driver, &args, false, out).await,
            Command::Schedule(cmd) => {
                commands::schedule::run(driver, &cmd, &self.job_names(), out).await
            }
            Command::Limit(cmd) => commands::limit::run(driver, &cmd, out).await,
            Command::Migrate => crate::connect::migrate(driver, config, out).await,
            #[cfg(feature = "outbox")]
            Command::Outbox(cmd) => commands::outbox::run(config, &cmd, out).await,
            Command::Workers => commands::admin::workers(driver, out).await,
            Command::Dashboard(args) => {
                let failed = crate::connect::dashboard_failed(config, driver.clone()).await?;
                commands::dashboard::run(driver, failed, config, &args).await
            }
            Command::Bench(args) => commands::bench::run(driver, config, &args, out).await,
            Command::Demo(args) => commands::demo::run(self, driver, &args, out).await,
            Command::Config => Ok(()),
        }
    }
}

/// Logs to stderr: `RUST_LOG` when set, else `default` (`info` for `work`, so
/// retries and failures show; `off` for the demo and the benchmark, whose failures
/// are on purpose; `warn` for the rest).
fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
