//! Configuration: which driver to use and how to reach it, resolved from flags, the
//! environment and `.env` (in that order of precedence), with the seed's variable
//! names. Every problem is one [`ConfigError`] naming the variable.

use std::fmt;
use std::path::Path;

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

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for handing to a client library only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A server URL that may carry a password. [`fmt::Display`] hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    url: Secret,
    /// Where it came from (`REDIS_URL`, or `REDIS_HOST`… when built from parts).
    pub source: &'static str,
}

impl ServerUrl {
    /// The full URL, password included, for the client library only.
    pub fn expose(&self) -> &str {
        self.url.expose()
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(self.url.expose())
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({} from {})", self.redacted(), self.source)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replaces the password of `scheme://user:password@host…` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    let user = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None => userinfo.to_owned(),
    };
    format!("{}://{}{}", &url[..scheme_end], user, &rest[at..])
}

/// Bad configuration: names the variable (or flag) and what is wrong. The CLI prints
/// it as one line and exits with code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The chosen driver was left out of this binary at build time.
    #[error("QUEUE_CONNECTION={connection} needs the `{feature}` cargo feature, which this routemq binary was built without; rebuild with `--features {feature}` or choose another QUEUE_CONNECTION")]
    FeatureMissing {
        /// The chosen connection.
        connection: Connection,
        /// The missing feature.
        feature: &'static str,
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
        let shown = if is_secret(var) {
            "***".to_owned()
        } else if var.ends_with("_URL") {
            redact_url(value)
        } else {
            value.to_owned()
        };
        ConfigError::Invalid {
            var: var.to_owned(),
            shown,
            problem: problem.to_owned(),
        }
    }
}

fn is_secret(var: &str) -> bool {
    matches!(var, "REDIS_PASSWORD" | "DB_PASS")
}

/// Every variable the configuration reads.
pub const VARIABLES: [&str; 18] = [
    "QUEUE_CONNECTION",
    "ENABLE_REDIS",
    "REDIS_URL",
    "REDIS_HOST",
    "REDIS_PORT",
    "REDIS_DB",
    "REDIS_USERNAME",
    "REDIS_PASSWORD",
    "REDIS_PREFIX",
    "REDIS_KEY_MODE",
    "ENABLE_MYSQL",
    "DATABASE_URL",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASS",
    "ROUTEMQ_ENV_FILE",
];

