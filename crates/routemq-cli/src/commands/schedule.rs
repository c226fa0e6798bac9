//! `routemq schedule add|list|remove|run`: recurring jobs kept in the backend and
//! fired by every `routemq work`.

use std::sync::Arc;
use std::time::SystemTime;

use routemq_core::{
    unix_ms, Driver, MissedTicks, Schedule, ScheduleSpec, ScheduleState, UpsertOutcome,
};
use serde::Serialize;

use crate::cli::{ScheduleAddArgs, ScheduleCommand};
use crate::commands::queue_arg;
use crate::output::Output;
use crate::CliError;

/// A schedule as printed.
#[derive(Serialize)]
struct ScheduleView {
    name: String,
    /// `cron "EXPR" (ZONE)` or `every 30s`.
    spec: String,
    cron: Option<String>,
    tz: Option<String>,
    every_ms: Option<u64>,
    job: String,
    queue: String,
    data: serde_json::Value,
    missed: String,
    max_tries: Option<u32>,
    timeout_ms: Option<u64>,
    next_run: String,
    next_run_ms: i64,
    last_run: Option<String>,
    last_run_ms: Option<i64>,
    last_job_id: Option<String>,
}

fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

impl ScheduleView {
    fn new(state: &ScheduleState) -> Self {
        let s = &state.schedule;
        let (cron, tz, every_ms) = match &s.spec {
            ScheduleSpec::Cron { expr, tz } => (Some(expr.clone()), Some(tz.clone()), None),
            ScheduleSpec::EveryMs(ms) => (None, None, Some(*ms)),
        };
        ScheduleView {
            name: s.name.clone(),
            spec: s.spec.to_string(),
            cron,
            tz,
            every_ms,
            job: s.job.clone(),
            queue: s.queue.to_string(),
            data: s.data.clone(),
            missed: s.missed.to_string(),
            max_tries: s.max_tries,
            timeout_ms: s.timeout_ms,
            next_run: time(state.next_run),
            next_run_ms: unix_ms(state.next_run),
            last_run: state.last_run.map(time),
            last_run_ms: state.last_run.map(unix_ms),
            last_job_id: state.last_job_id.as_ref().map(|id| id.to_string()),
        }
    }
}

pub(crate) async fn run(
    driver: Arc<dyn Driver>,
    command: &ScheduleCommand,
    known_jobs: &[&str],
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    match command {
        ScheduleCommand::Add(args) => add(driver, args, known_jobs, out).await,
        ScheduleCommand::List => list(driver, out).await,
        ScheduleCommand::Remove { name } => {
            if !driver.remove_schedule(name).await? {
                return Err(not_found(name));
            }
            out.either(
                &serde_json::json!({ "name": name, "removed": true }),
                format!("removed schedule {name}; jobs it enqueued stay"),
            )
        }
        ScheduleCommand::Run { name } => run_now(driver, name, out).await,
    }
}

fn not_found(name: &str) -> CliError {
    CliError::NotFound(format!(
        "no schedule named {name:?} (see `routemq schedule list`)"
    ))
}

/// The schedule `args` describe, each bad part refused naming its flag.
fn schedule_of(args: &ScheduleAddArgs) -> Result<Schedule, CliError> {
    let spec = match (&args.cron, args.every) {
        (Some(expr), _) => {
            ScheduleSpec::cron(expr.as_str(), args.tz.as_str()).map_err(|source| {
                let flag = match source {
                    routemq_core::ScheduleError::BadTimeZone { .. } => "--tz",
                    _ => "--cron",
                };
                CliError::ScheduleUsage { flag, source }
            })?
        }
        (None, Some(every)) => {
            ScheduleSpec::every(every).map_err(|source| CliError::ScheduleUsage {
                flag: "--every",
                source,
            })?
        }
        (None, None) => return Err(CliError::usage("--cron", "give --cron EXPR or --every D")),
    };
    let missed: MissedTicks = args
        .missed
        .parse()
        .map_err(|source| CliError::ScheduleUsage {
            flag: "--missed",
            source,
        })?;
    let data: serde_json::Value = serde_json::from_str(&args.data)
        .map_err(|e| CliError::usage("--data", format!("is not valid JSON: {e}")))?;
    let mut schedule = Schedule::new(args.name.as_str(), spec, args.job.as_str())
        .map_err(|source| CliError::ScheduleUsage {
            flag: match source {
                routemq_core::ScheduleError::NoJobName => "--job",
                _ => "NAME",
            },
            source,
        })?
        .queue(queue_arg("--queue", &args.queue)?)
        .data(data)
        .missed(missed);
    if let Some(tries) = args.tries {
        if tries == 0 {
            return Err(CliError::usage("--tries", "must be at least 1"));
        }
        schedule = schedule.max_tries(tries);
    }
    if let Some(timeout) = args.timeout {
        schedule = schedule.timeout(timeout);
    }
    Ok(schedule)
}

