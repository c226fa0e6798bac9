//! Rate limits per queue and per group: at most N jobs started per period,
//! enforced by `claim` across every worker; a cap on each group's running jobs;
//! and holds (`JobError::rate_limited`) that stop a queue's or a group's claims
//! for a while.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{DriverError, GroupKey, QueueName};

/// At most `jobs` jobs of a queue started (claimed) in any window of length
/// `per`, counted across every worker; with [`RateLimit::per_group()`],
/// that many per group instead. Build it with [`RateLimit::new`], which refuses
/// limits no driver can keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    /// Jobs started per window, 1 to [`RateLimit::MAX_JOBS`].
    pub jobs: u32,
    /// The window's length: whole milliseconds, 1 ms to [`RateLimit::MAX_PER`].
    #[serde(rename = "per_ms", with = "duration_ms")]
    pub per: Duration,
    /// `true`: every group of the queue has a window of its own (and the
    /// queue's ungrouped jobs share one more), so one group's full window does
    /// not stop another's claims. `false`: one window for the whole queue.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_group: bool,
}

/// Why a [`RateLimit`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// `jobs` was 0: nothing could ever start (pause the queue instead).
    #[error(
        "a rate limit of 0 jobs would never start a job; pause the queue instead (`routemq pause`)"
    )]
    NoJobs,
    /// `jobs` over [`RateLimit::MAX_JOBS`].
    #[error("a rate limit of {jobs} jobs per window is over the maximum of {max}: the window keeps one entry per started job; use a shorter period with fewer jobs")]
    TooManyJobs {
        /// The jobs asked for.
        jobs: u32,
        /// [`RateLimit::MAX_JOBS`].
        max: u32,
    },
    /// `per` under one millisecond (the limiters count in milliseconds).
    #[error("a rate-limit period of {per:?} is under 1 ms; periods have millisecond precision")]
    PeriodTooShort {
        /// The period asked for.
        per: Duration,
    },
    /// `per` over [`RateLimit::MAX_PER`].
    #[error("a rate-limit period of {per:?} is over the maximum of {max:?}")]
    PeriodTooLong {
        /// The period asked for.
        per: Duration,
        /// [`RateLimit::MAX_PER`].
        max: Duration,
    },
    /// A group concurrency cap of 0.
    #[error("a group concurrency of 0 would never start a job; pause the queue instead (`routemq pause`)")]
    NoGroupConcurrency,
    /// A group concurrency cap over [`MAX_GROUP_CONCURRENCY`].
    #[error("a group concurrency of {cap} is over the maximum of {max}")]
    GroupConcurrencyTooHigh {
        /// The cap asked for.
        cap: u32,
        /// [`MAX_GROUP_CONCURRENCY`].
        max: u32,
    },
}

/// The highest group concurrency cap (running jobs of one group at once).
pub const MAX_GROUP_CONCURRENCY: u32 = 100_000;

/// Checks a group concurrency cap: 1 to [`MAX_GROUP_CONCURRENCY`].
///
/// ```
/// use routemq_core::checked_group_concurrency;
/// assert_eq!(checked_group_concurrency(3), Ok(3));
/// assert!(checked_group_concurrency(0).is_err());
/// ```
pub fn checked_group_concurrency(cap: u32) -> Result<u32, RateLimitError> {
    match cap {
        0 => Err(RateLimitError::NoGroupConcurrency),
        c if c > MAX_GROUP_CONCURRENCY => Err(RateLimitError::GroupConcurrencyTooHigh {
            cap: c,
            max: MAX_GROUP_CONCURRENCY,
        }),
        c => Ok(c),
    }
}

impl RateLimit {
    /// The most jobs per window (each start is one entry in the window's log).
    pub const MAX_JOBS: u32 = 100_000;
    /// The longest window.
    pub const MAX_PER: Duration = Duration::from_secs(366 * 24 * 3600);

    /// At most `jobs` per `per` (truncated to whole milliseconds).
    ///
    /// ```
    /// use routemq_core::RateLimit;
    /// use std::time::Duration;
    /// let l = RateLimit::new(20, Duration::from_secs(1)).unwrap();
    /// assert_eq!((l.jobs, l.per_ms()), (20, 1000));
    /// assert!(RateLimit::new(0, Duration::from_secs(1)).is_err());
    /// assert!(RateLimit::new(5, Duration::ZERO).is_err());
    /// ```
    pub fn new(jobs: u32, per: Duration) -> Result<Self, RateLimitError> {
        if jobs == 0 {
            return Err(RateLimitError::NoJobs);
        }
        if jobs > Self::MAX_JOBS {
            return Err(RateLimitError::TooManyJobs {
                jobs,
                max: Self::MAX_JOBS,
            });
        }
        if per < Duration::from_millis(1) {
            return Err(RateLimitError::PeriodTooShort { per });
        }
        if per > Self::MAX_PER {
            return Err(RateLimitError::PeriodTooLong {
                per,
                max: Self::MAX_PER,
            });
        }
        Ok(RateLimit {
            jobs,
            per: Duration::from_millis(per.as_millis() as u64),
            per_group: false,
        })
    }

    /// The same limit kept per group: each group of the queue gets a window of
    /// its own (the ungrouped jobs share one more).
    ///
    /// ```
    /// use routemq_core::RateLimit;
    /// use std::time::Duration;
    /// let l = RateLimit::new(10, Duration::from_secs(1)).unwrap().per_group();
    /// assert!(l.per_group);
    /// assert_eq!(l.to_string(), "10 per 1s per group");
    /// ```
    pub fn per_group(mut self) -> Self {
        self.per_group = true;
        self
    }

