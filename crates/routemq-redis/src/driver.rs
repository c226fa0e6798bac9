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

use crate::bucket_listing::SweepCursors;
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
    /// Per queue, where the sweep of its set of job buckets goes on.
    pub sweep_cursors: SweepCursors,
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
    /// The bucket of the jobs hash (`crate::keys::job_hash`) this driver's
    /// single push listed last (a bucket of the last minute, see
    /// `crate::bucket_listing`), so later single pushes there leave their
    /// `SADD` out.
    listed_bucket: Option<Vec<u8>>,
}

/// Which writes to a queue's shared keys a push transaction makes
/// (`RedisDriver::push_tx`): a bulk push makes [`PushWrites::ALL`], a single
/// push what [`Inner::single_push`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PushWrites {
    /// Whether it trims the wake-up list (see [`WAKE_TRIM_EVERY`]).
    pub trim_wake: bool,
    /// Whether it lists the jobs' buckets (`SADD`); false only for a single
    /// push to the fresh bucket this driver listed last.
    pub list_buckets: bool,
}

impl PushWrites {
    /// Every write: trim the wake-up list, list the buckets.
    pub const ALL: PushWrites = PushWrites {
        trim_wake: true,
        list_buckets: true,
    };
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

    /// For a single push to `queue` by transaction, of a job whose bucket is
    /// `fresh_bucket` when that began within the last minute
    /// (`crate::bucket_listing::is_fresh`): `None` when the queue is due to be
    /// registered (the push goes the registering way, uncounted); else whether
    /// this push trims the wake-up list (see [`WAKE_TRIM_EVERY`]), the push
    /// counted, and whether it lists its bucket.
    pub fn single_push(
        &self,
        queue: &QueueName,
        fresh_bucket: Option<&[u8]>,
    ) -> Option<PushWrites> {
        let mut map = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        let pushes = map.get_mut(queue)?;
        if pushes.register_due() {
            return None;
        }
        let trim_wake = pushes.untrimmed == 0;
        pushes.untrimmed = (pushes.untrimmed + 1) % WAKE_TRIM_EVERY;
        let list_buckets =
            fresh_bucket.is_none() || pushes.listed_bucket.as_deref() != fresh_bucket;
        Some(PushWrites {
            trim_wake,
            list_buckets,
        })
    }

    /// Records that a push of this driver listed `bucket`, a bucket of the
    /// last minute, in `queue`'s set of buckets.
    pub fn mark_listed(&self, queue: &QueueName, bucket: Vec<u8>) {
        let mut map = self.pushes.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(queue.clone()).or_default().listed_bucket = Some(bucket);
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
                sweep_cursors: SweepCursors::default(),
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
