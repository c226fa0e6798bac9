//! Configuration: which driver to use and how to reach it, resolved from flags, the
//! environment and `.env` (in that order of precedence), with the seed's variable
//! names. Every problem is one [`ConfigError`] naming the variable.
//!
//! This module reads only the CLI's own variables (`QUEUE_CONNECTION`,
//! `ENABLE_REDIS`, `ENABLE_MYSQL`, `ROUTEMQ_ENV_FILE`, and the encryption settings
//! `ROUTEMQ_ENCRYPTION_KEY`, `ROUTEMQ_PREVIOUS_KEYS` (parsed by
//! [`Keyring::from_lookup`]) and `ROUTEMQ_ENCRYPT_ALL`, and the dashboard's
//! credentials `ROUTEMQ_DASHBOARD_TOKEN` and `ROUTEMQ_DASHBOARD_BASIC_AUTH`,
//! read by [`dashboard_auth`] after `.env` is loaded). The driver crates own
//! theirs: [`RedisConfig::from_lookup`](routemq_redis::RedisConfig::from_lookup)
//! reads `REDIS_*`, [`MysqlConfig::from_lookup`](routemq_mysql::MysqlConfig::from_lookup)
//! reads `DATABASE_URL` and `DB_*`, both through the lookup given here.

use std::fmt;
use std::path::Path;

use routemq_core::{redact_url, Keyring};

/// The storage driver chosen with `QUEUE_CONNECTION` or `--connection`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// Redis (`QUEUE_CONNECTION=redis`).
    Redis,
    /// MySQL / MariaDB (`QUEUE_CONNECTION=database`).
    Database,
    /// The in-process memory driver (`QUEUE_CONNECTION=memory`): nothing outlives
    /// the process, so it suits the demo, the benchmark and embedded tests.
    Memory,
}

