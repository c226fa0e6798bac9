//! Connection and layout settings.

use std::time::Duration;

use redis::{ConnectionInfo, IntoConnectionInfo};

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
            other => Err(ConfigError::Invalid(format!(
                "unknown Redis key mode {other:?}; use plain or cluster"
            ))),
        }
    }
}

/// Bad Redis settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
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
        }
    }

    /// From a URL: `redis://[[user]:password@]host[:port][/db]`, `rediss://…` (TLS,
    /// with the `tls` feature) or `redis+unix:///path`.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        let info = url
            .into_connection_info()
            .map_err(|e| ConfigError::Invalid(format!("Redis URL {:?}: {e}", redact(url))))?;
        Ok(Self::with_info(info))
    }

    /// From a host, port and database number.
    pub fn from_parts(host: &str, port: u16, db: i64) -> Result<Self, ConfigError> {
        let info = (host, port)
            .into_connection_info()
            .map_err(|e| ConfigError::Invalid(format!("Redis host {host:?}: {e}")))?;
        Ok(Self::with_info(info).db(db))
    }

    /// From the environment, with the seed's names: `REDIS_URL`, or else
    /// `REDIS_HOST` (default 127.0.0.1), `REDIS_PORT` (6379), `REDIS_DB` (0), then
    /// `REDIS_USERNAME` and `REDIS_PASSWORD` (both optional; they override the
    /// URL's). `REDIS_PREFIX` and `REDIS_KEY_MODE` (`plain`/`cluster`) are optional.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut config = match var("REDIS_URL") {
            Some(url) => Self::from_url(&url)?,
            None => {
                let host = var("REDIS_HOST").unwrap_or_else(|| "127.0.0.1".to_owned());
                let port = match var("REDIS_PORT") {
                    Some(p) => p.parse().map_err(|_| {
                        ConfigError::Invalid(format!("REDIS_PORT={p:?} is not a port number"))
                    })?,
                    None => 6379,
                };
                let db = match var("REDIS_DB") {
                    Some(d) => d.parse().map_err(|_| {
                        ConfigError::Invalid(format!("REDIS_DB={d:?} is not a database number"))
                    })?,
                    None => 0,
                };
                Self::from_parts(&host, port, db)?
            }
        };
        if let Some(user) = var("REDIS_USERNAME") {
            config = config.username(&user);
        }
        if let Some(password) = var("REDIS_PASSWORD") {
            config = config.password(&password);
        }
        if let Some(prefix) = var("REDIS_PREFIX") {
            config = config.prefix(prefix);
        }
        if let Some(mode) = var("REDIS_KEY_MODE") {
            config = config.key_mode(mode.parse()?);
        }
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
}

/// The URL with any password replaced, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
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
