//! The run loop: claim while slots are free, wait when idle, reclaim expired
//! leases, stop on shutdown or a limit, then drain running jobs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use futures::future::{Fuse, FusedFuture, FutureExt};
use futures::stream::{FuturesUnordered, StreamExt};
use routemq_core::{unix_ms, Driver, Reservation, WorkerInfo};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend_retry::Incident;
use crate::builder::Config;
use crate::claimed_ahead::SlotTurn;
use crate::execute::JobRunner;
use crate::history_recorder::{self, HistoryRecorder};
use crate::job_watch::{self, JobWatch};
use crate::stats::{StopReason, WorkerReport, WorkerStats};
use crate::{acker, heartbeat, scheduler, Worker, WorkerError};

mod claims;
mod idle;

use claims::{claim_call, ClaimCall, ClaimDone, MAX_CLAIMS_IN_FLIGHT};

type Shutdown<'a, F> = Pin<&'a mut Fuse<F>>;

/// What one turn of the claim loop got.
enum Step {
    Stop(StopReason),
    Slot(OwnedSemaphorePermit),
    Claimed(ClaimDone),
}

impl Worker {
    /// Runs until `shutdown` resolves (then shuts down gracefully: stops claiming,
    /// gives running jobs up to `shutdown_grace`, releases the rest for another
    /// worker) or a limit (`max_jobs`, `max_time`, `once`, `stop_when_empty`) is
    /// reached. Backend errors never end the run: they are retried with backoff.
    pub async fn run_until<F: Future<Output = ()>>(
        self,
        shutdown: F,
    ) -> Result<WorkerReport, WorkerError> {
        let start = Instant::now();
        let Worker {
            driver,
            registry,
            config,
            stats,
            id,
        } = self;
        tracing::info!(worker_id = %id, queues = ?config.queues, concurrency = config.concurrency,
            jobs = ?registry.names(), "worker started");

        let heartbeat_stop = CancellationToken::new();
        let heartbeat = heartbeat::spawn(
            driver.clone(),
            worker_info(&id, &config),
            stats.clone(),
            config.heartbeat_every,
            heartbeat_stop.clone(),
        );
        let scheduler_stop = CancellationToken::new();
        let scheduler = config.run_schedules.then(|| {
            scheduler::spawn(
                driver.clone(),
                config.schedules.clone(),
                scheduler_stop.clone(),
            )
        });
        let history = config
            .record_history
            .then(|| Arc::new(HistoryRecorder::new(&config.queues)));
        let history_stop = CancellationToken::new();
        let history_task = history.clone().map(|recorder| {
            history_recorder::spawn(
                driver.clone(),
                recorder,
                config.history_flush,
                history_stop.clone(),
            )
        });
        let (ack_sender, acker_task) = acker::spawn(driver.clone());
        let watch = JobWatch::new(id.clone());
        let watch_stop = CancellationToken::new();
        let watch_task = job_watch::spawn(driver.clone(), watch.clone(), watch_stop.clone());
        let runner = Arc::new(JobRunner {
            driver: driver.clone(),
            registry,
            config: config.clone(),
            stats: stats.clone(),
            acker: ack_sender,
            hard_stop: CancellationToken::new(),
            stop_starting: CancellationToken::new(),
            watch,
            history,
        });
        let mut run = RunLoop {
            driver,
            slots: Arc::new(Semaphore::new(config.held_at_most())),
            running: Arc::new(Semaphore::new(config.concurrency)),
            deadline: config.max_time.map(|t| start + t),
            config,
            stats: stats.clone(),
            runner,
            tracker: TaskTracker::new(),
            finished: Arc::new(Notify::new()),
            next_reclaim: Instant::now(),
            claimed: 0,
            claim_incident: Incident::new("claim"),
            reclaim_incident: Incident::new("reclaim_expired"),
            empty_after_wake: false,
            queue_busy: false,
        };

        let shutdown = shutdown.fuse();
        futures::pin_mut!(shutdown);
        let reason = run.claim_loop(shutdown.as_mut()).await;
        tracing::info!(reason = ?reason, running = stats.snapshot().running, "stopped claiming");
        scheduler_stop.cancel();
        if let Some(task) = scheduler {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the scheduler task failed");
            }
        }
        run.drain(reason, shutdown.as_mut()).await;
        drop(run); // drops the last ack sender: the acker finishes and stops
        if let Err(e) = acker_task.await {
            tracing::error!(error = %e, "the acker task failed");
        }
        // Every job is settled: the last flush writes all that was counted.
        history_stop.cancel();
        if let Some(task) = history_task {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the history task failed");
            }
        }
        watch_stop.cancel();
        if let Err(e) = watch_task.await {
            tracing::error!(error = %e, "the job watch task failed");
        }
        heartbeat_stop.cancel();
        if let Err(e) = heartbeat.await {
            tracing::error!(error = %e, "the heartbeat task failed");
        }
        let report = WorkerReport::new(id, reason, start.elapsed(), stats.snapshot());
        tracing::info!(
            processed = report.counts.processed,
            failed = report.counts.failed,
            retried = report.counts.retried,
            released = report.counts.released_on_shutdown,
            "worker stopped"
        );
        Ok(report)
    }
}

