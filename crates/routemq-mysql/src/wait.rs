//! Idle waiting: one indexed look at the next due time per round, sleeping in
//! between with a pause that starts at `poll_min` and doubles up to `poll_max`;
//! a dispatch, release or retry from this process ends the wait at once.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Value;
use routemq_core::{DriverError, QueueName};
use tokio::time::Instant;

use crate::driver::MysqlDriver;
use crate::error::map;
use crate::sql;

impl MysqlDriver {
    pub(crate) async fn wait(
        &self,
        queues: &[QueueName],
        timeout: Duration,
    ) -> Result<(), DriverError> {
        let deadline = Instant::now() + timeout;
        let config = &self.inner.config;
        let mut pause = config.poll_min.max(Duration::from_millis(1));
        let stmt = sql::next_due(queues.len());
        loop {
            // Registered before looking, so a push between the look and the sleep
            // is not missed.
            let notified = self.inner.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let due_us = if queues.is_empty() {
                None
            } else {
                let params: Vec<Value> = queues.iter().map(|q| Value::from(q.as_str())).collect();
                let mut conn = self.conn().await?;
                let due: Option<Option<i64>> = conn.exec_first(&stmt, params).await.map_err(map)?;
                due.flatten()
            };
            if due_us.is_some_and(|us| us <= 0) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            let mut sleep = pause.min(deadline - now);
            if let Some(us) = due_us {
                sleep = sleep.min(Duration::from_micros(us as u64));
            }
            tokio::select! {
                _ = &mut notified, if config.local_wakeup => return Ok(()),
                _ = tokio::time::sleep(sleep) => {}
            }
            pause = (pause * 2).min(config.poll_max.max(config.poll_min));
        }
    }
}
