//! Rules of [`ScheduleStore`](crate::ScheduleStore): upsert/list/remove round
//! trip, one firing per tick under concurrent firers, the missed-tick policy
//! applied in one step, and `run_schedule_now` leaving the next run alone.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use tokio::task::JoinSet;

use super::fixture::{assert_counts, claim, ok, queue, LONG_LEASE};
use super::DriverFactory;
use crate::{
    from_unix_ms, plan_tick, unix_ms, Driver, FireOutcome, JobId, MissedTicks, Schedule,
    ScheduleSpec, ScheduleState, Tick, UpsertOutcome,
};

fn every_second(name: &str, q: &str) -> Schedule {
    Schedule::new(name, ScheduleSpec::EveryMs(1000), "conformance.tick")
        .expect("the suite's schedules are valid")
        .queue(queue(q))
        .data(serde_json::json!({"from": name}))
}

/// A whole second, so interval ticks fall on it.
fn whole_second(t: SystemTime) -> SystemTime {
    from_unix_ms(unix_ms(t) / 1000 * 1000)
}

async fn listed(d: &dyn Driver) -> Vec<ScheduleState> {
    let all = ok(d.schedules().await, "schedules");
    let names: Vec<&str> = all.iter().map(|s| s.schedule.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "schedules must be sorted by name");
    all
}

async fn state_of(d: &dyn Driver, name: &str) -> ScheduleState {
    listed(d)
        .await
        .into_iter()
        .find(|s| s.schedule.name == name)
        .unwrap_or_else(|| panic!("schedule {name} is not listed"))
}

/// The tick times (`created_at_ms`) of every job claimable on `q`.
async fn claim_tick_times(d: &dyn Driver, q: &str) -> Vec<(JobId, i64)> {
    let got = claim(d, &[queue(q)], 1_000, LONG_LEASE).await;
    got.iter()
        .map(|r| {
            let env = r.envelope().expect("a scheduled job's envelope decodes");
            assert_eq!(env.name, "conformance.tick");
            (r.lease.job_id.clone(), env.created_at_ms)
        })
        .collect()
}

