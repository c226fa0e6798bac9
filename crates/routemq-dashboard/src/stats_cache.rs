//! Queue counts shared by every viewer of one dashboard.
//!
//! Counting is cheap on Redis (list and set lengths) but not on MySQL, where a
//! queue's ready count is an index range count: about 0.2 s for a million
//! ready jobs. Every open page refreshes every 5 s, so the dashboard reads each
//! queue's [`QueueStats`] at most once per [`FRESH`] for all viewers together,
//! and answers from the last reading while a newer one is taken in the
//! background (a reading younger than [`KEPT`] is served at once, with its age;
//! an older one, or none, is read before answering). `serve` reads every queue's
//! counts once when it starts ([`StatsCache::read_ahead`]), so the first page
//! is answered from them too. Any change made through the dashboard
//! (pause, retry, cancel, …) drops every reading, so the page that made it shows
//! its effect at once.
//!
//! A background reading that fails is logged and leaves the older reading in
//! place; once that is older than [`KEPT`], the next request reads inline and
//! returns the backend's error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use routemq_core::{Driver, DriverError, QueueName, QueueStats};

/// How long a reading is served without asking for a newer one.
pub(crate) const FRESH: Duration = Duration::from_secs(2);
/// How long a reading may be served while a newer one is taken: the page
/// shows a reading's age, and its next refresh (5 s later) shows the newer one.
pub(crate) const KEPT: Duration = Duration::from_secs(60);

/// The shared readings (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct StatsCache {
    readings: Mutex<HashMap<QueueName, Reading>>,
}

#[derive(Debug, Clone)]
struct Reading {
    stats: QueueStats,
    taken_at: Instant,
    refreshing: bool,
}

/// A reading and how old it is.
pub(crate) type Counted = (QueueStats, Duration);

enum Plan {
    Serve(Counted),
    ServeAndRefresh(Counted),
    Read,
}

impl StatsCache {
    /// `queue`'s counts and their age: a reading younger than [`FRESH`], else a
    /// reading younger than [`KEPT`] while a newer one is taken in the
    /// background, else a reading taken now.
    pub(crate) async fn stats(
        self: &Arc<Self>,
        driver: &Arc<dyn Driver>,
        queue: &QueueName,
    ) -> Result<Counted, DriverError> {
        match self.plan(queue) {
            Plan::Serve(counted) => Ok(counted),
            Plan::ServeAndRefresh(counted) => {
                let (cache, driver, queue) = (self.clone(), driver.clone(), queue.clone());
                tokio::spawn(async move {
                    let read = driver.stats(&queue).await;
                    if let Err(e) = &read {
                        tracing::warn!(queue = %queue, error = %e, "dashboard: reading the queue's counts failed; the last reading is shown");
                    }
                    cache.store(&queue, read.ok());
                });
                Ok(counted)
            }
            Plan::Read => {
                let stats = driver.stats(queue).await?;
                self.store(queue, Some(stats.clone()));
                Ok((stats, Duration::ZERO))
            }
        }
    }

    /// Reads every known queue's counts in the background, so that the first
    /// page shown is answered from them (a failure is logged; pages then read
    /// inline).
    pub(crate) fn read_ahead(self: &Arc<Self>, driver: &Arc<dyn Driver>) {
        let (cache, driver) = (self.clone(), driver.clone());
        tokio::spawn(async move {
            let queues = match driver.queues().await {
                Ok(queues) => queues,
                Err(e) => {
                    tracing::warn!(error = %e, "dashboard: listing the queues to count them ahead failed");
                    return;
                }
            };
            for queue in queues {
                match driver.stats(&queue).await {
                    Ok(stats) => cache.store(&queue, Some(stats)),
                    Err(e) => {
                        tracing::warn!(queue = %queue, error = %e, "dashboard: counting ahead failed");
                        return;
                    }
                }
            }
        });
    }

    /// Drops every reading: the next request for any queue reads anew.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn plan(&self, queue: &QueueName) -> Plan {
        let mut readings = self.lock();
        let Some(reading) = readings.get_mut(queue) else {
            return Plan::Read;
        };
        let age = reading.taken_at.elapsed();
        if age < FRESH {
            Plan::Serve((reading.stats.clone(), age))
        } else if age < KEPT {
            if reading.refreshing {
                Plan::Serve((reading.stats.clone(), age))
            } else {
                reading.refreshing = true;
                Plan::ServeAndRefresh((reading.stats.clone(), age))
            }
        } else {
            Plan::Read
        }
    }

    /// Keeps `stats` as `queue`'s newest reading, or (`None`, a failed
    /// background reading) lets the next request try again.
    fn store(&self, queue: &QueueName, stats: Option<QueueStats>) {
        let mut readings = self.lock();
        match stats {
            Some(stats) => {
                readings.insert(
                    queue.clone(),
                    Reading {
                        stats,
                        taken_at: Instant::now(),
                        refreshing: false,
                    },
                );
            }
            None => {
                if let Some(reading) = readings.get_mut(queue) {
                    reading.refreshing = false;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<QueueName, Reading>> {
        self.readings.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use routemq_core::{Codec, Envelope, MemoryDriver, PendingJob};

    async fn push(driver: &Arc<dyn Driver>, queue: &QueueName) {
        let envelope = Envelope::new("t", queue.clone(), Codec::Json, b"{}".to_vec());
        driver
            .push(PendingJob::new(&envelope, None).unwrap())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn readings_are_shared_refreshed_in_the_background_and_cleared() {
        let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
        let queue = QueueName::new("q").unwrap();
        let cache = Arc::new(StatsCache::default());
        push(&driver, &queue).await;
        assert_eq!(cache.stats(&driver, &queue).await.unwrap().0.ready, 1);
        push(&driver, &queue).await;
        // Fresh: the first reading is served.
        assert_eq!(cache.stats(&driver, &queue).await.unwrap().0.ready, 1);
        cache.clear();
        assert_eq!(cache.stats(&driver, &queue).await.unwrap().0.ready, 2);
        // Stale: served once more while a newer reading is taken.
        push(&driver, &queue).await;
        tokio::time::sleep(FRESH + Duration::from_millis(100)).await;
        assert_eq!(cache.stats(&driver, &queue).await.unwrap().0.ready, 2);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let ready = cache.stats(&driver, &queue).await.unwrap().0.ready;
            if ready == 3 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the background reading never landed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
