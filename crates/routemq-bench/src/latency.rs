//! The latency phase: an idle worker, [`BenchPing`] jobs sent at an interval,
//! enqueue → handler start measured by the handlers.
//!
//! The pings are sent from a task of the runtime ([`on_runtime`]), as a
//! producer in a tokio service sends them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use routemq_core::{Driver, JobOptions, Queue, QueueName};
use routemq_worker::Worker;
use tokio::sync::mpsc;

use crate::jobs::{now_us, BenchPing, LATENCY_SINK};
use crate::run::{on_runtime, BenchConfig, BenchError};

/// Sends `config.latency_jobs` pings to `name`, `latency_interval` apart, to a
/// worker of `config.concurrency` idle on it; clears `name` before and after.
/// Returns the waits in milliseconds, sorted. Fewer than `latency_jobs` started
/// within 30 s after the last send is [`BenchError::Incomplete`].
pub(crate) async fn latency(
    queue: &Queue,
    consumer: &Arc<dyn Driver>,
    config: &BenchConfig,
    name: &str,
) -> Result<Vec<f64>, BenchError> {
    let queue_name = QueueName::new(name.to_owned())?;
    let on_queue = JobOptions::new().queue(name.to_owned());
    let driver = queue.driver();
    driver.clear(&queue_name).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    *LATENCY_SINK.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = Worker::builder(consumer.clone())
        .register::<BenchPing>()
        .queues([name])
        .concurrency(config.concurrency)
        .prefetch(config.prefetch)
        .build()?;
    let worker_task = tokio::spawn(worker.run_until(async {
        let _ = stop_rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut samples = Vec::with_capacity(config.latency_jobs);
    let (sender, on, jobs, every) = (
        queue.clone(),
        on_queue.clone(),
        config.latency_jobs,
        config.latency_interval,
    );
    on_runtime("latency", async move {
        let mut ticker = tokio::time::interval(every);
        for _ in 0..jobs {
            ticker.tick().await;
            let ping = BenchPing {
                sent_at_us: now_us(),
            };
            sender.dispatch_with(ping, &on, None).await?;
        }
        Ok(())
    })
    .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while samples.len() < config.latency_jobs && Instant::now() < deadline {
        if let Ok(Some(us)) = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
            samples.push(us as f64 / 1000.0);
        }
    }
    let _ = stop_tx.send(());
    *LATENCY_SINK.lock().unwrap_or_else(|p| p.into_inner()) = None;
    worker_task.await.map_err(|e| BenchError::Incomplete {
        phase: "latency",
        detail: format!("worker task ended abnormally: {e}"),
    })??;
    driver.clear(&queue_name).await?;
    if samples.len() < config.latency_jobs {
        return Err(BenchError::Incomplete {
            phase: "latency",
            detail: format!(
                "{} of {} jobs started within 30 s",
                samples.len(),
                config.latency_jobs
            ),
        });
    }
    samples.sort_by(f64::total_cmp);
    Ok(samples)
}