fn worker_info(id: &str, config: &Config) -> WorkerInfo {
    let now = unix_ms(SystemTime::now());
    WorkerInfo {
        id: id.to_owned(),
        host: hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "unknown".to_owned()),
        pid: std::process::id(),
        queues: config.queues.iter().map(|q| q.to_string()).collect(),
        concurrency: u32::try_from(config.concurrency).unwrap_or(u32::MAX),
        prefetch: u32::try_from(config.prefetch).unwrap_or(u32::MAX),
        running: 0,
        processed: 0,
        failed: 0,
        started_at_ms: now,
        last_seen_ms: now,
    }
}

/// Sleeps until `at`, or forever when there is no deadline.
async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

struct RunLoop {
    driver: Arc<dyn Driver>,
    config: Arc<Config>,
    stats: Arc<WorkerStats>,
    runner: Arc<JobRunner>,
    /// One permit per job the worker may hold claimed (`concurrency +
    /// prefetch`): a claim holds the permits of the jobs it asks for, a job
    /// holds its permit until settled.
    slots: Arc<Semaphore>,
    /// One permit per concurrency slot: a job holds one while it runs (see
    /// `claimed_ahead.rs`).
    running: Arc<Semaphore>,
    tracker: TaskTracker,
    /// Signalled (one stored permit) whenever a job is settled.
    finished: Arc<Notify>,
    deadline: Option<Instant>,
    next_reclaim: Instant,
    claimed: u64,
    claim_incident: Incident,
    reclaim_incident: Incident,
    /// The last idle wait returned empty at once: the next one starts a little
    /// later (`MIN_IDLE_GAP` in `idle.rs`) so a driver that keeps returning at
    /// once cannot make the worker spin.
    empty_after_wake: bool,
    /// The last claim filled every slot it asked for: jobs are waiting.
    queue_busy: bool,
}

impl RunLoop {
    /// Claims and starts jobs until shutdown or a limit; returns why it stopped.
    ///
    /// While the queue is busy, up to [`MAX_CLAIMS_IN_FLIGHT`] claims overlap: the
    /// next batch is asked for while the reply to the last one is on its way, so
    /// freed slots do not sit idle for a round trip. Each claim holds the permits of
    /// the slots it asks for, so the worker never holds more jobs than its
    /// concurrency plus its prefetch. When idle, one claim at a time.
    async fn claim_loop<F: Future<Output = ()>>(
        &mut self,
        shutdown: Shutdown<'_, F>,
    ) -> StopReason {
        let mut in_flight: FuturesUnordered<ClaimCall> = FuturesUnordered::new();
        // A claim's reply that arrived while gathering slots for the next one.
        let mut arrived: Option<ClaimDone> = None;
        let reason = self
            .claim_until_stop(shutdown, &mut in_flight, &mut arrived)
            .await;
        if reason == StopReason::Shutdown {
            self.runner.stop_starting.cancel();
        }
        self.give_back(arrived, in_flight).await;
        reason
    }