impl Connection {
    /// The name as written in `QUEUE_CONNECTION`.
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Redis => "redis",
            Connection::Database => "database",
            Connection::Memory => "memory",
        }
    }

    fn parse(var: &str, value: &str) -> Result<Self, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "redis" => Ok(Connection::Redis),
            "database" => Ok(Connection::Database),
            "memory" => Ok(Connection::Memory),
            _ => Err(ConfigError::invalid(
                var,
                value,
                "must be one of redis, database, memory",
            )),
        }
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bad configuration: names the variable (or flag) and what is wrong. The CLI prints
/// it as one line and exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable holds a value that cannot be used.
    #[error("{var}={shown} {problem}")]
    Invalid {
        /// The variable or flag.
        var: String,
        /// Its value as shown (`***` for secrets).
        shown: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Nothing says which driver to use, or two things disagree.
    #[error("{0}")]
    Choice(String),
    /// A `REDIS_*` variable cannot be used (as the Redis driver reads them).
    #[cfg(feature = "redis")]
    #[error(transparent)]
    Redis(#[from] routemq_redis::ConfigError),
    /// A `DATABASE_URL`/`DB_*` variable cannot be used (as the MySQL driver reads
    /// them).
    #[cfg(feature = "mysql")]
    #[error(transparent)]
    Mysql(#[from] routemq_mysql::ConfigError),
    /// The chosen driver was left out of this binary at build time.
    #[error("QUEUE_CONNECTION={connection} needs the `{feature}` cargo feature, which this routemq binary was built without; rebuild with `--features {feature}` or choose another QUEUE_CONNECTION")]
    FeatureMissing {
        /// The chosen connection.
        connection: Connection,
        /// The missing feature.
        feature: &'static str,
    },
    /// `ROUTEMQ_ENCRYPTION_KEY` or `ROUTEMQ_PREVIOUS_KEYS` is not 32 bytes of base64
    /// (the message names the variable, never the value).
    #[error(transparent)]
    Key(#[from] routemq_core::KeyError),
    /// Encryption was asked for (`push --encrypt`, `ROUTEMQ_ENCRYPT_ALL=true`) but
    /// `ROUTEMQ_ENCRYPTION_KEY` is not set.
    #[error("{asked_by} needs a key: set ROUTEMQ_ENCRYPTION_KEY to 32 random bytes in base64 (e.g. from `openssl rand -base64 32`)")]
    NoEncryptionKey {
        /// What asked for encryption.
        asked_by: &'static str,
    },
    /// The `.env` file exists but cannot be read or parsed.
    #[error("{path}: {problem}")]
    EnvFile {
        /// The file.
        path: String,
        /// What went wrong.
        problem: String,
    },
}

impl ConfigError {
    fn invalid(var: &str, value: &str, problem: &str) -> Self {
        ConfigError::Invalid {
            var: var.to_owned(),
            shown: shown_value(var, value),
            problem: problem.to_owned(),
        }
    }
}

/// The variable that turns on encryption of every pushed job.
pub const ENCRYPT_ALL_VAR: &str = "ROUTEMQ_ENCRYPT_ALL";

/// The variable that turns on the transactional outbox of Redis queues.
pub const OUTBOX_VAR: &str = "ROUTEMQ_OUTBOX";

/// The variable that picks where a Redis connection keeps failed jobs.
pub const FAILED_STORE_VAR: &str = "ROUTEMQ_FAILED_STORE";

/// The variable holding `routemq dashboard`'s access token (`--auth-token`).
pub const DASHBOARD_TOKEN_VAR: &str = "ROUTEMQ_DASHBOARD_TOKEN";

/// The variable holding `routemq dashboard`'s Basic credentials, `USER:PASSWORD`
/// (`--basic-auth`).
pub const DASHBOARD_BASIC_AUTH_VAR: &str = "ROUTEMQ_DASHBOARD_BASIC_AUTH";

/// The variables this module reads itself.
pub const CLI_VARIABLES: [&str; 11] = [
    "QUEUE_CONNECTION",
    "ENABLE_REDIS",
    "ENABLE_MYSQL",
    "ROUTEMQ_ENV_FILE",
    routemq_core::ENCRYPTION_KEY_VAR,
    routemq_core::PREVIOUS_KEYS_VAR,
    ENCRYPT_ALL_VAR,
    OUTBOX_VAR,
    FAILED_STORE_VAR,
    DASHBOARD_TOKEN_VAR,
    DASHBOARD_BASIC_AUTH_VAR,
];

/// Who may use `routemq dashboard`: the flags `--auth-token` and `--basic-auth`
/// first, else `ROUTEMQ_DASHBOARD_TOKEN` and `ROUTEMQ_DASHBOARD_BASIC_AUTH`
/// through `lookup` (empty counts as unset); a flag of either kind sets both
/// variables aside. Both kinds at once, and credentials that would let anyone
/// in, are refused naming the flag or variable, never showing the secret.
pub fn dashboard_auth(
    lookup: impl Fn(&str) -> Option<String>,
    token_flag: Option<&str>,
    basic_flag: Option<&str>,
) -> Result<routemq_dashboard::Auth, ConfigError> {
    let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
    let (token, basic) = if token_flag.is_some() || basic_flag.is_some() {
        (
            token_flag.map(|t| ("--auth-token", t.to_owned())),
            basic_flag.map(|b| ("--basic-auth", b.to_owned())),
        )
    } else {
        (
            get(DASHBOARD_TOKEN_VAR).map(|t| (DASHBOARD_TOKEN_VAR, t)),
            get(DASHBOARD_BASIC_AUTH_VAR).map(|b| (DASHBOARD_BASIC_AUTH_VAR, b)),
        )
    };
    let refused = |var: &str, e: routemq_dashboard::AuthError| ConfigError::Invalid {
        var: var.to_owned(),
        shown: "***".to_owned(),
        problem: e.to_string(),
    };
    match (token, basic) {
        (Some((a, _)), Some((b, _))) => Err(ConfigError::Choice(format!(
            "{a} and {b} are both given; the dashboard takes one kind of credentials: keep one of them"
        ))),
        (Some((var, token)), None) => {
            let auth = routemq_dashboard::Auth::Token(token);
            auth.check().map_err(|e| refused(var, e))?;
            Ok(auth)
        }
        (None, Some((var, pair))) => {
            routemq_dashboard::Auth::basic_from_pair(&pair).map_err(|e| refused(var, e))
        }
        (None, None) => Ok(routemq_dashboard::Auth::None),
    }
}

/// Encryption of job data: the keys (`ROUTEMQ_ENCRYPTION_KEY`,
/// `ROUTEMQ_PREVIOUS_KEYS`) and `ROUTEMQ_ENCRYPT_ALL`. `Debug` shows key ids only.
#[derive(Debug, Clone, Default)]
pub struct EncryptionConfig {
    /// The keys: the current one seals, all of them open.
    pub keyring: Keyring,
    /// Encrypt every job `push` enqueues, not only those given `--encrypt`.
    pub encrypt_all: bool,
}

impl EncryptionConfig {
    /// Reads the encryption variables through `lookup` (empty counts as unset).
    /// `ROUTEMQ_ENCRYPT_ALL=true` without a key is refused here, before anything
    /// is pushed in the clear.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let keyring = Keyring::from_lookup(get)?;
        let encrypt_all = parse_bool(&get, ENCRYPT_ALL_VAR)?.unwrap_or(false);
        if encrypt_all && keyring.current_key_id().is_none() {
            return Err(ConfigError::NoEncryptionKey {
                asked_by: "ROUTEMQ_ENCRYPT_ALL=true",
            });
        }
        Ok(EncryptionConfig {
            keyring,
            encrypt_all,
        })
    }

    /// Reads them from the process environment (after `.env` was loaded).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

/// Every configuration variable of this build: the CLI's own, then those of each
/// driver compiled in (`REDIS_*` with the `redis` feature, `DATABASE_URL`/`DB_*`
/// with `mysql`), as the driver crates list them.
pub fn variables() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut all: Vec<&'static str> = CLI_VARIABLES.to_vec();
    #[cfg(feature = "redis")]
    all.extend_from_slice(routemq_redis::RedisConfig::VARIABLES);
    #[cfg(feature = "mysql")]
    all.extend_from_slice(routemq_mysql::MysqlConfig::VARIABLES);
    all
}

fn is_secret(var: &str) -> bool {
    #[allow(unused_mut)]
    let mut secrets: Vec<&str> = Vec::new();
    #[cfg(feature = "redis")]
    secrets.extend_from_slice(routemq_redis::RedisConfig::SECRET_VARIABLES);
    #[cfg(feature = "mysql")]
    secrets.extend_from_slice(routemq_mysql::MysqlConfig::SECRET_VARIABLES);
    secrets.extend_from_slice(Keyring::VARIABLES);
    secrets.extend_from_slice(&[DASHBOARD_TOKEN_VAR, DASHBOARD_BASIC_AUTH_VAR]);
    secrets.contains(&var) || var.ends_with("_PASSWORD") || var.ends_with("_PASS")
}

/// A variable's value as it may be printed: `***` for passwords, URLs through
/// [`redact_url`].
fn shown_value(var: &str, value: &str) -> String {
    if is_secret(var) {
        "***".to_owned()
    } else {
        redact_url(value)
    }
}

/// The configuration variables that are set, as `(name, value)` with passwords
/// shown as `***` (`REDIS_PASSWORD=***`, `DATABASE_URL=mysql://u:***@h/db`).
pub fn shown_variables(lookup: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    variables()
        .into_iter()
        .filter_map(|var| {
            let value = lookup(var).filter(|v| !v.trim().is_empty())?;
            Some((var.to_owned(), shown_value(var, &value)))
        })
        .collect()
}

/// What the verb does when nothing names a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unconfigured {
    /// Use the memory driver (the demo and the benchmark).
    Memory,
    /// Refuse with a [`ConfigError`] (every verb that works on stored jobs).
    Refuse,
}

/// The resolved configuration. `Debug` never shows a password.
#[derive(Clone)]
pub struct Config {
    /// The driver to use.
    pub connection: Connection,
    /// The Redis settings, when `connection` is Redis (from
    /// [`RedisConfig::from_lookup`](routemq_redis::RedisConfig::from_lookup)).
    #[cfg(feature = "redis")]
    pub redis: Option<routemq_redis::RedisConfig>,
    /// The MySQL settings, when `connection` is Database, or the application
    /// database holding the outbox when `outbox` is on (from
    /// [`MysqlConfig::from_lookup`](routemq_mysql::MysqlConfig::from_lookup)).
    #[cfg(feature = "mysql")]
    pub mysql: Option<routemq_mysql::MysqlConfig>,
    /// `ROUTEMQ_OUTBOX=true` with a Redis connection: `work` relays the
    /// application database's outbox (`queue_outbox`) to Redis, `stats` shows
    /// its backlog and lag, `migrate` creates its table.
    pub outbox: bool,
    /// A Redis connection's failed jobs are kept in the database
    /// (`queue_failed_jobs`): `ROUTEMQ_FAILED_STORE=database`, or unset with a
    /// database configured (`DATABASE_URL`, or `ENABLE_MYSQL=true` with `DB_*`).
    pub failed_in_database: bool,
    /// Which variables gave the server's address (`REDIS_CLUSTER_NODES`,
    /// `REDIS_URL`, or `REDIS_HOST/…` when built from parts), for `routemq
    /// config`.
    pub url_from: Option<&'static str>,
    /// Why this connection was chosen (for `routemq config`).
    pub chosen_by: String,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("connection", &self.connection)
            .field("url", &self.redacted_url())
            .field("url_from", &self.url_from)
            .field("chosen_by", &self.chosen_by)
            .finish()
    }
}

