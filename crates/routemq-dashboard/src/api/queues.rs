//! `GET api/overview`, `GET api/queues` and `GET api/queues/{queue}`: every
//! queue's counts (and throughput history), read per queue with at most
//! [`FAN_OUT`] reads in flight.

use std::time::SystemTime;

use axum::extract::{Path, State};
use axum::Json;
use futures::stream::{self, StreamExt, TryStreamExt};
use routemq_core::{unix_minute, MinuteCounts, QueueName, UnixMinute};
use serde_json::{json, Value};

use super::history::{self, Charts};
use super::params::queue_name;
use super::queue_row::{QueueRow, Totals};
use super::FAN_OUT;
use crate::error::ApiError;
use crate::Dashboard;

/// Counts of every known queue, sorted by name, and — when `minutes` is given —
/// their history over those minutes. With a separate failed store
/// ([`Dashboard::with_failed_counts`]) its counts replace the driver's, and
/// its queues are known too.
async fn read_queues(
    d: &Dashboard,
    minutes: Option<(UnixMinute, UnixMinute)>,
) -> Result<(Vec<QueueRow>, Vec<MinuteCounts>), ApiError> {
    let driver = d.driver();
    let (mut queues, counts) = futures::try_join!(
        async { driver.queues().await.map_err(ApiError::from) },
        separate_failed_counts(d)
    )?;
    for (name, _) in counts.iter().flatten() {
        if let Ok(q) = QueueName::new(name.as_str()) {
            if !queues.contains(&q) {
                queues.push(q);
            }
        }
    }
    let read: Vec<(QueueRow, Vec<MinuteCounts>)> = stream::iter(queues)
        .map(|q| read_queue(d, q, minutes))
        .buffer_unordered(FAN_OUT)
        .try_collect()
        .await?;
    let mut rows = Vec::with_capacity(read.len());
    let mut history = Vec::new();
    for (mut row, minutes) in read {
        if let Some(counts) = &counts {
            row.set_failed_from(counts);
        }
        rows.push(row);
        history.extend(minutes);
    }
    rows.sort_by(|a, b| a.queue().cmp(b.queue()));
    Ok((rows, history))
}

/// The counts of a failed store kept apart from the driver, if one was given.
async fn separate_failed_counts(d: &Dashboard) -> Result<Option<Vec<(String, u64)>>, ApiError> {
    match d.failed_counts() {
        Some(source) => Ok(Some(source.failed_counts().await?)),
        None => Ok(None),
    }
}

/// One queue's counts (the reading shared by every viewer: `stats_cache`) and,
/// when `minutes` is given, its history (both read at once).
async fn read_queue(
    d: &Dashboard,
    queue: QueueName,
    minutes: Option<(UnixMinute, UnixMinute)>,
) -> Result<(QueueRow, Vec<MinuteCounts>), ApiError> {
    let driver = d.driver();
    let history = async {
        match minutes {
            Some((from, to)) => driver.history(&queue, from, to).await,
            None => Ok(Vec::new()),
        }
    };
    let stats = d.stats_cache().stats(driver, &queue);
    let ((stats, age), history) = futures::try_join!(stats, history)?;
    Ok((QueueRow::counted(stats, age), history))
}

/// `GET api/overview`.
pub(crate) async fn overview(State(d): State<Dashboard>) -> Result<Json<Value>, ApiError> {
    let now = unix_minute(SystemTime::now());
    let (rows, minutes) = read_queues(&d, Some(history::range(now))).await?;
    Ok(Json(json!({
        "read_only": d.config().read_only,
        "connection": d.driver().connection_name(),
        "totals": Totals::of(&rows),
        "queues": rows,
        "history": history::charts(now, &minutes),
    })))
}

/// `GET api/queues`.
pub(crate) async fn list(State(d): State<Dashboard>) -> Result<Json<Value>, ApiError> {
    let (rows, _) = read_queues(&d, None).await?;
    Ok(Json(json!({ "queues": rows })))
}

/// `GET api/queues/{queue}`.
pub(crate) async fn one(
    State(d): State<Dashboard>,
    Path(queue): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let queue = queue_name(&queue)?;
    let now = unix_minute(SystemTime::now());
    let ((mut row, minutes), counts) = futures::try_join!(
        read_queue(&d, queue, Some(history::range(now))),
        separate_failed_counts(&d)
    )?;
    if let Some(counts) = &counts {
        row.set_failed_from(counts);
    }
    let charts: Charts = history::charts(now, &minutes);
    Ok(Json(json!({
        "read_only": d.config().read_only,
        "queue": row,
        "history": charts,
    })))
}