/// The configuration variables that are set, as `(name, value)` with passwords
/// shown as `***` (`REDIS_PASSWORD=***`, `DATABASE_URL=mysql://u:***@h/db`).
pub fn shown_variables(lookup: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    VARIABLES
        .iter()
        .filter_map(|&var| {
            let value = lookup(var).filter(|v| !v.trim().is_empty())?;
            let shown = if is_secret(var) {
                "***".to_owned()
            } else if var.ends_with("_URL") {
                redact_url(&value)
            } else {
                value
            };
            Some((var.to_owned(), shown))
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

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The driver to use.
    pub connection: Connection,
    /// How to reach Redis, when `connection` is Redis.
    pub redis_url: Option<ServerUrl>,
    /// How to reach MySQL, when `connection` is Database.
    pub database_url: Option<ServerUrl>,
    /// `REDIS_PREFIX`: the Redis key prefix (default `routemq`, the seed's names).
    pub redis_prefix: Option<String>,
    /// `REDIS_KEY_MODE`: `plain` (default) or `cluster` (queue names in hash tags).
    pub redis_key_mode: Option<String>,
    /// `REDIS_USERNAME` given beside `REDIS_URL`: overrides the URL's user.
    pub redis_username: Option<String>,
    /// `REDIS_PASSWORD` given beside `REDIS_URL`: overrides the URL's password.
    pub redis_password: Option<Secret>,
    /// Why this connection was chosen (for `routemq config`).
    pub chosen_by: String,
}

impl Config {
    /// Resolves the configuration from the process environment (after `.env` was
    /// loaded by [`load_env_file`]) with `connection_flag` (`--connection`) first.
    pub fn from_env(
        connection_flag: Option<&str>,
        unconfigured: Unconfigured,
    ) -> Result<Config, ConfigError> {
        Self::resolve(|k| std::env::var(k).ok(), connection_flag, unconfigured)
    }

    /// Resolves the configuration from `lookup` (a variable's value, if set) with
    /// `connection_flag` first. Empty values count as unset.
    pub fn resolve(
        lookup: impl Fn(&str) -> Option<String>,
        connection_flag: Option<&str>,
        unconfigured: Unconfigured,
    ) -> Result<Config, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let enable_redis = parse_bool(&get, "ENABLE_REDIS")?;
        let enable_mysql = parse_bool(&get, "ENABLE_MYSQL")?;
        let redis_wanted = enable_redis == Some(true) || get("REDIS_URL").is_some();
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
                (true, false, _) => (Connection::Redis, "ENABLE_REDIS/REDIS_URL (QUEUE_CONNECTION unset)".to_owned()),
                (false, true, _) => (Connection::Database, "ENABLE_MYSQL/DATABASE_URL (QUEUE_CONNECTION unset)".to_owned()),
                (false, false, Unconfigured::Memory) => (Connection::Memory, "default: no server configured".to_owned()),
                (false, false, Unconfigured::Refuse) => return Err(ConfigError::Choice(
                    "QUEUE_CONNECTION is not set; set it to redis, database or memory (in the environment, in .env, or with --connection)".into(),
                )),
            },
        };

        let mut config = Config {
            connection,
            redis_url: None,
            database_url: None,
            redis_prefix: None,
            redis_key_mode: None,
            redis_username: None,
            redis_password: None,
            chosen_by,
        };
        match connection {
            Connection::Redis => {
                if enable_redis == Some(false) {
                    return Err(ConfigError::Choice(format!(
                        "{}=redis but ENABLE_REDIS=false; set ENABLE_REDIS=true or choose another connection",
                        config.chosen_by_var()
                    )));
                }
                config.redis_url = Some(redis_url(&get)?);
                if get("REDIS_URL").is_some() {
                    // As the Redis driver reads them: these override the URL's.
                    config.redis_username = get("REDIS_USERNAME");
                    config.redis_password = get("REDIS_PASSWORD").map(Secret::new);
                }
                config.redis_prefix = match get("REDIS_PREFIX") {
                    Some(p) if p.contains(['{', '}', ' ']) => {
                        return Err(ConfigError::invalid(
                            "REDIS_PREFIX",
                            &p,
                            "must not contain braces or spaces",
                        ))
                    }
                    other => other,
                };
                config.redis_key_mode = match get("REDIS_KEY_MODE") {
                    Some(m) if !matches!(m.to_ascii_lowercase().as_str(), "plain" | "cluster") => {
                        return Err(ConfigError::invalid(
                            "REDIS_KEY_MODE",
                            &m,
                            "must be plain or cluster",
                        ))
                    }
                    other => other.map(|m| m.to_ascii_lowercase()),
                };
            }
            Connection::Database => {
                if enable_mysql == Some(false) {
                    return Err(ConfigError::Choice(format!(
                        "{}=database but ENABLE_MYSQL=false; set ENABLE_MYSQL=true or choose another connection",
                        config.chosen_by_var()
                    )));
                }
                config.database_url = Some(database_url(&get)?);
            }
            Connection::Memory => {}
        }
        Ok(config)
    }

    fn chosen_by_var(&self) -> &str {
        if self.chosen_by == "--connection" {
            "--connection"
        } else {
            "QUEUE_CONNECTION"
        }
    }

    /// The server URL in use, redacted; `None` for the memory driver.
    pub fn redacted_url(&self) -> Option<String> {
        self.redis_url
            .as_ref()
            .or(self.database_url.as_ref())
            .map(ServerUrl::redacted)
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

fn parse_port(
    get: &impl Fn(&str) -> Option<String>,
    var: &str,
    default: u16,
) -> Result<u16, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u16>() {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(ConfigError::invalid(
                var,
                &v,
                "is not a port number (1-65535)",
            )),
        },
    }
}

