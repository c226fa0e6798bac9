//! The scheduler task: every worker runs one. It upserts the schedules declared
//! with [`WorkerBuilder::schedule`](crate::WorkerBuilder::schedule), then lists
//! the stored schedules at the earliest next run (and at least every second, to
//! see operators' changes), and fires each due tick with the store's atomic
//! [`fire_tick`](routemq_core::ScheduleStore::fire_tick): however many workers
//! race, each tick is enqueued once. Missed ticks follow each schedule's policy
//! ([`plan_tick`]). It stops when the worker stops claiming.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use routemq_core::{plan_tick, Driver, DriverError, FireOutcome, Schedule, ScheduleState};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backend_retry::Incident;

/// The longest pause between two looks at the stored schedules.
pub(crate) const POLL_MAX: Duration = Duration::from_secs(1);
/// The shortest pause, so a clock that disagrees with a stored next run cannot
/// make the task spin.
const POLL_MIN: Duration = Duration::from_millis(5);
/// Steps one schedule may take in one pass (a long outage is one step; this
/// bounds a burst of due ticks after it).
const MAX_STEPS: usize = 1_000;

/// Starts the scheduler; cancel `stop` to end it.
pub(crate) fn spawn(
    driver: Arc<dyn Driver>,
    declared: Vec<Schedule>,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut scheduler = Scheduler {
            driver,
            broken: HashSet::new(),
        };
        let mut incident = Incident::new("schedules");
        let mut pending = declared;
        loop {
            let pause = match scheduler.turn(&mut pending).await {
                Ok(pause) => {
                    incident.recovered();
                    pause
                }
                Err(e) => incident.failed(&e).min(POLL_MAX),
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    })
}

struct Scheduler {
    driver: Arc<dyn Driver>,
    /// Schedules whose ticks cannot be planned, warned about once.
    broken: HashSet<String>,
}

impl Scheduler {
    /// Upserts what is still to be declared, then one pass; returns the pause
    /// until the next.
    async fn turn(&mut self, pending: &mut Vec<Schedule>) -> Result<Duration, DriverError> {
        while let Some(s) = pending.last() {
            let now = SystemTime::now();
            match s.next_after(now) {
                Ok(next) => match self.driver.upsert_schedule(s, next).await {
                    Ok(outcome) => {
                        tracing::info!(schedule = %s.name, spec = %s.spec, ?outcome, "schedule declared")
                    }
                    // Retried after a pause, like any backend error.
                    Err(e) if e.is_transient() => return Err(e),
                    Err(e) => {
                        tracing::error!(schedule = %s.name, error = %e, "the backend refused a declared schedule; not stored")
                    }
                },
                Err(e) => {
                    tracing::error!(schedule = %s.name, error = %e, "a declared schedule has no next run; not stored")
                }
            }
            pending.pop();
        }
        let states = self.driver.schedules().await?;
        let mut earliest: Option<SystemTime> = None;
        for state in states {
            if let Some(next) = self.fire_due(state).await? {
                earliest = Some(earliest.map_or(next, |e| e.min(next)));
            }
        }
        // No schedule stored: look again after POLL_MAX (an operator may add
        // one). A next run already past: at once (POLL_MIN).
        let until = earliest.map_or(POLL_MAX, |t| {
            t.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
        Ok(until.clamp(POLL_MIN, POLL_MAX))
    }

    /// Fires every due step of one schedule; returns its next run (`None` when it
    /// is gone or cannot be planned).
    async fn fire_due(
        &mut self,
        mut state: ScheduleState,
    ) -> Result<Option<SystemTime>, DriverError> {
        let name = state.schedule.name.clone();
        for _ in 0..MAX_STEPS {
            let tick = match plan_tick(&state, SystemTime::now()) {
                Ok(Some(tick)) => tick,
                Ok(None) => break,
                Err(e) => {
                    if self.broken.insert(name.clone()) {
                        tracing::error!(schedule = %name, error = %e, "cannot plan the schedule's next tick; it does not fire until it is fixed");
                    }
                    return Ok(None);
                }
            };
            let (next, jobs, expected) = (tick.next, tick.jobs.len(), tick.expected);
            match self.driver.fire_tick(tick).await? {
                FireOutcome::Fired => {
                    tracing::debug!(schedule = %name, jobs, tick_ms = routemq_core::unix_ms(expected), "schedule fired");
                    if jobs == 0 {
                        tracing::info!(schedule = %name, "missed ticks skipped");
                    }
                    state.next_run = next;
                }
                FireOutcome::Stale { next_run } => state.next_run = next_run,
                FireOutcome::Gone => return Ok(None),
            }
        }
        self.broken.remove(&name);
        Ok(Some(state.next_run))
    }
}
