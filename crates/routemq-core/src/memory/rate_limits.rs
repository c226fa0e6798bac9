//! [`RateLimits`] for [`MemoryDriver`], and each queue's limiter: its limit, the
//! start times in its window (a sliding-window log) and its hold.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::MemoryDriver;
use crate::{unix_ms, DriverError, QueueName, RateLimit, RateLimits};

/// One queue's limiter state (kept while it has a limit or a hold).
#[derive(Debug, Default)]
pub(super) struct Limiter {
    limit: Option<RateLimit>,
    /// Start times (ms) inside the window, oldest first.
    starts: VecDeque<i64>,
    /// Claims take nothing before this time (ms); 0 = no hold.
    held_until: i64,
}

impl Limiter {
    /// The limit, if any.
    pub(super) fn limit(&self) -> Option<RateLimit> {
        self.limit
    }

    /// Drops starts that left the window ending at `now`. Times are whole
    /// milliseconds, so a start exactly `per` ago still counts: two starts
    /// then lie more than `per` apart in real time.
    fn prune(&mut self, now: i64) {
        if let Some(limit) = self.limit {
            let edge = now - limit.per_ms() as i64;
            while self.starts.front().is_some_and(|&t| t < edge) {
                self.starts.pop_front();
            }
        }
    }

    /// How many jobs a claim at `now` may start (`usize::MAX` = no limit).
    pub(super) fn room(&mut self, now: i64) -> usize {
        if self.held_until > now {
            return 0;
        }
        self.prune(now);
        match self.limit {
            None => usize::MAX,
            Some(l) => (l.jobs as usize).saturating_sub(self.starts.len()),
        }
    }

    /// Records `n` starts at `now` (nothing without a limit).
    pub(super) fn record(&mut self, now: i64, n: usize) {
        if self.limit.is_some() {
            self.starts.extend(std::iter::repeat_n(now, n));
        }
    }

    /// When a claim may start a job again (ms), or `None` when it may now.
    pub(super) fn opens_at(&mut self, now: i64) -> Option<i64> {
        let mut at = (self.held_until > now).then_some(self.held_until);
        self.prune(now);
        if let Some(l) = self.limit {
            let jobs = l.jobs as usize;
            if self.starts.len() >= jobs {
                // The window has room again once the jobs-th newest start leaves it.
                let leaving = self.starts[self.starts.len() - jobs];
                let open = leaving + l.per_ms() as i64 + 1;
                at = Some(at.map_or(open, |a| a.max(open)));
            }
        }
        at
    }

    /// True when the state holds nothing any more (no limit, hold over).
    fn is_spent(&self, now: i64) -> bool {
        self.limit.is_none() && self.held_until <= now
    }
}

#[async_trait]
impl RateLimits for MemoryDriver {
    async fn set_rate_limit(&self, queue: &QueueName, limit: RateLimit) -> Result<(), DriverError> {
        let limit = limit.validated()?;
        self.state()
            .limiters
            .entry(queue.clone())
            .or_default()
            .limit = Some(limit);
        // A higher limit may open the window at once.
        self.inner.notify.notify_waiters();
        Ok(())
    }

    async fn rate_limits(&self) -> Result<Vec<(QueueName, RateLimit)>, DriverError> {
        Ok(self
            .state()
            .limiters
            .iter()
            .filter_map(|(q, l)| l.limit.map(|limit| (q.clone(), limit)))
            .collect())
    }

    async fn clear_rate_limit(&self, queue: &QueueName) -> Result<bool, DriverError> {
        let now = unix_ms(SystemTime::now());
        let removed = self.state().limiters.remove(queue);
        let was = removed.is_some_and(|l| !l.is_spent(now));
        if was {
            self.inner.notify.notify_waiters();
        }
        Ok(was)
    }

    async fn hold_queue(&self, queue: &QueueName, duration: Duration) -> Result<(), DriverError> {
        let now = unix_ms(SystemTime::now());
        let until = now.saturating_add(duration.as_millis().min(i64::MAX as u128) as i64);
        let mut state = self.state();
        state.limiters.retain(|_, l| !l.is_spent(now));
        let l = state.limiters.entry(queue.clone()).or_default();
        l.held_until = l.held_until.max(until);
        Ok(())
    }
}
