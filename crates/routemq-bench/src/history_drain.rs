//! The history drain: what the workers' per-minute throughput history
//! ([`History`](routemq_core::History)) costs the plain drain. The drain runs on
//! `<queue>-history` four times, history off and on alternately (off, on, off,
//! on), so a slow stretch of the machine weighs on both; each figure is the
//! better of its two runs. With history on, the worker counts each finished job
//! in memory and writes the counts every few seconds and once at the end.

use std::sync::Arc;

use routemq_core::{Driver, Queue, QueueName};

use crate::progress_drain::drain_once;
use crate::run::{BenchConfig, BenchError};

/// What the history drain measured.
pub(crate) struct HistoryDrain {
    pub(crate) off_per_sec: f64,
    pub(crate) on_per_sec: f64,
}

/// The four drains (see the module doc).
pub(crate) async fn history_drain(
    queue: &Queue,
    consumer: &Arc<dyn Driver>,
    config: &BenchConfig,
) -> Result<HistoryDrain, BenchError> {
    let name = format!("{}-history", config.queue);
    let queue_name = QueueName::new(name.clone())?;
    let driver = queue.driver();
    driver.clear(&queue_name).await?;
    let (mut off, mut on) = (0f64, 0f64);
    for _ in 0..2 {
        off = off.max(drain_once(queue, consumer, config, &name, false).await?);
        on = on.max(drain_once(queue, consumer, config, &name, true).await?);
    }
    driver.clear(&queue_name).await?;
    Ok(HistoryDrain {
        off_per_sec: off,
        on_per_sec: on,
    })
}
