//! [`RateLimits`] for [`MemoryDriver`], and each queue's limiter: its limit, the
//! start times in its windows (sliding-window logs: one for the queue, or one
//! per group under a per-group limit), its holds and its group concurrency cap.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::MemoryDriver;
use crate::{
    checked_group_concurrency, unix_ms, DriverError, GroupKey, QueueName, RateLimit, RateLimits,
};

/// One queue's limiter state (kept while it has a limit, a cap or a hold).
#[derive(Debug, Default)]
pub(super) struct Limiter {
    limit: Option<RateLimit>,
    /// Start times (ms) inside the queue's window, oldest first; under a
    /// per-group limit, the window of the ungrouped jobs.
    starts: VecDeque<i64>,
    /// Under a per-group limit: each group's start times (ms) in its window.
    group_starts: HashMap<GroupKey, VecDeque<i64>>,
    /// Claims take nothing before this time (ms); 0 = no hold.
    held_until: i64,
    /// Claims take no job of a group before its time (ms).
    group_holds: HashMap<GroupKey, i64>,
    /// At most this many running jobs per group.
    group_cap: Option<u32>,
}

/// Drops the starts of `log` that left a window of `per_ms` ending at `now`.
/// Times are whole milliseconds, so a start exactly `per_ms` ago still counts:
/// two starts then lie more than `per_ms` apart in real time.
fn prune(log: &mut VecDeque<i64>, per_ms: u64, now: i64) {
    let edge = now - per_ms as i64;
    while log.front().is_some_and(|&t| t < edge) {
        log.pop_front();
    }
}

/// When a window of `limit` over `log` has room again (ms), or `None` when it
/// has room now: once the jobs-th newest start leaves it.
fn window_opens(log: &mut VecDeque<i64>, limit: RateLimit, now: i64) -> Option<i64> {
    prune(log, limit.per_ms(), now);
    let jobs = limit.jobs as usize;
    (log.len() >= jobs).then(|| log[log.len() - jobs] + limit.per_ms() as i64 + 1)
}

impl Limiter {
    /// The limit, if any.
    pub(super) fn limit(&self) -> Option<RateLimit> {
        self.limit
    }

    /// The group concurrency cap, if any.
    pub(super) fn group_cap(&self) -> Option<u32> {
        self.group_cap
    }

    /// The queue-wide limit (not a per-group one).
    fn queue_wide(&self) -> Option<RateLimit> {
        self.limit.filter(|l| !l.per_group)
    }

    /// The per-group limit (not a queue-wide one).
    fn each_group(&self) -> Option<RateLimit> {
        self.limit.filter(|l| l.per_group)
    }

    /// How many jobs a claim at `now` may start from the queue as a whole
    /// (`usize::MAX` = no queue-wide limit): 0 while held.
    pub(super) fn room(&mut self, now: i64) -> usize {
        if self.held_until > now {
            return 0;
        }
        match self.queue_wide() {
            None => usize::MAX,
            Some(l) => {
                prune(&mut self.starts, l.per_ms(), now);
                (l.jobs as usize).saturating_sub(self.starts.len())
            }
        }
    }

    /// When `lane` (`None` = the ungrouped jobs) may start a job again (ms):
    /// `None` when it may now, `Some(i64::MAX)` while its group is at the cap
    /// with `running` jobs (it opens when one of them ends).
    pub(super) fn lane_opens_at(
        &mut self,
        lane: Option<&GroupKey>,
        running: usize,
        now: i64,
    ) -> Option<i64> {
        let mut at: Option<i64> = None;
        let mut later = |t: i64| at = Some(at.map_or(t, |a: i64| a.max(t)));
        if let Some(g) = lane {
            match self.group_holds.get(g) {
                Some(&until) if until > now => later(until),
                Some(_) => {
                    self.group_holds.remove(g);
                }
                None => {}
            }
            if self.group_cap.is_some_and(|cap| running >= cap as usize) {
                later(i64::MAX);
            }
        }
        if let Some(l) = self.each_group() {
            let log = match lane {
                None => Some(&mut self.starts),
                Some(g) => self.group_starts.get_mut(g),
            };
            if let Some(log) = log {
                if let Some(open) = window_opens(log, l, now) {
                    later(open);
                }
                if let (Some(g), true) = (lane, log.is_empty()) {
                    self.group_starts.remove(g);
                }
            }
        }
        at
    }

