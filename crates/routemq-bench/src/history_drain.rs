//! The history drain: what the workers' per-minute throughput history
//! ([`History`](routemq_core::History)) costs the plain drain. The drain runs on
//! `<queue>-history` four times, history off, on, on, off, so a machine that
//! slows down or speeds up over the phase weighs on both alike; each figure is
//! the better of its two runs. With history on, the worker counts each finished job
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
    for history in [false, true, true, false] {
        let per_sec = drain_once(queue, consumer, config, &name, history).await?;
        let best = if history { &mut on } else { &mut off };
        *best = best.max(per_sec);
    }
    driver.clear(&queue_name).await?;
    Ok(HistoryDrain {
        off_per_sec: off,
        on_per_sec: on,
    })
}
