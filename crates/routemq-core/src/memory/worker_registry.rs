//! [`WorkerRegistry`] for [`MemoryDriver`].

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::MemoryDriver;
use crate::{unix_ms, DriverError, WorkerInfo, WorkerRegistry};

#[async_trait]
impl WorkerRegistry for MemoryDriver {
    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration) -> Result<(), DriverError> {
        let expires = unix_ms(SystemTime::now()).saturating_add(ttl.as_millis() as i64);
        self.state()
            .workers
            .insert(info.id.clone(), (info.clone(), expires));
        Ok(())
    }

    async fn remove_worker(&self, worker_id: &str) -> Result<(), DriverError> {
        self.state().workers.remove(worker_id);
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>, DriverError> {
        let now = unix_ms(SystemTime::now());
        let mut state = self.state();
        state.workers.retain(|_, (_, expires)| *expires > now);
        Ok(state.workers.values().map(|(w, _)| w.clone()).collect())
    }
}
