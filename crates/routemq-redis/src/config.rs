//! Connection and layout settings.

use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};
use routemq_core::redact_url;

/// How queue names appear in keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyMode {
    /// `routemq:queue:{q}` with the name as it is: the seed's key names. The default.
    #[default]
    Plain,
    /// `routemq:queue:{{q}}` with the name in a hash tag, so every key of one queue
    /// (ready, delayed, reserved, bodies, failed list) hashes to one Redis Cluster
    /// slot and each script touches a single slot.
    Cluster,
}

impl std::str::FromStr for KeyMode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "plain" => Ok(KeyMode::Plain),
            "cluster" => Ok(KeyMode::Cluster),
            _ => Err(ConfigError::Variable {
                var: "REDIS_KEY_MODE",
                value: s.to_owned(),
                reason: "must be plain or cluster".into(),
            }),
        }
    }
}

/// Bad Redis settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable (or other [`RedisConfig::from_lookup`] key) holds a
    /// value that cannot be used: `REDIS_PORT=six is not a port number (1-65535)`.
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
    /// A URL or setting that cannot be used.
    #[error("invalid Redis configuration: {0}")]
    Invalid(String),
    /// The connection pool could not be built.
    #[error("cannot build the Redis connection pool: {0}")]
    Pool(String),
}

/// Everything needed to reach Redis and lay out keys.
///
/// ```
/// use routemq_redis::{KeyMode, RedisConfig};
/// let config = RedisConfig::from_url("redis://127.0.0.1:6379/0")
///     .unwrap()
///     .prefix("myapp")
///     .key_mode(KeyMode::Cluster);
/// assert_eq!(config.key_prefix(), "myapp");
/// ```
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub(crate) info: ConnectionInfo,
    pub(crate) prefix: String,
    pub(crate) key_mode: KeyMode,
    pub(crate) pool_size: usize,
    pub(crate) max_payload: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    /// A cluster's seed nodes (see [`RedisConfig::cluster`]); `None` for one
    /// server.
    pub(crate) cluster_nodes: Option<Vec<ConnectionInfo>>,
}

impl RedisConfig {
    /// The default key prefix, giving the seed's key names.
    pub const DEFAULT_PREFIX: &'static str = "routemq";
    /// The default payload limit: 64 MiB (Redis itself allows 512 MiB strings).
    pub const DEFAULT_MAX_PAYLOAD: usize = 64 << 20;
    /// The default number of pooled connections.
    pub const DEFAULT_POOL_SIZE: usize = 16;

    fn with_info(info: ConnectionInfo) -> Self {
        // No CLIENT SETINFO on connect: it does not exist before Redis 7.2.
        let redis = info.redis_settings().clone().set_skip_set_lib_name();
        RedisConfig {
            info: info.set_redis_settings(redis),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            key_mode: KeyMode::Plain,
            pool_size: Self::DEFAULT_POOL_SIZE,
            max_payload: Self::DEFAULT_MAX_PAYLOAD,
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(30),
            cluster_nodes: None,
        }
    }

    /// A Redis Cluster, from seed nodes: `host:port` or `redis://host:port`
    /// each (one reachable node is enough; the client learns the rest and the
    /// slot map from it, and follows `MOVED`/`ASK` replies when slots move).
    /// Keys are laid out in [`KeyMode::Cluster`] (each queue's keys in one
    /// slot); database 0 only. Credentials are set as for one server
    /// ([`username`](Self::username), [`password`](Self::password)) and used on
    /// every node. TLS to a cluster is not supported.
    ///
    /// ```
    /// use routemq_redis::{KeyMode, RedisConfig};
    /// let config = RedisConfig::cluster(["cache-a:7000", "cache-b:7000"]).unwrap();
    /// assert_eq!(config.mode(), KeyMode::Cluster);
    /// assert_eq!(config.redacted_url(), "redis-cluster://cache-a:7000,cache-b:7000");
    /// ```
    pub fn cluster<S: AsRef<str>>(nodes: impl IntoIterator<Item = S>) -> Result<Self, ConfigError> {
        let mut infos = Vec::new();
        for node in nodes {
            let node = node.as_ref().trim();
            if node.is_empty() {
                continue;
            }
            infos.push(cluster_node(node).map_err(|why| {
                ConfigError::Invalid(format!("Redis cluster node {:?} {why}", redact_url(node)))
            })?);
        }
        let Some(first) = infos.first().cloned() else {
            return Err(ConfigError::Invalid(
                "a Redis cluster needs at least one node (host:port)".into(),
            ));
        };
        let mut config = Self::with_info(first);
        config.key_mode = KeyMode::Cluster;
        config.cluster_nodes = Some(infos);
        Ok(config)
    }

