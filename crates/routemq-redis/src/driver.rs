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
    /// Per queue, what this driver's pushes did to the queue's shared keys
    /// lately, so that a single push leaves out writes that would change
    /// nothing: one map, locked once a push.
    pub pushes: Mutex<HashMap<QueueName, QueuePushes>>,
}

/// What a driver's pushes did lately to one queue's shared keys.
#[derive(Debug, Default)]
pub(crate) struct QueuePushes {
    /// When this driver last added the queue to the registry (re-added after
    /// [`REGISTER_EVERY`], so a flushed registry heals), to keep `SADD` off
    /// the single-push path.
    registered_at: Option<Instant>,
    /// Single pushes since the last one that trimmed the queue's wake-up
    /// list, counted up to [`WAKE_TRIM_EVERY`], to keep `LTRIM` off most
    /// single pushes.
    untrimmed: u32,
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
        let map = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        map.get(queue).is_none_or(QueuePushes::register_due)
    }

    /// Records that `queue` was just added to the registry.
    pub fn mark_registered(&self, queue: &QueueName) {
        let mut map = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(queue.clone()).or_default().registered_at = Some(Instant::now());
    }

    /// For a single push to `queue` by transaction: `None` when the queue is
    /// due to be registered (the push goes the registering way, uncounted);
    /// else whether this push should trim the wake-up list (see
    /// [`WAKE_TRIM_EVERY`]), the push counted.
    pub fn single_push_trim(&self, queue: &QueueName) -> Option<bool> {
        let mut map = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        let pushes = map.get_mut(queue)?;
        if pushes.register_due() {
            return None;
        }
        let due = pushes.untrimmed == 0;
        pushes.untrimmed = (pushes.untrimmed + 1) % WAKE_TRIM_EVERY;
        Some(due)
    }
}

impl QueuePushes {
    fn register_due(&self) -> bool {
        self.registered_at
            .is_none_or(|at| at.elapsed() > REGISTER_EVERY)
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
                pushes: Mutex::new(HashMap::new()),
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