    /// [`claim_loop`](Self::claim_loop) without the cleanup: claims still in flight
    /// when it returns are left in `in_flight` and `arrived`.
    async fn claim_until_stop<F: Future<Output = ()>>(
        &mut self,
        mut shutdown: Shutdown<'_, F>,
        in_flight: &mut FuturesUnordered<ClaimCall>,
        arrived: &mut Option<ClaimDone>,
    ) -> StopReason {
        let budget = self.config.job_budget();
        let limit_reason = if self.config.once {
            StopReason::Once
        } else {
            StopReason::MaxJobs
        };
        let mut waited_once = false;
        // `stop_when_empty`: the last claim came back empty with every slot free.
        let mut empty_once = false;
        // Jobs asked for by the claims in flight.
        let mut requested: u64 = 0;
        // After a claim error: no new claim before this instant.
        let mut paused_until: Option<Instant> = None;
        loop {
            let left = budget.map(|b| b.saturating_sub(self.claimed + requested));
            if in_flight.is_empty() && arrived.is_none() && left == Some(0) {
                return limit_reason;
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return StopReason::MaxTime;
            }
            if Instant::now() >= self.next_reclaim {
                self.reclaim_expired().await;
            }
            let max_in_flight = if self.queue_busy {
                MAX_CLAIMS_IN_FLIGHT
            } else {
                1
            };
            let may_claim = in_flight.len() < max_in_flight
                && left != Some(0)
                && paused_until.is_none_or(|t| Instant::now() >= t);
            let step = if let Some(done) = arrived.take() {
                Step::Claimed(done)
            } else {
                tokio::select! {
                    biased;
                    _ = &mut shutdown => Step::Stop(StopReason::Shutdown),
                    _ = sleep_until_opt(self.deadline) => Step::Stop(StopReason::MaxTime),
                    done = in_flight.next(), if !in_flight.is_empty() => match done {
                        Some(done) => Step::Claimed(done),
                        None => continue,
                    },
                    _ = sleep_until_opt(paused_until), if paused_until.is_some() => {
                        paused_until = None;
                        continue;
                    }
                    _ = tokio::time::sleep_until(self.next_reclaim) => continue,
                    permit = self.slots.clone().acquire_owned(), if may_claim => match permit {
                        Ok(p) => Step::Slot(p),
                        Err(_) => Step::Stop(StopReason::Shutdown),
                    },
                }
            };
            match step {
                Step::Stop(reason) => return reason,
                Step::Slot(first) => {
                    let want =
                        left.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
                    let (permits, done) = self.gather(first, want, in_flight).await;
                    *arrived = done;
                    requested += permits.len() as u64;
                    in_flight.push(claim_call(
                        self.driver.clone(),
                        self.config.clone(),
                        permits,
                    ));
                }
                Step::Claimed((permits, claimed)) => {
                    requested -= permits.len() as u64;
                    match claimed {
                        Err(e) => {
                            drop(permits);
                            let delay = self.claim_incident.failed(&e);
                            paused_until = Some(Instant::now() + delay);
                        }
                        Ok(reservations) if reservations.is_empty() => {
                            self.claim_incident.recovered();
                            self.queue_busy = false;
                            drop(permits);
                            if !in_flight.is_empty() {
                                continue; // the other claim's reply decides
                            }
                            if self.config.stop_when_empty
                                && self.slots.available_permits() == self.config.held_at_most()
                            {
                                // Empty twice in a row: a claim can come back
                                // empty while another transaction holds the
                                // queue's rows for a moment (SKIP LOCKED passes
                                // over them; on MySQL, a reclaim's scan).
                                if empty_once {
                                    return StopReason::Empty;
                                }
                                empty_once = true;
                                continue;
                            }
                            if self.config.once {
                                if waited_once {
                                    return StopReason::Once;
                                }
                                waited_once = true;
                            }
                            let left = budget.map(|b| b.saturating_sub(self.claimed + requested));
                            let want = left
                                .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
                            let (done, reason) = self.idle(shutdown.as_mut(), want).await;
                            if let Some(done) = done {
                                requested += done.0.len() as u64;
                                *arrived = Some(done);
                            }
                            if let Some(reason) = reason {
                                return reason;
                            }
                        }
                        Ok(reservations) => {
                            self.claim_incident.recovered();
                            self.empty_after_wake = false;
                            empty_once = false;
                            if reservations.len() > permits.len() {
                                tracing::error!(asked = permits.len(), got = reservations.len(),
                                    "the driver returned more jobs than asked; the extra ones run after their lease expires");
                            }
                            self.queue_busy = reservations.len() >= permits.len();
                            let n = reservations.len().min(permits.len());
                            self.claimed += n as u64;
                            self.stats.add_claimed(n as u64);
                            for (reservation, permit) in reservations.into_iter().zip(permits) {
                                self.start(reservation, permit);
                            }
                            if !self.queue_busy {
                                // Let the jobs just started run first. Without the
                                // yield, the next claim's send woke the connection's
                                // task, which took the runtime's next-task slot and
                                // pushed the job to the queue another thread steals
                                // from: an idle worker's job started about 65 µs after
                                // its claim's reply instead of about 20. A busy worker
                                // (every slot it asked for filled) claims at once.
                                tokio::task::yield_now().await;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs one job in the background once a running slot is free (at once
    /// without prefetch); its permits are freed once it is settled.
    fn start(&self, reservation: Reservation, permit: OwnedSemaphorePermit) {
        let runner = self.runner.clone();
        let finished = self.finished.clone();
        let turn = SlotTurn::take(&self.running);
        self.tracker.spawn(async move {
            if let Some((reservation, slot)) = runner.wait_for_slot(reservation, turn).await {
                runner.run(reservation).await;
                drop(slot);
            }
            drop(permit);
            finished.notify_one();
        });
    }

    /// Makes expired reservations on our queues claimable again (or failed).
    async fn reclaim_expired(&mut self) {
        let every = self.config.reclaim_every();
        match self.driver.reclaim_expired(&self.config.queues).await {
            Ok(report) => {
                self.reclaim_incident.recovered();
                if report.released + report.failed > 0 {
                    tracing::info!(
                        released = report.released,
                        failed = report.failed,
                        "reclaimed expired leases"
                    );
                }
                self.next_reclaim = Instant::now() + every;
            }
            Err(e) => {
                let delay = self.reclaim_incident.failed(&e);
                self.next_reclaim = Instant::now() + delay.min(every);
            }
        }
    }

    /// Waits for running jobs. After a shutdown request (before or during the
    /// wait) they get `shutdown_grace`; then they are stopped and released, and
    /// jobs claimed ahead that have not started are released at once. After a
    /// limit, they run to their end, and so do jobs claimed ahead.
    async fn drain<F: Future<Output = ()>>(
        &mut self,
        reason: StopReason,
        mut shutdown: Shutdown<'_, F>,
    ) {
        self.tracker.close();
        let grace = self.config.shutdown_grace;
        let mut grace_until = (reason == StopReason::Shutdown || shutdown.is_terminated())
            .then(|| Instant::now() + grace);
        if grace_until.is_some() {
            self.runner.stop_starting.cancel();
        }
        loop {
            tokio::select! {
                biased;
                _ = self.tracker.wait() => return,
                _ = &mut shutdown, if grace_until.is_none() => {
                    tracing::info!("shutdown asked while finishing running jobs; they get the grace period");
                    grace_until = Some(Instant::now() + grace);
                    self.runner.stop_starting.cancel();
                }
                _ = sleep_until_opt(grace_until) => {
                    tracing::warn!(running = self.stats.snapshot().running,
                        "shutdown grace is over; stopping running jobs and releasing them for another worker");
                    self.runner.hard_stop.cancel();
                    self.tracker.wait().await;
                    return;
                }
            }
        }
    }
}
