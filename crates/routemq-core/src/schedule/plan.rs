//! What a worker does about a schedule whose next run has come: fire it, or apply
//! the missed-tick policy. Pure: the same state and clock give the same step.

use std::time::{Duration, SystemTime};

use super::{MissedTicks, ScheduleError, ScheduleState};
use crate::{CodecError, Tick};

/// A tick more than this late when a worker first sees it counts as missed (no
/// worker ran at its time) and follows the schedule's [`MissedTicks`] policy;
/// a tick less late is fired as usual, so a busy machine or a short backend
/// outage loses nothing.
pub const MISSED_AFTER: Duration = Duration::from_secs(5);

/// Why a step could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The schedule's spec gives no next tick.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The job could not be encoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// The step to fire for `state` at `now`, or `None` when its next run is still
/// ahead.
///
/// - Next run on time (at most [`MISSED_AFTER`] ago): one job for it, and the next
///   run moves to the tick after it.
/// - Next run missed: the oldest missed ticks up to the policy's catch-up count
///   (none for [`MissedTicks::Skip`]) get a job each, all in one step, and the next
///   run jumps to the first tick that is not missed. Ticks after it that are
///   already due are fired by the following steps.
///
/// Because one step covers a whole outage, two workers that disagree on whether a
/// tick is missed still fire it at most once: the store applies only one step per
/// expected next run.
pub fn plan_tick(state: &ScheduleState, now: SystemTime) -> Result<Option<Tick>, PlanError> {
    let schedule = &state.schedule;
    let first = state.next_run;
    if first > now {
        return Ok(None);
    }
    let cutoff = now
        .checked_sub(MISSED_AFTER)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut jobs = Vec::new();
    let mut last_run = None;
    let next = if first >= cutoff {
        jobs.push(schedule.pending_job(first)?);
        last_run = Some(first);
        schedule.next_after(first)?
    } else {
        let catch_up = match schedule.missed {
            MissedTicks::Skip => 0,
            MissedTicks::CatchUp(n) => n.min(MissedTicks::MAX_CATCH_UP),
        };
        let mut t = first;
        while t < cutoff && (jobs.len() as u32) < catch_up {
            jobs.push(schedule.pending_job(t)?);
            last_run = Some(t);
            t = schedule.next_after(t)?;
        }
        if t >= cutoff {
            t
        } else {
            // The first tick at or after the cutoff.
            schedule.next_after(cutoff - Duration::from_millis(1))?
        }
    };
    Ok(Some(Tick {
        name: schedule.name.clone(),
        queue: schedule.queue.clone(),
        expected: first,
        next,
        jobs,
        last_run,
    }))
}
