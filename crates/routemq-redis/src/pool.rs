//! The connection pool: deadpool over multiplexed connections to one server, or
//! over cluster connections (the `redis` crate's cluster client, which follows
//! `MOVED`/`ASK` replies and retries `TRYAGAIN`), and running commands with
//! script reload on NOSCRIPT. Transactions, which the cluster client does not
//! redirect, are run by `transaction.rs`.

use std::time::Duration;

use deadpool::managed::{self, Metrics, PoolConfig, RecycleResult, Timeouts};
use deadpool_redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, ErrorKind, FromRedisValue, Pipeline, RedisError,
    RedisFuture,
};
use redis::{ServerErrorKind, Value};
use routemq_core::DriverError;

use crate::error::{bad_reply, is_connection_error, redis_error};
use crate::scripts::Scripts;
use crate::slot_pipeline::{ClusterRequest, SlotPipeline};
use crate::{ConfigError, RedisConfig, NAME};

/// A connection to one server or to a cluster; either runs any command.
pub(crate) enum Conn {
    /// One server, multiplexed.
    Node(MultiplexedConnection),
    /// A cluster: routes each command (each pipeline) by its first key's slot.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conn::Node(_) => "Conn::Node",
            Conn::Cluster(_) => "Conn::Cluster",
        })
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// How new connections are made.
pub(crate) enum Connector {
    /// deadpool-redis's manager for one server.
    Node(deadpool_redis::Manager),
    /// The cluster client (seed nodes, credentials, timeouts).
    Cluster(ClusterClient),
}

impl Connector {
    /// The connector for `config`; `blocking` gives connections without a
    /// response timeout (for `BLPOP`).
    pub fn new(config: &RedisConfig, blocking: bool) -> Result<Self, ConfigError> {
        let response_timeout = (!blocking).then_some(config.response_timeout);
        match &config.cluster_nodes {
            None => {
                let conn_config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(config.connect_timeout))
                    .set_response_timeout(response_timeout);
                deadpool_redis::Manager::new_with_config(config.info.clone(), conn_config)
                    .map(Connector::Node)
                    .map_err(|e| ConfigError::Invalid(e.to_string()))
            }
            Some(nodes) => {
                let settings = config.info.redis_settings();
                let mut builder = ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(config.connect_timeout);
                if let Some(timeout) = response_timeout {
                    builder = builder.response_timeout(timeout);
                }
                if let Some(user) = settings.username() {
                    builder = builder.username(user);
                }
                if let Some(password) = settings.password() {
                    builder = builder.password(password);
                }
                builder
                    .build()
                    .map(Connector::Cluster)
                    .map_err(|e| ConfigError::Invalid(format!("Redis cluster nodes: {e}")))
            }
        }
    }

    /// Opens a connection (for a cluster: learns the slots and connects to the
    /// masters).
    pub async fn connect(&self) -> Result<Conn, RedisError> {
        match self {
            Connector::Node(m) => Ok(Conn::Node(managed::Manager::create(m).await?)),
            Connector::Cluster(c) => Ok(Conn::Cluster(c.get_async_connection().await?)),
        }
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Node(m) => f.debug_tuple("Node").field(m).finish(),
            Connector::Cluster(_) => f.write_str("Cluster"),
        }
    }
}

/// deadpool's manager with a checked create and a cheaper recycle.
///
/// A new connection must answer a PING within the connect timeout: a server
/// that accepts TCP and never answers (a hung host) is then an error naming the
/// server within seconds, instead of a first command that waits out the
/// response timeout. A connection used within the last two seconds is handed out
/// without the recycle PING (a broken one is detached from the pool by
/// [`Pool::run`] as soon as a command fails on it).
#[derive(Debug)]
pub(crate) struct Manager {
    connector: Connector,
    connect_timeout: Duration,
    /// The server (or the cluster's seed nodes) as a URL without credentials,
    /// for error messages.
    target: String,
}

impl Manager {
    async fn connect_and_ping(&self) -> Result<Conn, RedisError> {
        let mut conn = self.connector.connect().await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(conn)
    }
}

impl managed::Manager for Manager {
    type Type = Conn;
    type Error = RedisError;