    /// True for a cluster ([`RedisConfig::cluster`], `REDIS_CLUSTER_NODES`).
    pub fn is_cluster(&self) -> bool {
        self.cluster_nodes.is_some()
    }

    /// The server or the cluster's seed nodes as a URL without credentials,
    /// for error messages.
    pub(crate) fn target(&self) -> String {
        match &self.cluster_nodes {
            None => crate::pool::target(self.info.addr()),
            Some(nodes) => format!(
                "redis-cluster://{}",
                nodes
                    .iter()
                    .map(|n| n.addr().to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// From a URL: `redis://[[user]:password@]host[:port][/db]`, `rediss://…` (TLS,
    /// with the `tls` feature) or `redis+unix:///path`.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let info = url
            .into_connection_info()
            .map_err(|e| ConfigError::Invalid(format!("Redis URL {:?}: {e}", redact_url(url))))?;
        Ok(Self::with_info(info))
    }

    /// From a host, port and database number.
    pub fn from_parts(host: &str, port: u16, db: i64) -> Result<Self, ConfigError> {
        let info = (host, port)
            .into_connection_info()
            .map_err(|e| ConfigError::Invalid(format!("Redis host {host:?}: {e}")))?;
        Ok(Self::with_info(info).db(db))
    }

    /// Every variable [`from_lookup`](Self::from_lookup) reads.
    pub const VARIABLES: &'static [&'static str] = &[
        "REDIS_URL",
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_DB",
        "REDIS_USERNAME",
        "REDIS_PASSWORD",
        "REDIS_PREFIX",
        "REDIS_KEY_MODE",
        "REDIS_CLUSTER_NODES",
    ];
    /// The variables among [`VARIABLES`](Self::VARIABLES) whose values are never
    /// printed.
    pub const SECRET_VARIABLES: &'static [&'static str] = &["REDIS_PASSWORD"];

    /// From the process environment: [`from_lookup`](Self::from_lookup) over
    /// `std::env::var`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any source of variables (the environment, a `.env` file read by the
    /// caller, command-line flags), with the seed's names. Empty values count as
    /// unset.
    ///
    /// | Variable | Default | Rule |
    /// |---|---|---|
    /// | `REDIS_URL` | — | `redis://`, `rediss://` (with the `tls` feature), `redis+unix://` or `unix://`; when set, the next three are ignored |
    /// | `REDIS_HOST` | `127.0.0.1` | a host name or address, nothing else |
    /// | `REDIS_PORT` | `6379` | 1–65535 (0 is refused) |
    /// | `REDIS_DB` | `0` | a database number, 0 or more (an `i64`, as [`db`](Self::db)) |
    /// | `REDIS_USERNAME` | — | ACL user; overrides the URL's |
    /// | `REDIS_PASSWORD` | — | overrides the URL's; never printed |
    /// | `REDIS_PREFIX` | `routemq` | no braces or spaces |
    /// | `REDIS_KEY_MODE` | `plain` | `plain` or `cluster` |
    /// | `REDIS_CLUSTER_NODES` | — | a Redis Cluster's seed nodes, `host:port,host:port,…` (see [`cluster`](Self::cluster)); when set, `REDIS_URL`, `REDIS_HOST` and `REDIS_PORT` are ignored, `REDIS_DB` must be 0 and `REDIS_KEY_MODE` `cluster` |
    ///
    /// A bad value is a [`ConfigError::Variable`] naming the variable, its value
    /// (passwords hidden) and what is wrong.
    ///
    /// ```
    /// use routemq_redis::RedisConfig;
    /// let vars = |k: &str| match k {
    ///     "REDIS_HOST" => Some("cache.local".to_owned()),
    ///     "REDIS_DB" => Some("2".to_owned()),
    ///     _ => None,
    /// };
    /// let config = RedisConfig::from_lookup(vars).unwrap();
    /// assert_eq!(config.redacted_url(), "redis://cache.local:6379/2");
    /// let err = RedisConfig::from_lookup(|k| (k == "REDIS_PORT").then(|| "0".to_owned()))
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), "REDIS_PORT=0 is not a port number (1-65535)");
    /// ```
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let mut config = if let Some(nodes) = var("REDIS_CLUSTER_NODES") {
            Self::from_cluster_variable(&nodes, &var)?
        } else {
            match var("REDIS_URL") {
                Some(url) => {
                    let url = url.trim();
                    let schemes = ["redis", "rediss", "redis+unix", "unix"];
                    let scheme_ok = schemes
                        .iter()
                        .any(|s| url.starts_with(&format!("{s}://")) && url.len() > s.len() + 3);
                    if !scheme_ok {
                        return Err(bad(
                        "REDIS_URL",
                        url,
                        "is not a URL of the form redis://… or rediss://… or redis+unix://… or unix://…",
                    ));
                    }
                    let info = url.into_connection_info().map_err(|e| {
                        bad("REDIS_URL", url, &format!("is not a usable Redis URL: {e}"))
                    })?;
                    Self::with_info(info)
                }
                None => {
                    let host = var("REDIS_HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
                    let host = routemq_core::check_host(&host)
                        .map_err(|why| bad("REDIS_HOST", &host, why))?;
                    let port = match var("REDIS_PORT") {
                        Some(p) => routemq_core::parse_port(&p)
                            .map_err(|why| bad("REDIS_PORT", &p, why))?,
                        None => 6379,
                    };
                    let db = match var("REDIS_DB") {
                        Some(d) => match d.trim().parse::<i64>() {
                            Ok(db) if db >= 0 => db,
                            _ => {
                                return Err(bad(
                                    "REDIS_DB",
                                    &d,
                                    "is not a database number (0, 1, 2, …)",
                                ))
                            }
                        },
                        None => 0,
                    };
                    Self::from_parts(host, port, db)
                        .map_err(|e| bad("REDIS_HOST", host, &format!("cannot be used: {e}")))?
                }
            }
        };
        if let Some(user) = var("REDIS_USERNAME") {
            config = config.username(&user);
        }
        if let Some(password) = var("REDIS_PASSWORD") {
            config = config.password(&password);
        }
        if let Some(prefix) = var("REDIS_PREFIX") {
            if prefix.contains(['{', '}', ' ']) {
                return Err(bad(
                    "REDIS_PREFIX",
                    &prefix,
                    "must not contain braces or spaces",
                ));
            }
            config = config.prefix(prefix);
        }
        if let Some(mode) = var("REDIS_KEY_MODE") {
            let mode: KeyMode = mode.trim().parse()?;
            if config.is_cluster() && mode == KeyMode::Plain {
                return Err(bad(
                    "REDIS_KEY_MODE",
                    "plain",
                    "cannot be used with REDIS_CLUSTER_NODES: a cluster needs each queue's keys \
                     in one slot; remove it or set it to cluster",
                ));
            }
            config = config.key_mode(mode);
        }
        Ok(config)
    }

    /// The cluster part of [`from_lookup`](Self::from_lookup).
    fn from_cluster_variable(
        nodes: &str,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if let Some(db) = var("REDIS_DB") {
            if db.trim() != "0" {
                return Err(bad(
                    "REDIS_DB",
                    &db,
                    "cannot be used with REDIS_CLUSTER_NODES: a cluster has database 0 only",
                ));
            }
        }
        let mut infos = Vec::new();
        for node in nodes.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let info = cluster_node(node).map_err(|why| {
                bad(
                    "REDIS_CLUSTER_NODES",
                    nodes,
                    &format!("has {node:?}, which {why}"),
                )
            })?;
            infos.push(info);
        }
        if infos.is_empty() {
            return Err(bad(
                "REDIS_CLUSTER_NODES",
                nodes,
                "names no node: give host:port,host:port,…",
            ));
        }
        let mut config = Self::with_info(infos[0].clone());
        config.key_mode = KeyMode::Cluster;
        config.cluster_nodes = Some(infos);
        Ok(config)
    }

    /// Selects a database number.
    pub fn db(mut self, db: i64) -> Self {
        let redis = self.info.redis_settings().clone().set_db(db);
        self.info = self.info.set_redis_settings(redis);
        self
    }

    /// Sets the ACL user name (Redis 6+; with only a password, AUTH uses `default`).
    pub fn username(mut self, user: &str) -> Self {
        let redis = self.info.redis_settings().clone().set_username(user);
        self.info = self.info.set_redis_settings(redis);
        self
    }

    /// Sets the password sent with AUTH.
    pub fn password(mut self, password: &str) -> Self {
        let redis = self.info.redis_settings().clone().set_password(password);
        self.info = self.info.set_redis_settings(redis);
        self
    }

    /// Sets the key prefix (default `routemq`). Tests give each run its own prefix
    /// to share one server.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the key mode (default [`KeyMode::Plain`]).
    pub fn key_mode(mut self, mode: KeyMode) -> Self {
        self.key_mode = mode;
        self
    }

    /// Sets the most pooled connections (default 16; at least 1).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Sets the payload limit in bytes (default 64 MiB).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// Sets how long opening a connection may take, up to the server's answer to a
    /// first PING (default 5 s). A server that accepts TCP and never answers is
    /// `Unavailable` ("cannot reach Redis at …: no answer within 5s") after this
    /// long. Also bounds waiting for a free pooled connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long one command may take before the connection is given up as
    /// broken (default 30 s; blocking waits use their own bound).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The key mode.
    pub fn mode(&self) -> KeyMode {
        self.key_mode
    }

    /// The database number.
    pub fn database(&self) -> i64 {
        self.info.redis_settings().db()
    }

    /// Where these settings connect, as a URL with the password shown as `***`
    /// (`redis://:***@cache:6379/0`): safe to print.
    pub fn redacted_url(&self) -> String {
        let settings = self.info.redis_settings();
        if self.cluster_nodes.is_some() {
            let auth = match (settings.username(), settings.password()) {
                (Some(user), Some(_)) => format!("{user}:***@"),
                (None, Some(_)) => ":***@".to_owned(),
                (Some(user), None) => format!("{user}@"),
                (None, None) => String::new(),
            };
            return self.target().replacen("://", &format!("://{auth}"), 1);
        }
        let auth = match (settings.username(), settings.password()) {
            (Some(user), Some(_)) => format!("{user}:***@"),
            (None, Some(_)) => ":***@".to_owned(),
            (Some(user), None) => format!("{user}@"),
            (None, None) => String::new(),
        };
        let db = settings.db();
        match self.info.addr() {
            ConnectionAddr::Tcp(host, port) => format!("redis://{auth}{host}:{port}/{db}"),
            ConnectionAddr::TcpTls { host, port, .. } => {
                format!("rediss://{auth}{host}:{port}/{db}")
            }
            ConnectionAddr::Unix(path) => {
                let pass = if settings.password().is_some() {
                    "&pass=***"
                } else {
                    ""
                };
                format!("redis+unix://{}?db={db}{pass}", path.display())
            }
            other => format!("{other} (database {db})"),
        }
    }
}