    /// Records a start of `lane` at `now` in the window it counts in (nothing
    /// without a limit).
    pub(super) fn record(&mut self, lane: Option<&GroupKey>, now: i64) {
        match (self.limit, lane) {
            (None, _) => {}
            (Some(l), Some(g)) if l.per_group => self
                .group_starts
                .entry(g.clone())
                .or_default()
                .push_back(now),
            (Some(_), _) => self.starts.push_back(now),
        }
    }

    /// When a claim may start a job of the queue as a whole again (ms), or
    /// `None` when it may now (the queue's hold and queue-wide window).
    pub(super) fn opens_at(&mut self, now: i64) -> Option<i64> {
        let mut at = (self.held_until > now).then_some(self.held_until);
        if let Some(l) = self.queue_wide() {
            if let Some(open) = window_opens(&mut self.starts, l, now) {
                at = Some(at.map_or(open, |a| a.max(open)));
            }
        }
        at
    }

    /// True when the state holds nothing any more (no limit, no cap, holds over).
    fn is_spent(&self, now: i64) -> bool {
        self.limit.is_none()
            && self.group_cap.is_none()
            && self.held_until <= now
            && self.group_holds.values().all(|&until| until <= now)
    }
}

impl MemoryDriver {
    /// Runs `change` on `queue`'s limiter (made when missing), after dropping
    /// the limiters that hold nothing any more; wakes waiters (a change may
    /// open a window or lift a cap at once).
    fn change_limiter(&self, queue: &QueueName, change: impl FnOnce(&mut Limiter)) {
        let now = unix_ms(SystemTime::now());
        {
            let mut state = self.state();
            state.limiters.retain(|_, l| !l.is_spent(now));
            change(state.limiters.entry(queue.clone()).or_default());
        }
        self.inner.notify.notify_waiters();
    }
}

/// `now + duration` in ms, saturating.
fn until(now: i64, duration: Duration) -> i64 {
    now.saturating_add(duration.as_millis().min(i64::MAX as u128) as i64)
}

#[async_trait]
impl RateLimits for MemoryDriver {
    async fn set_rate_limit(&self, queue: &QueueName, limit: RateLimit) -> Result<(), DriverError> {
        let limit = limit.validated()?;
        self.change_limiter(queue, |l| {
            if l.limit.is_some_and(|old| old.per_group != limit.per_group) {
                // Switching between one window and one per group starts afresh.
                l.starts.clear();
                l.group_starts.clear();
            }
            l.limit = Some(limit);
        });
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

    async fn set_group_concurrency(&self, queue: &QueueName, cap: u32) -> Result<(), DriverError> {
        let cap = checked_group_concurrency(cap)?;
        self.change_limiter(queue, |l| l.group_cap = Some(cap));
        Ok(())
    }

    async fn group_concurrency_limits(&self) -> Result<Vec<(QueueName, u32)>, DriverError> {
        Ok(self
            .state()
            .limiters
            .iter()
            .filter_map(|(q, l)| l.group_cap.map(|cap| (q.clone(), cap)))
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
        let until = until(unix_ms(SystemTime::now()), duration);
        self.change_limiter(queue, |l| l.held_until = l.held_until.max(until));
        Ok(())
    }

    async fn hold_group(
        &self,
        queue: &QueueName,
        group: &GroupKey,
        duration: Duration,
    ) -> Result<(), DriverError> {
        let until = until(unix_ms(SystemTime::now()), duration);
        self.change_limiter(queue, |l| {
            let held = l.group_holds.entry(group.clone()).or_insert(until);
            *held = (*held).max(until);
        });
        Ok(())
    }
}