impl Config {
    /// Resolves the configuration from the process environment (after `.env` was
    /// loaded by [`load_env_file`], which never overrides a variable already set)
    /// with `connection_flag` (`--connection`) first: flags > environment > `.env`.
    pub fn from_env(
        connection_flag: Option<&str>,
        unconfigured: Unconfigured,
    ) -> Result<Config, ConfigError> {
        Self::resolve(|k| std::env::var(k).ok(), connection_flag, unconfigured)
    }

    /// Resolves the configuration from `lookup` (a variable's value, if set) with
    /// `connection_flag` first. Empty values count as unset. The chosen driver's
    /// variables are parsed by its own crate through `lookup`.
    pub fn resolve(
        lookup: impl Fn(&str) -> Option<String>,
        connection_flag: Option<&str>,
        unconfigured: Unconfigured,
    ) -> Result<Config, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let enable_redis = parse_bool(&get, "ENABLE_REDIS")?;
        let enable_mysql = parse_bool(&get, "ENABLE_MYSQL")?;
        let redis_wanted = enable_redis == Some(true)
            || get("REDIS_URL").is_some()
            || get("REDIS_CLUSTER_NODES").is_some();
        let mysql_wanted = enable_mysql == Some(true) || get("DATABASE_URL").is_some();

        let (connection, chosen_by) = match (connection_flag, get("QUEUE_CONNECTION")) {
            (Some(flag), _) => (
                Connection::parse("--connection", flag)?,
                "--connection".to_owned(),
            ),
            (None, Some(v)) => (
                Connection::parse("QUEUE_CONNECTION", &v)?,
                "QUEUE_CONNECTION".to_owned(),
            ),
            (None, None) => match (redis_wanted, mysql_wanted, unconfigured) {
                (true, true, _) => return Err(ConfigError::Choice(
                    "QUEUE_CONNECTION is not set and both Redis and MySQL are configured; set QUEUE_CONNECTION=redis or QUEUE_CONNECTION=database".into(),
                )),
                (true, false, _) => (Connection::Redis, "ENABLE_REDIS/REDIS_URL/REDIS_CLUSTER_NODES (QUEUE_CONNECTION unset)".to_owned()),
                (false, true, _) => (Connection::Database, "ENABLE_MYSQL/DATABASE_URL (QUEUE_CONNECTION unset)".to_owned()),
                (false, false, Unconfigured::Memory) => (Connection::Memory, "default: no server configured".to_owned()),
                (false, false, Unconfigured::Refuse) => return Err(ConfigError::Choice(
                    "QUEUE_CONNECTION is not set; set it to redis, database or memory (in the environment, in .env, or with --connection)".into(),
                )),
            },
        };
        let chosen_by_var = if chosen_by == "--connection" {
            "--connection"
        } else {
            "QUEUE_CONNECTION"
        };

