//! Driver settings: where the server is, pool size, payload limit and how idle
//! workers wait.

use std::time::Duration;

use mysql_async::{Opts, OptsBuilder, PoolConstraints, SslOpts};

use routemq_core::redact_url;

use crate::ConfigError;

/// Settings of a [`MysqlDriver`](crate::MysqlDriver).
#[derive(Debug, Clone)]
pub struct MysqlConfig {
    /// Server, credentials, database and any mysql_async URL options.
    pub opts: Opts,
    /// Most pooled connections (default 32).
    pub pool_max: usize,
    /// Connections kept open when idle (default 2).
    pub pool_min: usize,
    /// Largest encoded job accepted, in bytes (default 16 MiB). The driver also
    /// stays below the server's `max_allowed_packet`.
    pub max_payload_bytes: usize,
    /// First pause of an idle worker's poll (default 2 ms); it doubles on each
    /// empty look up to [`poll_max`](Self::poll_max).
    pub poll_min: Duration,
    /// Longest pause between looks of an idle worker (default 50 ms): a job
    /// dispatched by another process waits at most about this long.
    pub poll_max: Duration,
    /// Wake this process's waiting workers at once when it dispatches (default
    /// true). Switch off to measure what producers in other processes see.
    pub local_wakeup: bool,
    /// Rows per multi-row INSERT of a bulk push (default 500; fewer when the
    /// payloads are large).
    pub bulk_chunk_rows: usize,
    /// Times a claim, ack or fail is run again after a deadlock or lock-wait
    /// timeout before the error reaches the caller (default 8).
    pub lock_retries: u32,
    /// Longest wait for a connection, handshake included (default 5 s): a server
    /// that accepts TCP and never answers is then
    /// [`Unavailable`](routemq_core::DriverError::Unavailable) ("cannot reach
    /// MySQL at host:port: no answer within 5s") instead of a hang. Also bounds
    /// waiting for a free pooled connection. mysql_async has no handshake
    /// timeout of its own.
    pub connect_timeout: Duration,
}

impl MysqlConfig {
    /// Default most pooled connections.
    pub const DEFAULT_POOL_MAX: usize = 32;
    /// Default payload limit: 16 MiB.
    pub const DEFAULT_MAX_PAYLOAD: usize = 16 << 20;
    /// Default [`connect_timeout`](Self::connect_timeout): 5 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

    /// Settings for `opts` with every default.
    pub fn new(opts: Opts) -> Self {
        MysqlConfig {
            opts,
            pool_max: Self::DEFAULT_POOL_MAX,
            pool_min: 2,
            max_payload_bytes: Self::DEFAULT_MAX_PAYLOAD,
            poll_min: Duration::from_millis(2),
            poll_max: Duration::from_millis(50),
            local_wakeup: true,
            bulk_chunk_rows: 500,
            lock_retries: 8,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Settings from a `mysql://user:pass@host:port/db?opts` URL (mysql_async's
    /// URL options apply, e.g. `require_ssl=true`).
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let opts = Opts::from_url(url).map_err(|e| ConfigError::Invalid {
            name: "DATABASE_URL".into(),
            reason: e.to_string(),
        })?;
        Ok(Self::new(opts))
    }

    /// Every variable [`from_lookup`](Self::from_lookup) reads.
    pub const VARIABLES: &'static [&'static str] = &[
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASS",
        "DB_SSL",
        "DB_SSL_CA",
        "DB_POOL_MAX",
    ];
    /// The variables among [`VARIABLES`](Self::VARIABLES) whose values are never
    /// printed.
    pub const SECRET_VARIABLES: &'static [&'static str] = &["DB_PASS"];