    async fn create(&self) -> Result<Conn, RedisError> {
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

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<RedisError> {
        if metrics.last_used() < Duration::from_secs(2) {
            return Ok(());
        }
        let _: String = redis::cmd("PING").query_async(conn).await?;
        Ok(())
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
    /// True for a cluster: pipelines are split by slot, scripts loaded on every
    /// master.
    cluster: bool,
}

impl Pool {
    pub fn new(config: &RedisConfig) -> Result<Self, ConfigError> {
        let connector = Connector::new(config, false)?;
        let mut pool_config = PoolConfig::new(config.pool_size);
        pool_config.timeouts = Timeouts {
            wait: Some(config.connect_timeout),
            // `Manager::create` bounds itself, with a message naming the server.
            create: None,
            recycle: Some(config.connect_timeout),
        };
        let manager = Manager {
            connector,
            connect_timeout: config.connect_timeout,
            target: config.target(),
        };
        let pool = managed::Pool::builder(manager)
            .config(pool_config)
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| ConfigError::Pool(e.to_string()))?;
        Ok(Pool {
            pool,
            scripts: Scripts::new(),
            cluster: config.cluster_nodes.is_some(),
        })
    }

    pub fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    /// True for a cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    pub(crate) async fn get(&self) -> Result<managed::Object<Manager>, DriverError> {
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
            res = match self.load_scripts(&mut conn).await {
                Ok(()) => send::<T>(&mut conn, &req).await,
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

    /// Loads every script: one pipeline on one server; on a cluster one
    /// `SCRIPT LOAD` per script, which the cluster client sends to every master
    /// (a replica promoted by a failover starts without them).
    async fn load_scripts(&self, conn: &mut Conn) -> Result<(), RedisError> {
        if let Conn::Cluster(cluster) = conn {
            // All at once: the cluster connection is multiplexed, so the loads
            // share the round trips instead of taking one each.
            let loads = self.scripts.all().map(|script| {
                let mut conn = cluster.clone();
                async move { script.load_cmd().query_async::<Value>(&mut conn).await }
            });
            futures::future::try_join_all(loads).await?;
            return Ok(());
        }
        let mut load = redis::pipe();
        for script in self.scripts.all() {
            load.add_command(script.load_cmd()).ignore();
        }
        load.query_async::<Value>(conn).await.map(drop)
    }

    /// Runs one command.
    pub async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, DriverError> {
        self.run(Request::Cmd(cmd)).await
    }

    /// Runs a pipeline: as one, or on a cluster split by slot and with each
    /// write in a request of its own, the replies put back in order (see
    /// [`SlotPipeline`]). A slot's requests go one after another, in order;
    /// the slots' go at once.
    pub async fn pipe<T: FromRedisValue>(&self, pipe: &SlotPipeline) -> Result<T, DriverError> {
        let split = match self.cluster {
            true => pipe.cluster_requests(),
            false => None,
        };
        let Some(groups) = split else {
            return self.run(Request::Pipe(pipe.whole())).await;
        };
        let sent = groups.iter().map(|requests| async move {
            let mut replies = Vec::with_capacity(requests.len());
            for ClusterRequest { positions, pipe } in requests {
                let values = self.run::<Vec<Value>>(Request::Pipe(pipe)).await?;
                if values.len() != positions.len() {
                    return Err(bad_reply(
                        "pipeline",
                        format!("{} replies to {} commands", values.len(), positions.len()),
                    ));
                }
                replies.push((positions, values));
            }
            Ok(replies)
        });
        let replies = futures::future::try_join_all(sent).await?;
        let mut all: Vec<Option<Value>> = Vec::new();
        all.resize_with(pipe.whole().len(), || None);
        for (positions, values) in replies.into_iter().flatten() {
            for (&at, value) in positions.iter().zip(values) {
                all[at] = Some(value);
            }
        }
        let kept: Vec<Value> = all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !pipe.is_ignored(*i))
            .map(|(_, v)| v.unwrap_or(Value::Nil))
            .collect();
        T::from_redis_value(Value::Array(kept)).map_err(|e| bad_reply("pipeline", e))
    }
}

/// `addr` as a URL without credentials: `redis://host:port` and the like.
pub(crate) fn target(addr: &ConnectionAddr) -> String {
    match addr {
        ConnectionAddr::Tcp(..) => format!("redis://{addr}"),
        ConnectionAddr::TcpTls { .. } => format!("rediss://{addr}"),
        ConnectionAddr::Unix(_) => format!("redis+unix://{addr}"),
        _ => addr.to_string(),
    }
}

async fn send<T: FromRedisValue>(conn: &mut Conn, req: &Request<'_>) -> Result<T, RedisError> {
    match req {
        Request::Cmd(cmd) => cmd.query_async(conn).await,
        Request::Pipe(pipe) => pipe.query_async(conn).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a cluster, a write sent in a pipeline beside a command that meets a
    /// redirect runs once. The cluster client answers a redirect of any
    /// command by sending its whole request again (to the new owner, and back
    /// on `MOVED`), so a write sharing that request would run again each time.
    /// The slot is left half moved: `{t}:list` is still on the source,
    /// `{t}:absent` exists nowhere, so reading it meets `ASK`.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_write_runs_once_when_a_command_beside_it_is_redirected() {
        use routemq_testkit::redis::RedisCluster;
        let cluster = RedisCluster::start(3, 0).expect("a local cluster");
        let config = RedisConfig::cluster(cluster.nodes()).unwrap();
        let pool = Pool::new(&config).unwrap();
        let mut seed = redis::cmd("RPUSH");
        seed.arg("{t}:list").arg("seed");
        pool.cmd::<()>(&seed).await.unwrap();
        let slot = RedisCluster::key_slot("{t}");
        let source = cluster.slot_owner(slot);
        let target = cluster.masters().into_iter().find(|m| *m != source);
        let migration = cluster
            .migrate_slot_begin(slot, &target.expect("another master"))
            .expect("the move begins");

        let mut pipe = SlotPipeline::new();
        pipe.cmd("RPUSH").arg("{t}:list").arg("once");
        pipe.cmd("GET").arg("{t}:absent");
        let (length, absent): (i64, Option<String>) = pool.pipe(&pipe).await.unwrap();
        assert_eq!((length, absent), (2, None));
        let mut llen = redis::cmd("LLEN");
        llen.arg("{t}:list");
        let stored: i64 = pool.cmd(&llen).await.unwrap();
        assert_eq!(stored, 2, "the RPUSH ran more than once");

        migration.finish().expect("the slot moves");
        let stored: i64 = pool.cmd(&llen).await.unwrap();
        assert_eq!(stored, 2, "after the move");
    }

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
