//! The watch over this worker's running jobs: a few times a second it writes
//! their run records (this worker's id and the latest progress, coalesced: one
//! `record_runs` call for every job whose progress changed, and one for each job
//! that has run a whole pass, so `routemq job show` names its worker), and asks
//! the backend which of them were cancelled, raising their signal.
//!
//! Jobs that finish within one pass cost nothing here; a drain of short jobs
//! pays one `cancel_requests` round trip per pass.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use routemq_core::{AttemptSignals, Driver, JobId, Lease, RunReport};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backend_retry::Incident;

/// How often the watch writes progress and looks for cancel requests.
pub(crate) const WATCH_EVERY: Duration = Duration::from_millis(250);

/// One running attempt as the watch sees it.
struct Watched {
    lease: Arc<Mutex<Lease>>,
    signals: Arc<AttemptSignals>,
    started: Instant,
    /// A record naming this worker was written.
    reported: bool,
}

/// This worker's running attempts, shared by the job runner and the watch task.
pub(crate) struct JobWatch {
    worker_id: String,
    next: AtomicU64,
    running: Mutex<HashMap<u64, Watched>>,
}

/// Keeps an attempt on the watch until dropped.
pub(crate) struct WatchEntry<'a> {
    watch: &'a JobWatch,
    key: u64,
}

impl Drop for WatchEntry<'_> {
    fn drop(&mut self) {
        self.watch.lock().remove(&self.key);
    }
}

impl JobWatch {
    /// An empty watch for the worker `worker_id`.
    pub(crate) fn new(worker_id: String) -> Arc<Self> {
        Arc::new(JobWatch {
            worker_id,
            next: AtomicU64::new(0),
            running: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Watched>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The worker's id, as run records name it.
    pub(crate) fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Watches an attempt until the returned entry is dropped.
    pub(crate) fn enter(
        &self,
        lease: Arc<Mutex<Lease>>,
        signals: Arc<AttemptSignals>,
    ) -> WatchEntry<'_> {
        self.insert(lease, signals, false)
    }

    /// Watches a job claimed ahead while it waits for a slot, for cancel
    /// requests only: no run record names this worker before the job starts
    /// (it then enters the watch again with [`enter`](Self::enter)).
    pub(crate) fn enter_waiting(
        &self,
        lease: Arc<Mutex<Lease>>,
        signals: Arc<AttemptSignals>,
    ) -> WatchEntry<'_> {
        self.insert(lease, signals, true)
    }

    fn insert(
        &self,
        lease: Arc<Mutex<Lease>>,
        signals: Arc<AttemptSignals>,
        reported: bool,
    ) -> WatchEntry<'_> {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            key,
            Watched {
                lease,
                signals,
                started: Instant::now(),
                reported,
            },
        );
        WatchEntry { watch: self, key }
    }

    /// The reports due now: jobs whose progress changed, and jobs running a
    /// whole pass without a record yet.
    fn due_reports(&self) -> Vec<(u64, RunReport)> {
        let mut map = self.lock();
        let mut out = Vec::new();
        for (key, w) in map.iter_mut() {
            let changed = w.signals.take_changed();
            let first = !w.reported && w.started.elapsed() >= WATCH_EVERY;
            if changed || first {
                w.reported = true;
                out.push((
                    *key,
                    RunReport {
                        lease: w.lease.lock().unwrap_or_else(|p| p.into_inner()).clone(),
                        worker: self.worker_id.clone(),
                        progress: w.signals.progress(),
                        error: None,
                    },
                ));
            }
        }
        out
    }

    /// Marks reports that could not be written to be sent again.
    fn retry_reports(&self, keys: &[u64]) {
        let mut map = self.lock();
        for key in keys {
            if let Some(w) = map.get_mut(key) {
                w.reported = false;
                w.signals.mark_changed();
            }
        }
    }

    /// The leases of the running attempts.
    fn leases(&self) -> Vec<Lease> {
        self.lock()
            .values()
            .map(|w| w.lease.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    /// Raises the cancel signal of the attempts of `ids`.
    fn cancel(&self, ids: &[JobId]) {
        for w in self.lock().values() {
            let id = &w.lease.lock().unwrap_or_else(|p| p.into_inner()).job_id;
            if ids.contains(id) && !w.signals.is_cancelled() {
                tracing::info!(job_id = %id, "the job was cancelled; stopping it");
                w.signals.cancel();
            }
        }
    }

    /// One pass: write the due reports, then look for cancel requests. Errors
    /// are returned after both steps were tried; reports not written go again.
    async fn pass(&self, driver: &dyn Driver) -> Result<(), routemq_core::DriverError> {
        let due = self.due_reports();
        let mut first_error = None;
        if !due.is_empty() {
            let (keys, reports): (Vec<u64>, Vec<RunReport>) = due.into_iter().unzip();
            if let Err(e) = driver.record_runs(&reports).await {
                self.retry_reports(&keys);
                first_error = Some(e);
            }
        }
        let leases = self.leases();
        if !leases.is_empty() {
            match driver.cancel_requests(&leases).await {
                Ok(ids) if !ids.is_empty() => self.cancel(&ids),
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Starts the watch task; it ends when `stop` is cancelled.
pub(crate) fn spawn(
    driver: Arc<dyn Driver>,
    watch: Arc<JobWatch>,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut incident = Incident::new("job watch");
        loop {
            let pause = tokio::select! {
                _ = stop.cancelled() => break,
                res = watch.pass(&*driver) => match res {
                    Ok(()) => {
                        incident.recovered();
                        WATCH_EVERY
                    }
                    Err(e) => incident.failed(&e).max(WATCH_EVERY),
                },
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    })
}