        #[allow(unused_mut)] // set only by the drivers compiled in
        let mut config = Config {
            connection,
            #[cfg(feature = "redis")]
            redis: None,
            #[cfg(feature = "mysql")]
            mysql: None,
            outbox: false,
            failed_in_database: false,
            url_from: None,
            chosen_by: chosen_by.clone(),
        };
        let outbox = parse_bool(&get, OUTBOX_VAR)? == Some(true);
        let failed_store = match get(FAILED_STORE_VAR) {
            None => None,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "database" => Some(true),
                "redis" => Some(false),
                _ => {
                    return Err(ConfigError::invalid(
                        FAILED_STORE_VAR,
                        &v,
                        "must be `database` or `redis`",
                    ))
                }
            },
        };
        if failed_store == Some(false) && connection != Connection::Redis {
            return Err(ConfigError::Choice(format!(
                "{FAILED_STORE_VAR}=redis keeps a Redis connection's failed jobs in Redis, but {chosen_by_var}={connection}; unset it"
            )));
        }
        match connection {
            Connection::Redis => {
                if enable_redis == Some(false) {
                    return Err(ConfigError::Choice(format!(
                        "{chosen_by_var}=redis but ENABLE_REDIS=false; set ENABLE_REDIS=true or choose another connection"
                    )));
                }
                #[cfg(feature = "redis")]
                {
                    config.redis = Some(routemq_redis::RedisConfig::from_lookup(get)?);
                    config.url_from = Some(if get("REDIS_CLUSTER_NODES").is_some() {
                        "REDIS_CLUSTER_NODES"
                    } else if get("REDIS_URL").is_some() {
                        "REDIS_URL"
                    } else {
                        "REDIS_HOST/REDIS_PORT/REDIS_DB/REDIS_USERNAME/REDIS_PASSWORD"
                    });
                }
                // RouteMQ keeps a Redis connection's failed jobs in the
                // database whenever one is configured.
                let failed_in_database = failed_store.unwrap_or(mysql_wanted);
                if outbox || failed_in_database {
                    // The application database: DATABASE_URL or DB_*, read (and
                    // refused when missing) by the MySQL driver's own parser.
                    #[cfg(feature = "mysql")]
                    {
                        config.mysql = Some(routemq_mysql::MysqlConfig::from_lookup(get)?);
                        config.outbox = outbox;
                        config.failed_in_database = failed_in_database;
                    }
                    #[cfg(not(feature = "mysql"))]
                    return Err(ConfigError::FeatureMissing {
                        connection: Connection::Database,
                        feature: "mysql",
                    });
                }
                #[cfg(not(feature = "redis"))]
                return Err(ConfigError::FeatureMissing {
                    connection,
                    feature: "redis",
                });
            }
            Connection::Database | Connection::Memory if outbox => {
                return Err(ConfigError::Choice(format!(
                    "{OUTBOX_VAR}=true relays jobs to Redis queues, but {chosen_by_var}={connection}; with the database driver dispatch inside your transaction directly (MysqlDriver::push_in), or unset {OUTBOX_VAR}"
                )));
            }
            Connection::Database => {
                if enable_mysql == Some(false) {
                    return Err(ConfigError::Choice(format!(
                        "{chosen_by_var}=database but ENABLE_MYSQL=false; set ENABLE_MYSQL=true or choose another connection"
                    )));
                }
                #[cfg(feature = "mysql")]
                {
                    config.mysql = Some(routemq_mysql::MysqlConfig::from_lookup(get)?);
                    config.url_from = Some(if get("DATABASE_URL").is_some() {
                        "DATABASE_URL"
                    } else {
                        "DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASS"
                    });
                }
                #[cfg(not(feature = "mysql"))]
                return Err(ConfigError::FeatureMissing {
                    connection,
                    feature: "mysql",
                });
            }
            Connection::Memory => {}
        }
        Ok(config)
    }

    /// The server URL in use with any password shown as `***`; `None` for the
    /// memory driver.
    pub fn redacted_url(&self) -> Option<String> {
        match self.connection {
            #[cfg(feature = "redis")]
            Connection::Redis => self
                .redis
                .as_ref()
                .map(routemq_redis::RedisConfig::redacted_url),
            #[cfg(feature = "mysql")]
            Connection::Database => self
                .mysql
                .as_ref()
                .map(routemq_mysql::MysqlConfig::redacted_url),
            _ => None,
        }
    }
}

/// Loads `path` (or `./.env` and its parents when `None`) into the process
/// environment without overriding variables that are already set. A missing default
/// `.env` is fine; a missing explicit file or a malformed one is an error.
pub fn load_env_file(path: Option<&Path>) -> Result<(), ConfigError> {
    let result = match path {
        Some(p) => dotenvy::from_path(p),
        None => dotenvy::dotenv().map(|_| ()),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if path.is_none() && e.not_found() => Ok(()),
        Err(e) => Err(ConfigError::EnvFile {
            path: path
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| ".env".to_owned()),
            problem: match e {
                dotenvy::Error::LineParse(line, idx) => {
                    format!("cannot parse line {line:?} at character {idx}")
                }
                other => other.to_string(),
            },
        }),
    }
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
) -> Result<Option<bool>, ConfigError> {
    let Some(v) = get(var) else { return Ok(None) };
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(ConfigError::invalid(var, &v, "must be true or false")),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