    /// Settings from the process environment: [`from_lookup`](Self::from_lookup)
    /// over `std::env::var`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Settings from any source of variables (the environment, a `.env` file read
    /// by the caller, command-line flags), as the original RouteMQ names them.
    /// Empty values count as unset.
    ///
    /// | Variable | Default | Rule |
    /// |---|---|---|
    /// | `DATABASE_URL` | — | `mysql://user:pass@host:port/db?opts` (or `mariadb://`); when set, `DB_HOST`…`DB_PASS` are ignored |
    /// | `DB_HOST` | `localhost` | a host name or address, nothing else |
    /// | `DB_PORT` | `3306` | 1–65535 (0 is refused) |
    /// | `DB_NAME` | — (required without `DATABASE_URL`) | letters, digits, `_`, `-`, `$` |
    /// | `DB_USER` | `root` | |
    /// | `DB_PASS` | empty | never printed |
    /// | `DB_SSL` | `false` | `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`): TLS, verifying the server |
    /// | `DB_SSL_CA` | system roots | a CA certificate file, with `DB_SSL=true` |
    /// | `DB_POOL_MAX` | 32 | most pooled connections, 1 or more |
    ///
    /// A bad value is a [`ConfigError::Variable`] naming the variable, its value
    /// (passwords hidden) and what is wrong; no database at all is
    /// [`ConfigError::Missing`].
    ///
    /// ```
    /// use routemq_mysql::MysqlConfig;
    /// let vars = |k: &str| match k {
    ///     "DB_HOST" => Some("db".to_owned()),
    ///     "DB_NAME" => Some("jobs".to_owned()),
    ///     "DB_PASS" => Some("s3cret".to_owned()),
    ///     _ => None,
    /// };
    /// let config = MysqlConfig::from_lookup(vars).unwrap();
    /// assert_eq!(config.redacted_url(), "mysql://root:***@db:3306/jobs");
    /// let err = MysqlConfig::from_lookup(|k| match k {
    ///     "DB_NAME" => Some("jobs".to_owned()),
    ///     "DB_PORT" => Some("0".to_owned()),
    ///     _ => None,
    /// })
    /// .unwrap_err();
    /// assert_eq!(err.to_string(), "DB_PORT=0 is not a port number (1-65535)");
    /// ```
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mut config = if let Some(url) = get("DATABASE_URL") {
            let url = url.trim();
            let parsed = match url.strip_prefix("mariadb://") {
                Some(rest) => format!("mysql://{rest}"),
                None => url.to_owned(),
            };
            if !parsed.starts_with("mysql://") || parsed.len() <= "mysql://".len() {
                return Err(bad(
                    "DATABASE_URL",
                    url,
                    "is not a URL of the form mysql://… or mariadb://…",
                ));
            }
            let opts = Opts::from_url(&parsed).map_err(|e| {
                bad(
                    "DATABASE_URL",
                    url,
                    &format!("is not a usable MySQL URL: {e}"),
                )
            })?;
            Self::new(opts)
        } else {
            let name = get("DB_NAME").ok_or(ConfigError::Missing)?;
            let name = name.trim().to_owned();
            if let Some(c) = name
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$')))
            {
                return Err(bad(
                    "DB_NAME",
                    &name,
                    &format!("contains {c:?}; use letters, digits, '_', '-' or '$'"),
                ));
            }
            let host = get("DB_HOST").unwrap_or_else(|| "localhost".into());
            let host = routemq_core::check_host(&host)
                .map_err(|why| bad("DB_HOST", &host, why))?
                .to_owned();
            let port = match get("DB_PORT") {
                Some(p) => routemq_core::parse_port(&p).map_err(|why| bad("DB_PORT", &p, why))?,
                None => 3306,
            };
            let builder = OptsBuilder::default()
                .ip_or_hostname(host)
                .tcp_port(port)
                .db_name(Some(name))
                .user(Some(get("DB_USER").unwrap_or_else(|| "root".into())))
                .pass(get("DB_PASS"));
            Self::new(builder.into())
        };
        if let Some(ssl) = get("DB_SSL") {
            if parse_bool("DB_SSL", &ssl)? {
                let mut ssl_opts = SslOpts::default();
                if let Some(ca) = get("DB_SSL_CA") {
                    ssl_opts = ssl_opts.with_root_certs(vec![std::path::PathBuf::from(ca).into()]);
                }
                config.opts = OptsBuilder::from_opts(config.opts)
                    .ssl_opts(ssl_opts)
                    .into();
            }
        }
        if let Some(max) = get("DB_POOL_MAX") {
            config.pool_max = max
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| bad("DB_POOL_MAX", &max, "is not a positive number"))?;
        }
        Ok(config)
    }

    /// Where these settings connect, as a URL with the password shown as `***`
    /// (`mysql://app:***@db:3306/jobs`): safe to print.
    pub fn redacted_url(&self) -> String {
        let user = self.opts.user().unwrap_or("");
        let auth = match (user, self.opts.pass()) {
            ("", None) => String::new(),
            (user, None) => format!("{user}@"),
            (user, Some(_)) => format!("{user}:***@"),
        };
        format!(
            "mysql://{auth}{}:{}/{}",
            self.opts.ip_or_hostname(),
            self.opts.tcp_port(),
            self.opts.db_name().unwrap_or("")
        )
    }

    /// The database (schema) name, if the settings name one.
    pub fn db_name(&self) -> Option<&str> {
        self.opts.db_name()
    }

    /// The mysql_async options the pool is built with: these settings plus what
    /// the driver relies on ([`SESSION_SETUP`] on every new connection, found-rows
    /// counts, no per-checkout connection reset, a statement cache).
    pub(crate) fn pool_opts(&self) -> Result<Opts, ConfigError> {
        if self.opts.db_name().is_none() {
            return Err(ConfigError::Invalid {
                name: "DATABASE_URL".into(),
                reason: "the URL names no database: add /dbname".into(),
            });
        }
        if self.opts.ssl_opts().is_some() && !cfg!(feature = "tls") {
            return Err(ConfigError::TlsUnavailable);
        }
        let pool_min = self.pool_min.min(self.pool_max);
        let constraints =
            PoolConstraints::new(pool_min, self.pool_max.max(1)).ok_or_else(|| {
                ConfigError::Invalid {
                    name: "pool size".into(),
                    reason: format!("min {pool_min} > max {}", self.pool_max),
                }
            })?;
        let mut pool = self
            .opts
            .pool_opts()
            .clone()
            .with_constraints(constraints)
            .with_reset_connection(false);
        if pool.inactive_connection_ttl().is_zero() {
            // With no TTL, mysql_async keeps only `pool_min` idle connections and
            // closes every other one as it is returned: under load (claims, acks,
            // heartbeats at once) that is a new connection per call, which costs
            // the server more than the queries do. Idle ones above the minimum
            // now live this long.
            pool = pool.with_inactive_connection_ttl(IDLE_CONNECTION_TTL);
        }
        // mysql_async runs `setup` from the last entry to the first: the
        // driver's statements go first in the list so that they run after the
        // caller's and no caller setup (a `SET time_zone` say) undoes them.
        let mut setup: Vec<String> = SESSION_SETUP.iter().map(|s| (*s).to_owned()).collect();
        setup.extend(self.opts.setup().iter().cloned());
        Ok(OptsBuilder::from_opts(self.opts.clone())
            .pool_opts(pool)
            .client_found_rows(true)
            .stmt_cache_size(128)
            .setup(setup)
            .into())
    }
}