/// One cluster seed node, `host:port` or `redis://[user:password@]host:port`:
/// its address, or why it cannot be used.
fn cluster_node(node: &str) -> Result<ConnectionInfo, String> {
    if node.contains("://") {
        if !node.starts_with("redis://") {
            return Err(
                "is not host:port or redis://host:port (TLS to a cluster is not supported)".into(),
            );
        }
        return node
            .into_connection_info()
            .map_err(|e| format!("is not a usable Redis URL: {e}"));
    }
    let (host, port) = node
        .rsplit_once(':')
        .ok_or_else(|| "has no port: give host:port".to_owned())?;
    let host = routemq_core::check_host(host).map_err(|why| format!("has a bad host: {why}"))?;
    let port = routemq_core::parse_port(port).map_err(|why| format!("has a bad port: {why}"))?;
    (host, port)
        .into_connection_info()
        .map_err(|e| format!("cannot be used: {e}"))
}

/// A [`ConfigError::Variable`] for `var`, its value shown without secrets.
fn bad(var: &'static str, value: &str, reason: &str) -> ConfigError {
    let value = if RedisConfig::SECRET_VARIABLES.contains(&var) {
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

    #[test]
    fn url_parts_are_read() {
        let c = RedisConfig::from_url("redis://alice:s3cret@10.0.0.5:6380/3").unwrap();
        assert_eq!(c.database(), 3);
        assert_eq!(c.info.redis_settings().username(), Some("alice"));
        assert_eq!(c.info.redis_settings().password(), Some("s3cret"));
        assert_eq!(c.key_prefix(), "routemq");
        assert_eq!(c.mode(), KeyMode::Plain);
    }

    #[test]
    fn bad_url_is_reported_without_the_password() {
        let err = RedisConfig::from_url("http://bob:hunter2@host/0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid Redis configuration"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn tls_urls_are_accepted_with_the_tls_feature() {
        let c = RedisConfig::from_url("rediss://:pw@redis.example:6380/1").unwrap();
        assert_eq!(c.database(), 1);
        assert!(matches!(
            c.info.addr(),
            redis::ConnectionAddr::TcpTls { host, port: 6380, .. } if host == "redis.example"
        ));
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn tls_urls_need_the_tls_feature() {
        let err = RedisConfig::from_url("rediss://redis.example:6380/0").unwrap_err();
        assert!(
            err.to_string().contains("invalid Redis configuration"),
            "{err}"
        );
    }

    #[test]
    fn key_mode_parses() {
        assert_eq!("cluster".parse::<KeyMode>().unwrap(), KeyMode::Cluster);
        assert_eq!("Plain".parse::<KeyMode>().unwrap(), KeyMode::Plain);
        assert!("sharded".parse::<KeyMode>().is_err());
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn lookup_reads_parts_with_defaults_and_overrides() {
        let c = RedisConfig::from_lookup(vars(&[])).unwrap();
        assert_eq!(c.redacted_url(), "redis://127.0.0.1:6379/0");
        let c = RedisConfig::from_lookup(vars(&[
            ("REDIS_HOST", "cache.local"),
            ("REDIS_PORT", "6380"),
            ("REDIS_DB", "2"),
            ("REDIS_PASSWORD", "p@ss:w/rd"),
            ("REDIS_PREFIX", "app"),
            ("REDIS_KEY_MODE", "Cluster"),
            ("REDIS_USERNAME", ""),
        ]))
        .unwrap();
        assert_eq!(c.redacted_url(), "redis://:***@cache.local:6380/2");
        assert_eq!(c.info.redis_settings().password(), Some("p@ss:w/rd"));
        assert_eq!(c.info.redis_settings().username(), None, "empty is unset");
        assert_eq!(c.key_prefix(), "app");
        assert_eq!(c.mode(), KeyMode::Cluster);
    }

    #[test]
    fn lookup_url_wins_and_auth_variables_override_it() {
        let c = RedisConfig::from_lookup(vars(&[
            ("REDIS_URL", "redis://alice:old@h:6379/1"),
            ("REDIS_HOST", "ignored"),
            ("REDIS_PORT", "0"),
            ("REDIS_PASSWORD", "new"),
        ]))
        .unwrap();
        assert_eq!(c.redacted_url(), "redis://alice:***@h:6379/1");
        assert_eq!(c.info.redis_settings().password(), Some("new"));
    }

    #[test]
    fn lookup_errors_name_the_variable_and_hide_secrets() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("REDIS_PORT", "abc")], "REDIS_PORT=abc is not a port number (1-65535)"),
            (&[("REDIS_PORT", "70000")], "REDIS_PORT=70000 is not a port number (1-65535)"),
            (&[("REDIS_PORT", "0")], "REDIS_PORT=0 is not a port number (1-65535)"),
            (&[("REDIS_DB", "-1")], "REDIS_DB=-1 is not a database number (0, 1, 2, …)"),
            (&[("REDIS_DB", "one")], "REDIS_DB=one is not a database number (0, 1, 2, …)"),
            (&[("REDIS_KEY_MODE", "sharded")], "REDIS_KEY_MODE=sharded must be plain or cluster"),
            (&[("REDIS_PREFIX", "a{b}")], "REDIS_PREFIX=a{b} must not contain braces or spaces"),
            (&[("REDIS_HOST", "redis://h:1")], "REDIS_HOST=redis://h:1 is not a host name or address (give only the host; the port has its own variable)"),
            (&[("REDIS_URL", "http://x:pw@h")], "REDIS_URL=http://x:***@h is not a URL of the form redis://… or rediss://… or redis+unix://… or unix://…"),
            (&[("REDIS_CLUSTER_NODES", "a:7000,b")], "REDIS_CLUSTER_NODES=a:7000,b has \"b\", which has no port: give host:port"),
            (&[("REDIS_CLUSTER_NODES", "a:0")], "REDIS_CLUSTER_NODES=a:0 has \"a:0\", which has a bad port: is not a port number (1-65535)"),
            (&[("REDIS_CLUSTER_NODES", "rediss://a:1")], "REDIS_CLUSTER_NODES=rediss://a:1 has \"rediss://a:1\", which is not host:port or redis://host:port (TLS to a cluster is not supported)"),
            (&[("REDIS_CLUSTER_NODES", " , ")], "REDIS_CLUSTER_NODES=, names no node: give host:port,host:port,…"),
            (&[("REDIS_CLUSTER_NODES", "a:1"), ("REDIS_DB", "2")], "REDIS_DB=2 cannot be used with REDIS_CLUSTER_NODES: a cluster has database 0 only"),
            (&[("REDIS_CLUSTER_NODES", "a:1"), ("REDIS_KEY_MODE", "plain")], "REDIS_KEY_MODE=plain cannot be used with REDIS_CLUSTER_NODES: a cluster needs each queue's keys in one slot; remove it or set it to cluster"),
        ];
        for (pairs, want) in cases {
            let err = RedisConfig::from_lookup(vars(pairs)).unwrap_err();
            assert!(matches!(err, ConfigError::Variable { .. }), "{err:?}");
            assert_eq!(&err.to_string(), want, "for {pairs:?}");
        }
        let err = RedisConfig::from_lookup(vars(&[("REDIS_URL", "redis://:hunter2@h:x/0")]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("REDIS_URL=redis://:***@h:x/0 "), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn cluster_nodes_give_a_cluster_in_cluster_key_mode() {
        let c = RedisConfig::from_lookup(vars(&[
            (
                "REDIS_CLUSTER_NODES",
                " cache-a:7000, redis://cache-b:7001 ,",
            ),
            ("REDIS_PASSWORD", "s3cret"),
            ("REDIS_HOST", "ignored.example"),
        ]))
        .unwrap();
        assert!(c.is_cluster());
        assert_eq!(c.mode(), KeyMode::Cluster);
        assert_eq!(
            c.redacted_url(),
            "redis-cluster://:***@cache-a:7000,cache-b:7001"
        );
        assert_eq!(c.cluster_nodes.as_ref().map(Vec::len), Some(2));
        let err = RedisConfig::cluster(Vec::<String>::new()).unwrap_err();
        assert!(err.to_string().contains("at least one node"), "{err}");
        let plain = RedisConfig::cluster(["cache-a:7000"])
            .unwrap()
            .key_mode(KeyMode::Plain);
        let err = crate::RedisDriver::new(plain).unwrap_err().to_string();
        assert!(err.contains("needs KeyMode::Cluster"), "{err}");
    }

    #[test]
    fn parts_set_database_and_auth() {
        let c = RedisConfig::from_parts("localhost", 6379, 2)
            .unwrap()
            .username("u")
            .password("p");
        assert_eq!(c.database(), 2);
        assert_eq!(c.info.redis_settings().username(), Some("u"));
        assert_eq!(c.info.redis_settings().password(), Some("p"));
    }
}
