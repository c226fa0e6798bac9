//! [`RedisDriver`]: the shared state (pool, key names, waiter) and construction.
//! The contract is implemented per capability: `lifecycle.rs` (JobLifecycle),
//! `failed.rs` (FailedStore), `admin.rs` (QueueAdmin), `workers.rs`
//! (WorkerRegistry), `schedules.rs` (ScheduleStore), `rate_limits.rs`
//! (RateLimits), `tracking.rs` (JobTracking), `workflows.rs` (Workflows),
//! `history.rs` (History), `listing.rs` (JobListing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use routemq_core::{DriverError, QueueName};

use crate::keys::Keys;
use crate::pool::Pool;
use crate::wait::Waiter;
use crate::{ConfigError, KeyMode, RedisConfig};

/// The Redis driver. Cheap to clone: clones share the pool.
#[derive(Debug, Clone)]
pub struct RedisDriver {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub pool: Pool,
    pub keys: Keys,
    pub mode: KeyMode,
    pub max_payload: usize,
    pub waiter: Waiter,
    /// Queues this driver added to the registry lately (re-added after
    /// [`REGISTER_EVERY`], so a flushed registry heals), to keep `SADD` off the
    /// single-push path.
    pub registered: Mutex<HashMap<QueueName, Instant>>,
}

/// How long a queue counts as registered before a push adds it again.
const REGISTER_EVERY: Duration = Duration::from_secs(30);

impl Inner {
    /// True when a push to `queue` should add it to the registry too.
    pub fn needs_register(&self, queue: &QueueName) -> bool {
        let map = self.registered.lock().unwrap_or_else(|p| p.into_inner());
        map.get(queue)
            .is_none_or(|at| at.elapsed() > REGISTER_EVERY)
    }

    /// Records that `queue` was just added to the registry.
    pub fn mark_registered(&self, queue: &QueueName) {
        let mut map = self.registered.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(queue.clone(), Instant::now());
    }
}

impl RedisDriver {
    /// The valid queue names in the set `key` (the known, paused or limited
    /// queues), sorted.
    pub(crate) async fn queue_set(&self, key: &str) -> Result<Vec<QueueName>, DriverError> {
        let names: Vec<String> = self.inner.pool.cmd(redis::cmd("SMEMBERS").arg(key)).await?;
        let mut queues: Vec<QueueName> = names
            .into_iter()
            .filter_map(|n| QueueName::new(n).ok())
            .collect();
        queues.sort();
        Ok(queues)
    }

    /// Builds the driver. Connections are opened on first use, so this does not
    /// fail when the server is down; call [`RedisDriver::ping`] to check.
    pub fn new(config: RedisConfig) -> Result<Self, ConfigError> {
        #[cfg(feature = "tls")]
        {
            // `rediss://` needs a process-wide rustls crypto provider; keep one an
            // application installed already.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        if config.cluster_nodes.is_some() && config.key_mode == KeyMode::Plain {
            return Err(ConfigError::Invalid(
                "a Redis cluster needs KeyMode::Cluster (each queue's keys in one slot); \
                 plain key names spread one queue over many slots"
                    .into(),
            ));
        }
        let pool = Pool::new(&config)?;
        let waiter = Waiter::new(&config)?;
        Ok(RedisDriver {
            inner: Arc::new(Inner {
                pool,
                keys: Keys::new(&config.prefix, config.key_mode),
                mode: config.key_mode,
                max_payload: config.max_payload,
                waiter,
                registered: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Builds the driver from the environment ([`RedisConfig::from_env`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(RedisConfig::from_env()?)
    }

    /// Round trip to the server: `Unavailable` when it cannot be reached.
    pub async fn ping(&self) -> Result<(), DriverError> {
        let _: String = self.inner.pool.cmd(&redis::cmd("PING")).await?;
        Ok(())
    }
}
