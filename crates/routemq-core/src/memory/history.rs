//! [`History`] for [`MemoryDriver`]: per queue, a map minute → counts in
//! `State::history`. Every write drops the minutes past [`HISTORY_KEPT_FOR`];
//! reads skip them too, so an expired minute is never returned.

use std::time::SystemTime;

use async_trait::async_trait;

use super::{MemoryDriver, State};
use crate::{
    unix_minute, DriverError, History, HistoryDelta, MinuteCounts, QueueName, UnixMinute,
    HISTORY_KEPT_FOR,
};

/// The oldest minute still kept at `now`.
fn oldest_kept(now: SystemTime) -> UnixMinute {
    match now.checked_sub(HISTORY_KEPT_FOR) {
        Some(t) => unix_minute(t),
        None => UnixMinute::MIN,
    }
}

impl State {
    /// Drops every queue's minutes before `oldest`, and queues left with none.
    fn prune_history(&mut self, oldest: UnixMinute) {
        for minutes in self.history.values_mut() {
            *minutes = minutes.split_off(&oldest);
        }
        self.history.retain(|_, minutes| !minutes.is_empty());
    }
}

#[async_trait]
impl History for MemoryDriver {
    async fn record_history(&self, deltas: &[HistoryDelta]) -> Result<(), DriverError> {
        let oldest = oldest_kept(SystemTime::now());
        let mut state = self.state();
        state.prune_history(oldest);
        for delta in deltas {
            if delta.minute < oldest || delta.counts.is_empty() {
                continue;
            }
            state
                .history
                .entry(delta.queue.clone())
                .or_default()
                .entry(delta.minute)
                .or_default()
                .add(delta.counts);
        }
        Ok(())
    }

    async fn history(
        &self,
        queue: &QueueName,
        from: UnixMinute,
        to: UnixMinute,
    ) -> Result<Vec<MinuteCounts>, DriverError> {
        let from = from.max(oldest_kept(SystemTime::now()));
        if from > to {
            return Ok(Vec::new());
        }
        let state = self.state();
        let Some(minutes) = state.history.get(queue) else {
            return Ok(Vec::new());
        };
        Ok(minutes
            .range(from..=to)
            .filter(|(_, counts)| !counts.is_empty())
            .map(|(minute, counts)| MinuteCounts {
                minute: *minute,
                counts: *counts,
            })
            .collect())
    }
}
