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
    /// Per queue, this driver's single pushes since its last one that trimmed
    /// the queue's wake-up list, counted up to [`WAKE_TRIM_EVERY`], to keep
    /// `LTRIM` off most single pushes.
    pub untrimmed_pushes: Mutex<HashMap<QueueName, u32>>,
}

/// A driver's single push to a queue trims the queue's wake-up list once in
/// this many (the first one, then every this-many-th); a bulk push always
/// does. Each single push adds one token, so a queue's list holds at most 64
/// tokens after a trim plus `WAKE_TRIM_EVERY - 1` for each driver pushing to
/// it, and an idle worker deletes the list before it blocks (`wait.rs`).
pub(crate) const WAKE_TRIM_EVERY: u32 = 16;

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

    /// True when this single push to `queue` should trim its wake-up list
    /// (see [`WAKE_TRIM_EVERY`]); counts the push.
    pub fn wake_trim_due(&self, queue: &QueueName) -> bool {
        let mut map = self
            .untrimmed_pushes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let count = match map.get_mut(queue) {
            Some(count) => count,
            None => map.entry(queue.clone()).or_insert(0),
        };
        let due = *count == 0;
        *count = (*count + 1) % WAKE_TRIM_EVERY;
        due
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
                untrimmed_pushes: Mutex::new(HashMap::new()),
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