/// Upsert creates and lists a schedule with its definition and state; upserting the
/// same spec keeps the state, a changed spec or queue takes the next run given
/// (keeping the last run); a step for the old queue or a removed schedule stores
/// nothing; remove deletes it.
pub async fn schedule_upsert_list_remove_round_trip(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    assert!(listed(d).await.is_empty(), "a fresh store has no schedules");
    let base = whole_second(SystemTime::now()) + Duration::from_secs(3600);
    let b = every_second("b-reports", "sched-a")
        .max_tries(5)
        .timeout(Duration::from_secs(7))
        .missed(MissedTicks::CatchUp(2));
    let a = Schedule::new(
        "a-nightly",
        ScheduleSpec::cron("0 30 2 * * *", "Europe/Paris").expect("valid cron"),
        "conformance.tick",
    )
    .expect("valid schedule")
    .queue(queue("sched-b"));
    let up = ok(d.upsert_schedule(&b, base).await, "upsert_schedule");
    assert_eq!(up, UpsertOutcome::Created);
    let a_next = a.next_after(SystemTime::now()).expect("next tick");
    ok(d.upsert_schedule(&a, a_next).await, "upsert_schedule");
    let all = listed(d).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].schedule, a, "the definition round-trips");
    assert_eq!(all[0].next_run, whole_ms(a_next));
    assert_eq!(all[1].schedule, b, "the definition round-trips");
    assert_eq!(all[1].next_run, base);
    assert_eq!((all[1].last_run, all[1].last_job_id.clone()), (None, None));

    // Fire one tick, so there is state to keep.
    let tick = Tick {
        name: b.name.clone(),
        queue: b.queue.clone(),
        expected: base,
        next: base + Duration::from_secs(1),
        jobs: vec![b.pending_job(base).expect("job encodes")],
        last_run: Some(base),
    };
    let job_id = tick.jobs[0].id.clone();
    assert_eq!(ok(d.fire_tick(tick).await, "fire_tick"), FireOutcome::Fired);

    // Same spec, other data: definition replaced, state kept.
    let b2 = b.clone().data(serde_json::json!({"changed": true}));
    let up = ok(
        d.upsert_schedule(&b2, base + Duration::from_secs(99)).await,
        "upsert_schedule",
    );
    assert_eq!(
        up,
        UpsertOutcome::Kept,
        "same spec and queue keep the state"
    );
    let s = state_of(d, "b-reports").await;
    assert_eq!(s.schedule, b2);
    assert_eq!(s.next_run, base + Duration::from_secs(1), "next run kept");
    assert_eq!(s.last_run, Some(base));
    assert_eq!(s.last_job_id, Some(job_id.clone()));

    // Changed spec: rescheduled to the next run given, last run kept.
    let mut b3 = b2.clone();
    b3.spec = ScheduleSpec::EveryMs(2000);
    let resched = base + Duration::from_secs(10);
    let up = ok(d.upsert_schedule(&b3, resched).await, "upsert_schedule");
    assert_eq!(up, UpsertOutcome::Rescheduled);
    let s = state_of(d, "b-reports").await;
    assert_eq!(
        (s.next_run, s.last_job_id.as_ref()),
        (resched, Some(&job_id))
    );

    // Another queue: rescheduled there, last run kept; a step for the old queue
    // is Gone and stores nothing.
    let b4 = b3.clone().queue(queue("sched-c"));
    let moved_next = resched + Duration::from_secs(4);
    let up = ok(d.upsert_schedule(&b4, moved_next).await, "upsert_schedule");
    assert_eq!(up, UpsertOutcome::Rescheduled, "another queue reschedules");
    let s = state_of(d, "b-reports").await;
    assert_eq!(s.schedule.queue, queue("sched-c"));
    assert_eq!(s.next_run, moved_next);
    assert_eq!((s.last_run, s.last_job_id), (Some(base), Some(job_id)));
    assert_eq!(listed(d).await.len(), 2, "a moved schedule is listed once");
    let old_queue = Tick {
        name: b3.name.clone(),
        queue: b3.queue.clone(),
        expected: resched,
        next: resched + Duration::from_secs(2),
        jobs: vec![b3.pending_job(resched).expect("job encodes")],
        last_run: Some(resched),
    };
    assert_eq!(
        ok(d.fire_tick(old_queue).await, "fire_tick"),
        FireOutcome::Gone
    );

    // Remove: gone from the list; firing it now stores nothing.
    assert!(ok(d.remove_schedule("b-reports").await, "remove_schedule"));
    assert!(!ok(d.remove_schedule("b-reports").await, "remove_schedule"));
    let names: Vec<String> = listed(d)
        .await
        .into_iter()
        .map(|s| s.schedule.name)
        .collect();
    assert_eq!(names, vec!["a-nightly".to_owned()]);
    let stray = Tick {
        name: b4.name.clone(),
        queue: b4.queue.clone(),
        expected: resched,
        next: resched + Duration::from_secs(2),
        jobs: vec![b4.pending_job(resched).expect("job encodes")],
        last_run: Some(resched),
    };
    assert_eq!(ok(d.fire_tick(stray).await, "fire_tick"), FireOutcome::Gone);
    assert_counts(
        d,
        &queue("sched-a"),
        (1, 0, 0, 0),
        "after firing a removed schedule",
    )
    .await;
}

fn whole_ms(t: SystemTime) -> SystemTime {
    from_unix_ms(unix_ms(t))
}