/// Run on every new pooled connection, after any `setup` of the caller's
/// options (which cannot undo them):
/// - READ COMMITTED, so claims take no gap locks;
/// - the session time zone pinned to UTC, so the `DATETIME(6)` columns, `NOW(6)`,
///   `FROM_UNIXTIME` (due times) and `UNIX_TIMESTAMP` (failed_at) all use one
///   zone whatever the server's `time_zone` default is (`SYSTEM`, an offset or
///   a named zone with DST). An offset, not `'UTC'`: named zones need the time
///   zone tables, which a server may not have loaded.
pub(crate) const SESSION_SETUP: &[&str] = &[
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "SET time_zone = '+00:00'",
];

/// How long a pooled connection above the pool minimum may stay idle.
const IDLE_CONNECTION_TTL: Duration = Duration::from_secs(60);

fn parse_bool(name: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(bad(name, v, "must be true or false")),
    }
}

/// A [`ConfigError::Variable`] for `var`, its value shown without secrets.
fn bad(var: &'static str, value: &str, reason: &str) -> ConfigError {
    let value = if MysqlConfig::SECRET_VARIABLES.contains(&var) {
        "***".to_owned()
    } else {
        redact_url(value.trim())
    };
    ConfigError::Variable {
        var,
        value,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn url_wins_over_parts() {
        let c = MysqlConfig::from_lookup(lookup(&[
            ("DATABASE_URL", "mysql://u:p@db.example:3307/jobs"),
            ("DB_HOST", "ignored"),
        ]))
        .unwrap();
        assert_eq!(c.opts.ip_or_hostname(), "db.example");
        assert_eq!(c.opts.tcp_port(), 3307);
        assert_eq!(c.db_name(), Some("jobs"));
    }

    #[test]
    fn parts_with_defaults() {
        let c = MysqlConfig::from_lookup(lookup(&[("DB_HOST", "h"), ("DB_NAME", "q")])).unwrap();
        assert_eq!(c.opts.ip_or_hostname(), "h");
        assert_eq!(c.opts.tcp_port(), 3306);
        assert_eq!(c.opts.user(), Some("root"));
        assert_eq!(c.db_name(), Some("q"));
    }

    #[test]
    fn bad_settings_say_what_to_fix() {
        let e = MysqlConfig::from_lookup(lookup(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("DATABASE_URL"), "{e}");
        let e = MysqlConfig::from_lookup(lookup(&[("DB_HOST", "h")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("DB_NAME is not set"), "{e}");
        let e = MysqlConfig::from_lookup(lookup(&[
            ("DB_HOST", "h"),
            ("DB_NAME", "q"),
            ("DB_PORT", "x"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("DB_PORT"), "{e}");
        let no_db = MysqlConfig::from_url("mysql://root@localhost:3306").unwrap();
        assert!(no_db
            .pool_opts()
            .unwrap_err()
            .to_string()
            .contains("no database"));
    }

    #[test]
    fn each_bad_value_is_named_with_its_reason() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("DB_NAME", "q"), ("DB_PORT", "0")], "DB_PORT=0 is not a port number (1-65535)"),
            (&[("DB_NAME", "q"), ("DB_PORT", "70000")], "DB_PORT=70000 is not a port number (1-65535)"),
            (&[("DB_NAME", "a;drop")], "DB_NAME=a;drop contains ';'; use letters, digits, '_', '-' or '$'"),
            (&[("DB_NAME", "q"), ("DB_HOST", "mysql://db")], "DB_HOST=mysql://db is not a host name or address (give only the host; the port has its own variable)"),
            (&[("DB_NAME", "q"), ("DB_SSL", "maybe")], "DB_SSL=maybe must be true or false"),
            (&[("DB_NAME", "q"), ("DB_POOL_MAX", "0")], "DB_POOL_MAX=0 is not a positive number"),
            (&[("DATABASE_URL", "postgres://app:hunter2@db/jobs")], "DATABASE_URL=postgres://app:***@db/jobs is not a URL of the form mysql://… or mariadb://…"),
        ];
        for (pairs, want) in cases {
            let err = MysqlConfig::from_lookup(lookup(pairs)).unwrap_err();
            assert!(matches!(err, ConfigError::Variable { .. }), "{err:?}");
            assert_eq!(&err.to_string(), want, "for {pairs:?}");
        }
        let e = MysqlConfig::from_lookup(lookup(&[("DATABASE_URL", "mysql://u:hunter2@h:x/db")]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("DATABASE_URL=mysql://u:***@h:x/db "), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn ssl_pool_and_secrets_from_variables() {
        let c = MysqlConfig::from_lookup(lookup(&[
            ("DB_HOST", "db"),
            ("DB_NAME", "jobs"),
            ("DB_USER", "app"),
            ("DB_PASS", "secret"),
            ("DB_SSL", "true"),
            ("DB_SSL_CA", "/etc/ca.pem"),
            ("DB_POOL_MAX", "7"),
            ("DB_PORT", ""),
        ]))
        .unwrap();
        assert_eq!(c.pool_max, 7);
        assert_eq!(c.opts.tcp_port(), 3306, "empty is unset");
        assert!(c.opts.ssl_opts().is_some());
        assert_eq!(c.redacted_url(), "mysql://app:***@db:3306/jobs");
        let c = MysqlConfig::from_lookup(lookup(&[(
            "DATABASE_URL",
            "mariadb://root@127.0.0.1:3307/test",
        )]))
        .unwrap();
        assert_eq!(c.redacted_url(), "mysql://root@127.0.0.1:3307/test");
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn tls_without_the_feature_is_a_clear_error() {
        let c = MysqlConfig::from_lookup(lookup(&[
            ("DB_HOST", "h"),
            ("DB_NAME", "q"),
            ("DB_SSL", "true"),
        ]))
        .unwrap();
        assert!(matches!(c.pool_opts(), Err(ConfigError::TlsUnavailable)));
    }
}
