//! The connection pool: deadpool over multiplexed connections, and running
//! commands with script reload on NOSCRIPT.

use std::time::Duration;

use deadpool::managed::{self, Metrics, PoolConfig, RecycleResult, Timeouts};
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, ErrorKind, FromRedisValue, Pipeline, RedisError,
};
use redis::{ServerErrorKind, Value};
use routemq_core::DriverError;

use crate::error::{is_connection_error, redis_error};
use crate::scripts::Scripts;
use crate::{ConfigError, RedisConfig, NAME};

/// deadpool-redis's manager with a checked create and a cheaper recycle.
///
/// A new connection must answer a PING within the connect timeout: a server
/// that accepts TCP and never answers (a hung host) is then an error naming the
/// server within seconds, instead of a first command that waits out the
/// response timeout. A connection used within the last two seconds is handed out
/// without the recycle PING (a broken one is detached from the pool by
/// [`Pool::run`] as soon as a command fails on it).
#[derive(Debug)]
pub(crate) struct Manager {
    inner: deadpool_redis::Manager,
    connect_timeout: Duration,
    /// The server as a URL without credentials, for error messages.
    target: String,
}

impl Manager {
    async fn connect_and_ping(&self) -> Result<MultiplexedConnection, RedisError> {
        let mut conn = managed::Manager::create(&self.inner).await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(conn)
    }
}

impl managed::Manager for Manager {
    type Type = MultiplexedConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        match tokio::time::timeout(self.connect_timeout, self.connect_and_ping()).await {
            Ok(res) => res,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "cannot reach Redis at {}: no answer within {:?}",
                    self.target, self.connect_timeout
                ),
            )
            .into()),
        }
    }

    async fn recycle(
        &self,
        conn: &mut MultiplexedConnection,
        metrics: &Metrics,
    ) -> RecycleResult<RedisError> {
        if metrics.last_used() < Duration::from_secs(2) {
            return Ok(());
        }
        self.inner.recycle(conn, metrics).await
    }
}

/// What a call sends: one command or a pipeline.
pub(crate) enum Request<'a> {
    Cmd(&'a Cmd),
    Pipe(&'a Pipeline),
}

/// The pool plus the scripts it runs.
#[derive(Debug)]
pub(crate) struct Pool {
    pool: managed::Pool<Manager>,
    scripts: Scripts,
}

impl Pool {
    pub fn new(config: &RedisConfig) -> Result<Self, ConfigError> {
        let conn_config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.response_timeout));
        let inner = deadpool_redis::Manager::new_with_config(config.info.clone(), conn_config)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let mut pool_config = PoolConfig::new(config.pool_size);
        pool_config.timeouts = Timeouts {
            wait: Some(config.connect_timeout),
            // `Manager::create` bounds itself, with a message naming the server.
            create: None,
            recycle: Some(config.connect_timeout),
        };
        let manager = Manager {
            inner,
            connect_timeout: config.connect_timeout,
            target: target(config.info.addr()),
        };
        let pool = managed::Pool::builder(manager)
            .config(pool_config)
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| ConfigError::Pool(e.to_string()))?;
        Ok(Pool {
            pool,
            scripts: Scripts::new(),
        })
    }

    pub fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    async fn get(&self) -> Result<managed::Object<Manager>, DriverError> {
        self.pool.get().await.map_err(|e| match e {
            managed::PoolError::Backend(e) => redis_error(e),
            other => DriverError::unavailable(NAME, other),
        })
    }

    /// Runs `req`. On NOSCRIPT (a restarted or flushed server) loads every script
    /// and runs it once more: a NOSCRIPT reply means that script did not run.
    pub async fn run<T: FromRedisValue>(&self, req: Request<'_>) -> Result<T, DriverError> {
        let mut conn = self.get().await?;
        let mut res = send::<T>(&mut conn, &req).await;
        if matches!(&res, Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript)) {
            let mut load = redis::pipe();
            for script in self.scripts.all() {
                load.add_command(script.load_cmd()).ignore();
            }
            res = match load.query_async::<Value>(&mut *conn).await {
                Ok(_) => send::<T>(&mut conn, &req).await,
                Err(e) => Err(e),
            };
        }
        res.map_err(|e| {
            if is_connection_error(&e) {
                drop(managed::Object::take(conn));
            }
            redis_error(e)
        })
    }

    /// Runs one command.
    pub async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, DriverError> {
        self.run(Request::Cmd(cmd)).await
    }

    /// Runs a pipeline.
    pub async fn pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, DriverError> {
        self.run(Request::Pipe(pipe)).await
    }
}

/// `addr` as a URL without credentials: `redis://host:port` and the like.
fn target(addr: &ConnectionAddr) -> String {
    match addr {
        ConnectionAddr::Tcp(..) => format!("redis://{addr}"),
        ConnectionAddr::TcpTls { .. } => format!("rediss://{addr}"),
        ConnectionAddr::Unix(_) => format!("redis+unix://{addr}"),
        _ => addr.to_string(),
    }
}

async fn send<T: FromRedisValue>(
    conn: &mut MultiplexedConnection,
    req: &Request<'_>,
) -> Result<T, RedisError> {
    match req {
        Request::Cmd(cmd) => cmd.query_async(conn).await,
        Request::Pipe(pipe) => pipe.query_async(conn).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that accepts TCP and never answers: the first command fails
    /// within the connect timeout, naming the server, and does not wait out the
    /// (much longer) response timeout.
    #[tokio::test]
    async fn a_silent_server_is_unavailable_within_the_connect_timeout() {
        let server = routemq_testkit::SilentServer::start().unwrap();
        let port = server.port();
        let config = RedisConfig::from_parts("127.0.0.1", port, 0)
            .unwrap()
            .connect_timeout(Duration::from_millis(300))
            .response_timeout(Duration::from_secs(60));
        let pool = Pool::new(&config).unwrap();
        let started = std::time::Instant::now();
        let err = pool.cmd::<String>(&redis::cmd("PING")).await.unwrap_err();
        let took = started.elapsed();
        drop(server);
        assert!(matches!(err, DriverError::Unavailable { .. }), "{err}");
        let text = err.to_string();
        let expected =
            format!("cannot reach Redis at redis://127.0.0.1:{port}: no answer within 300ms");
        assert!(text.contains(&expected), "{text}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }
}