fn check_url(var: &'static str, value: &str, schemes: &[&str]) -> Result<ServerUrl, ConfigError> {
    let scheme_ok = schemes
        .iter()
        .any(|s| value.starts_with(&format!("{s}://")) && value.len() > s.len() + 3);
    if !scheme_ok {
        let wanted: Vec<String> = schemes.iter().map(|s| format!("{s}://…")).collect();
        return Err(ConfigError::invalid(
            var,
            value,
            &format!("is not a URL of the form {}", wanted.join(" or ")),
        ));
    }
    Ok(ServerUrl {
        url: Secret::new(value.trim()),
        source: var,
    })
}

fn redis_url(get: &impl Fn(&str) -> Option<String>) -> Result<ServerUrl, ConfigError> {
    if let Some(url) = get("REDIS_URL") {
        return check_url(
            "REDIS_URL",
            &url,
            &["redis", "rediss", "redis+unix", "unix"],
        );
    }
    let host = get("REDIS_HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
    check_host("REDIS_HOST", &host)?;
    let port = parse_port(get, "REDIS_PORT", 6379)?;
    let db = match get("REDIS_DB") {
        None => 0,
        Some(v) => v.trim().parse::<u32>().map_err(|_| {
            ConfigError::invalid("REDIS_DB", &v, "is not a database number (0, 1, 2, …)")
        })?,
    };
    let user = get("REDIS_USERNAME")
        .map(|u| percent_encode(&u))
        .unwrap_or_default();
    let auth = match get("REDIS_PASSWORD") {
        Some(p) => format!("{user}:{}@", percent_encode(&p)),
        None if !user.is_empty() => format!("{user}@"),
        None => String::new(),
    };
    Ok(ServerUrl {
        url: Secret::new(format!("redis://{auth}{}:{port}/{db}", host.trim())),
        source: "REDIS_HOST/REDIS_PORT/REDIS_DB/REDIS_USERNAME/REDIS_PASSWORD",
    })
}

fn database_url(get: &impl Fn(&str) -> Option<String>) -> Result<ServerUrl, ConfigError> {
    if let Some(url) = get("DATABASE_URL") {
        return check_url("DATABASE_URL", &url, &["mysql", "mariadb"]);
    }
    let host = get("DB_HOST").unwrap_or_else(|| "localhost".to_owned());
    check_host("DB_HOST", &host)?;
    let port = parse_port(get, "DB_PORT", 3306)?;
    let name = get("DB_NAME").ok_or_else(|| {
        ConfigError::Choice(
            "DB_NAME is not set; name the database (or set DATABASE_URL=mysql://user:pass@host:3306/db)".into(),
        )
    })?;
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$')))
    {
        return Err(ConfigError::invalid(
            "DB_NAME",
            &name,
            &format!("contains {c:?}; use letters, digits, '_', '-' or '$'"),
        ));
    }
    let user = get("DB_USER").unwrap_or_else(|| "root".to_owned());
    let auth = match get("DB_PASS") {
        Some(p) => format!("{}:{}@", percent_encode(&user), percent_encode(&p)),
        None => format!("{}@", percent_encode(&user)),
    };
    Ok(ServerUrl {
        url: Secret::new(format!("mysql://{auth}{}:{port}/{name}", host.trim())),
        source: "DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASS",
    })
}

fn check_host(var: &str, host: &str) -> Result<(), ConfigError> {
    let host = host.trim();
    if host.contains(['/', '@', ' ', '?', '#']) || host.contains("://") {
        return Err(ConfigError::invalid(
            var,
            host,
            "is not a host name or address (give only the host; the port has its own variable)",
        ));
    }
    Ok(())
}

/// Percent-encodes everything but unreserved URL characters (for user names and
/// passwords inside a URL).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