    /// Checks a limit built field by field (drivers call this before storing it).
    pub fn validated(self) -> Result<Self, RateLimitError> {
        Ok(RateLimit {
            per_group: self.per_group,
            ..Self::new(self.jobs, self.per)?
        })
    }

    /// The window in milliseconds.
    pub fn per_ms(&self) -> u64 {
        self.per.as_millis() as u64
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.per_ms();
        match ms {
            _ if ms % 86_400_000 == 0 => write!(f, "{} per {}d", self.jobs, ms / 86_400_000),
            _ if ms % 3_600_000 == 0 => write!(f, "{} per {}h", self.jobs, ms / 3_600_000),
            _ if ms % 60_000 == 0 => write!(f, "{} per {}m", self.jobs, ms / 60_000),
            _ if ms % 1_000 == 0 => write!(f, "{} per {}s", self.jobs, ms / 1_000),
            _ => write!(f, "{} per {}ms", self.jobs, ms),
        }?;
        if self.per_group {
            f.write_str(" per group")?;
        }
        Ok(())
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Rate limits, group concurrency caps and holds: what `routemq limit
/// set|list|clear` and the worker's handling of
/// [`JobError::rate_limited`](crate::JobError::rate_limited) use.
///
/// # Rules (checked by the conformance suite's rate-limit and group rules)
/// - With a limit of N per P on a queue, [`claim`](crate::JobLifecycle::claim)
///   starts at most N of its jobs in any window of length P, counted over every
///   claim through every driver value on the same backend (a sliding-window log
///   of start times, kept on the backend's clock). A claim asking for more gets
///   what the window allows; other queues of the same call still deliver, in
///   the priority order given. Jobs over the limit stay ready: they are not
///   failed, retried or moved.
/// - With a per-group limit ([`RateLimit::per_group()`]) the same holds for
///   each group of the queue on its own, and for the queue's ungrouped jobs
///   as one more lane; a claim passes over a lane whose window is full and
///   takes the next lane's job instead.
/// - With a group concurrency cap of C, at most C jobs of one group are
///   reserved at once (from their claim until ack, fail, release or reclaim),
///   across every worker; a claim passes over a group at its cap. Ungrouped
///   jobs are not capped. Jobs already running when the cap is set count.
/// - [`wait_for_jobs`](crate::JobLifecycle::wait_for_jobs) treats a full
///   window's (or a held queue's or group's) ready jobs as due when the window
///   opens (or the hold ends), and a capped group's ready jobs as due when one
///   of its running jobs ends, so an idle worker sleeps until then instead of
///   spinning.
/// - [`hold_queue`](RateLimits::hold_queue) stops claims from a queue (with or
///   without a limit) until the hold ends; [`hold_group`](RateLimits::hold_group)
///   the same for one group of a queue, the other lanes still delivering. A
///   shorter hold never cuts a longer one short.
/// - [`clear_rate_limit`](RateLimits::clear_rate_limit) removes the limit, its
///   windows, the group concurrency cap and every hold of the queue and of its
///   groups at once.
///
/// Setting or clearing through one driver value takes effect at once for its
/// own claims; another process sees it at its next claim (Redis, memory) or
/// within 250 ms (MySQL, which keeps the list of limited queues that long).
#[async_trait]
pub trait RateLimits: Send + Sync + fmt::Debug + 'static {
    /// Sets (or replaces) `queue`'s limit, queue-wide or per group. Starts
    /// already counted stay in the window. Fails with
    /// [`DriverError::InvalidRateLimit`] for a limit [`RateLimit::new`] refuses.
    async fn set_rate_limit(&self, queue: &QueueName, limit: RateLimit) -> Result<(), DriverError>;

    /// Every queue's limit, sorted by queue name.
    async fn rate_limits(&self) -> Result<Vec<(QueueName, RateLimit)>, DriverError>;

    /// Caps the running jobs of each group of `queue` at `cap` (replacing an
    /// earlier cap). Fails with [`DriverError::InvalidRateLimit`] for a cap
    /// [`checked_group_concurrency`] refuses.
    async fn set_group_concurrency(&self, queue: &QueueName, cap: u32) -> Result<(), DriverError>;

    /// Every queue's group concurrency cap, sorted by queue name.
    async fn group_concurrency_limits(&self) -> Result<Vec<(QueueName, u32)>, DriverError>;

    /// Removes `queue`'s limit, its windows, its group concurrency cap and every
    /// hold of the queue and its groups; `true` when there was any of them.
    async fn clear_rate_limit(&self, queue: &QueueName) -> Result<bool, DriverError>;

    /// Claims take nothing from `queue` for `duration` from now (on the
    /// backend's clock), unless a longer hold is already in place. Used when a
    /// handler of an ungrouped job reports that a remote service pushes back
    /// ([`JobError::rate_limited`](crate::JobError::rate_limited)).
    async fn hold_queue(&self, queue: &QueueName, duration: Duration) -> Result<(), DriverError>;

    /// Claims take no job of `group` in `queue` for `duration` from now (the
    /// queue's other lanes still deliver), unless a longer hold of the group is
    /// in place. Used when a handler of a grouped job reports a push-back.
    async fn hold_group(
        &self,
        queue: &QueueName,
        group: &GroupKey,
        duration: Duration,
    ) -> Result<(), DriverError>;
}