async fn add(
    driver: Arc<dyn Driver>,
    args: &ScheduleAddArgs,
    known_jobs: &[&str],
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let schedule = schedule_of(args)?;
    let next =
        schedule
            .next_after(SystemTime::now())
            .map_err(|source| CliError::ScheduleUsage {
                flag: "--cron",
                source,
            })?;
    if !known_jobs.contains(&schedule.job.as_str()) {
        eprintln!(
            "routemq: note: no job type {:?} is registered in this binary; a worker that knows it must run it",
            schedule.job
        );
    }
    let outcome = driver.upsert_schedule(&schedule, next).await?;
    let state = driver
        .schedules()
        .await?
        .into_iter()
        .find(|s| s.schedule.name == schedule.name)
        .ok_or_else(|| not_found(&schedule.name))?;
    let what = match outcome {
        UpsertOutcome::Created => "created",
        UpsertOutcome::Kept => "updated (same spec: next run kept)",
        UpsertOutcome::Rescheduled => "updated and rescheduled",
    };
    let text = format!(
        "schedule {} {what}: {} → {} on queue {}; next run {}",
        schedule.name,
        schedule.spec,
        schedule.job,
        schedule.queue,
        time(state.next_run)
    );
    #[derive(Serialize)]
    struct Added {
        outcome: UpsertOutcome,
        #[serde(flatten)]
        schedule: ScheduleView,
    }
    out.either(
        &Added {
            outcome,
            schedule: ScheduleView::new(&state),
        },
        text,
    )
}

async fn list(driver: Arc<dyn Driver>, out: &mut Output<'_>) -> Result<(), CliError> {
    let views: Vec<ScheduleView> = driver
        .schedules()
        .await?
        .iter()
        .map(ScheduleView::new)
        .collect();
    if out.is_json() {
        return out.json(&views);
    }
    if views.is_empty() {
        return out.line("no schedules (add one with `routemq schedule add`)");
    }
    let rows = views
        .into_iter()
        .map(|v| {
            vec![
                v.name,
                v.spec,
                v.job,
                v.queue,
                v.missed,
                v.next_run,
                v.last_run.unwrap_or_else(|| "-".into()),
                v.last_job_id.unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out.table(
        &[
            "NAME", "SPEC", "JOB", "QUEUE", "MISSED", "NEXT RUN", "LAST RUN", "LAST JOB",
        ],
        rows,
    )
}

async fn run_now(
    driver: Arc<dyn Driver>,
    name: &str,
    out: &mut Output<'_>,
) -> Result<(), CliError> {
    let state = driver
        .schedules()
        .await?
        .into_iter()
        .find(|s| s.schedule.name == name)
        .ok_or_else(|| not_found(name))?;
    let at = routemq_core::from_unix_ms(unix_ms(SystemTime::now()));
    let job = state
        .schedule
        .pending_job(at)
        .map_err(routemq_core::DriverError::from)?;
    let id = driver
        .run_schedule_now(name, job, at)
        .await?
        .ok_or_else(|| not_found(name))?;
    let s = &state.schedule;
    out.either(
        &serde_json::json!({
            "name": name,
            "job_id": id.to_string(),
            "job": s.job,
            "queue": s.queue.as_str(),
            "next_run": time(state.next_run),
            "next_run_ms": unix_ms(state.next_run),
        }),
        format!(
            "enqueued {} ({}) on queue {} for schedule {name}; next run still {}",
            id,
            s.job,
            s.queue,
            time(state.next_run)
        ),
    )
}