/// Eight concurrent firers of the same tick: exactly one fires, the others see it
/// stale with the new next run; one job is stored, the one the state names.
pub async fn schedule_tick_fires_once_under_concurrent_firers(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let s = every_second("race", "sched-race");
    let due = whole_second(SystemTime::now()) - Duration::from_secs(1);
    ok(driver.upsert_schedule(&s, due).await, "upsert_schedule");
    for round in 0..3u64 {
        let expected = due + Duration::from_secs(round);
        let next = expected + Duration::from_secs(1);
        let mut firers = JoinSet::new();
        for _ in 0..8 {
            let d = (*driver).clone();
            let tick = Tick {
                name: s.name.clone(),
                queue: s.queue.clone(),
                expected,
                next,
                jobs: vec![s.pending_job(expected).expect("job encodes")],
                last_run: Some(expected),
            };
            firers.spawn(async move {
                let id = tick.jobs[0].id.clone();
                (id, ok(d.fire_tick(tick).await, "fire_tick"))
            });
        }
        let mut winners = Vec::new();
        while let Some(res) = firers.join_next().await {
            let (id, outcome) = res.expect("a firer panicked");
            match outcome {
                FireOutcome::Fired => winners.push(id),
                FireOutcome::Stale { next_run } => assert_eq!(
                    next_run, next,
                    "round {round}: a losing firer sees the winner's next run"
                ),
                FireOutcome::Gone => panic!("round {round}: the schedule exists"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one firer fires");
        let st = state_of(driver.as_ref(), "race").await;
        assert_eq!(st.next_run, next);
        assert_eq!(st.last_run, Some(expected));
        assert_eq!(st.last_job_id.as_ref(), Some(&winners[0]));
    }
    let jobs = claim_tick_times(driver.as_ref(), "sched-race").await;
    let ticks: HashSet<i64> = jobs.iter().map(|(_, t)| *t).collect();
    assert_eq!(jobs.len(), 3, "one job per tick: {jobs:?}");
    assert_eq!(ticks.len(), 3, "three distinct ticks: {jobs:?}");
}

/// A schedule whose next run was missed by a minute: with `skip` one step stores
/// no job and moves the next run past the missed ticks; with `catch-up:3` one step
/// stores the three oldest missed ticks' jobs; concurrent planners fire it once.
pub async fn schedule_missed_ticks_follow_the_policy(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let now = whole_second(SystemTime::now());
    let missed_from = now - Duration::from_secs(60);
    let skip = every_second("skipper", "sched-skip");
    let catch = every_second("catcher", "sched-catch").missed(MissedTicks::CatchUp(3));
    for s in [&skip, &catch] {
        ok(d.upsert_schedule(s, missed_from).await, "upsert_schedule");
    }
    for name in ["skipper", "catcher"] {
        let state = state_of(d, name).await;
        // Two workers plan the same step; only one applies.
        let first = plan_tick(&state, now).expect("plans").expect("due");
        let second = plan_tick(&state, now).expect("plans").expect("due");
        assert_eq!(
            first.next,
            now - crate::MISSED_AFTER,
            "{name}: the step jumps to the first tick that is not missed"
        );
        assert_eq!(
            ok(d.fire_tick(first.clone()).await, "fire_tick"),
            FireOutcome::Fired
        );
        assert_eq!(
            ok(d.fire_tick(second).await, "fire_tick"),
            FireOutcome::Stale {
                next_run: first.next
            }
        );
        let st = state_of(d, name).await;
        assert_eq!(st.next_run, first.next);
    }
    let skipped = claim_tick_times(d, "sched-skip").await;
    assert!(
        skipped.is_empty(),
        "skip enqueues no missed tick: {skipped:?}"
    );
    assert_eq!(state_of(d, "skipper").await.last_run, None);
    let caught = claim_tick_times(d, "sched-catch").await;
    let times: Vec<i64> = caught.iter().map(|(_, t)| *t).collect();
    let m = unix_ms(missed_from);
    assert_eq!(
        times,
        vec![m, m + 1000, m + 2000],
        "the three oldest missed ticks, in order"
    );
    let st = state_of(d, "catcher").await;
    assert_eq!(st.last_run, Some(from_unix_ms(m + 2000)));
    assert_eq!(st.last_job_id.as_ref(), Some(&caught[2].0));
}

/// `run_schedule_now` stores a job claimable at once and records it as the last
/// run, leaving the next run where it was; for an unknown schedule it stores
/// nothing.
pub async fn schedule_run_now_keeps_next_run(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let s = every_second("manual", "sched-now");
    let next = whole_second(SystemTime::now()) + Duration::from_secs(3600);
    ok(d.upsert_schedule(&s, next).await, "upsert_schedule");
    let at = whole_ms(SystemTime::now());
    let job = s.pending_job(at).expect("job encodes");
    let want = job.id.clone();
    let got = ok(
        d.run_schedule_now("manual", job, at).await,
        "run_schedule_now",
    );
    assert_eq!(got, Some(want.clone()));
    let st = state_of(d, "manual").await;
    assert_eq!(st.next_run, next, "run now does not move the next run");
    assert_eq!(
        (st.last_run, st.last_job_id),
        (Some(at), Some(want.clone()))
    );
    let jobs = claim_tick_times(d, "sched-now").await;
    assert_eq!(
        jobs.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        vec![want]
    );
    let stray = s.pending_job(at).expect("job encodes");
    assert_eq!(
        ok(
            d.run_schedule_now("no-such", stray, at).await,
            "run_schedule_now"
        ),
        None
    );
    assert_counts(d, &queue("sched-now"), (0, 0, 1, 0), "after run now").await;
}
