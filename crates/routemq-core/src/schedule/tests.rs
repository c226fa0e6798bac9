//! Unit tests of the schedule model: parsing, ticks, the missed-tick planner.

use std::time::{Duration, SystemTime};

use super::*;
use crate::{from_unix_ms, unix_ms, Envelope};

fn at(rfc3339: &str) -> SystemTime {
    humantime_parse(rfc3339)
}

fn humantime_parse(s: &str) -> SystemTime {
    let dt = chrono::DateTime::parse_from_rfc3339(s).expect("test time parses");
    from_unix_ms(dt.timestamp_millis())
}

#[test]
fn a_bad_cron_expression_is_refused_with_the_reason() {
    let err = ScheduleSpec::cron("61 * * * * *", "UTC").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ScheduleError::BadCron { .. }), "{err:?}");
    assert!(
        text.contains("61 * * * * *"),
        "names the expression: {text}"
    );
    let err = ScheduleSpec::cron("every minute", "UTC").unwrap_err();
    assert!(matches!(err, ScheduleError::BadCron { .. }), "{err:?}");
    assert!(err.to_string().len() > "invalid cron expression \"every minute\": ".len());
}

#[test]
fn an_unknown_time_zone_is_refused_with_the_reason() {
    let err = ScheduleSpec::cron("0 * * * *", "Mars/Olympus").unwrap_err();
    assert!(matches!(err, ScheduleError::BadTimeZone { .. }), "{err:?}");
    assert!(err.to_string().contains("Mars/Olympus"), "{err}");
}

#[test]
fn intervals_below_a_second_are_refused() {
    assert!(ScheduleSpec::every(Duration::from_millis(999)).is_err());
    assert!(ScheduleSpec::every(Duration::from_nanos(1_500_000_001)).is_err());
    assert_eq!(
        ScheduleSpec::every(Duration::from_secs(30)).unwrap(),
        ScheduleSpec::EveryMs(30_000)
    );
}

#[test]
fn interval_ticks_are_counted_from_the_epoch() {
    let spec = ScheduleSpec::every(Duration::from_secs(30)).unwrap();
    let t = at("2026-12-01T10:00:10.500Z");
    assert_eq!(spec.next_after(t).unwrap(), at("2026-12-01T10:00:30Z"));
    let on_tick = at("2026-12-01T10:00:30Z");
    assert_eq!(
        spec.next_after(on_tick).unwrap(),
        at("2026-12-01T10:01:00Z"),
        "strictly after"
    );
}

#[test]
fn cron_with_seconds_in_a_time_zone() {
    // 02:30:15 every day in Paris: UTC+1 in December.
    let spec = ScheduleSpec::cron("15 30 2 * * *", "Europe/Paris").unwrap();
    let next = spec.next_after(at("2026-12-01T00:00:00Z")).unwrap();
    assert_eq!(next, at("2026-12-01T01:30:15Z"));
    let after = spec.next_after(next).unwrap();
    assert_eq!(after, at("2026-12-02T01:30:15Z"));
    // Five fields: seconds are 0.
    let spec = ScheduleSpec::cron("*/5 * * * *", "UTC").unwrap();
    assert_eq!(
        spec.next_after(at("2026-12-01T00:01:00Z")).unwrap(),
        at("2026-12-01T00:05:00Z")
    );
}

#[test]
fn spec_keys_differ_when_ticks_differ() {
    let a = ScheduleSpec::cron("0 * * * * *", "UTC").unwrap();
    let b = ScheduleSpec::cron("0 * * * * *", "Europe/Paris").unwrap();
    assert_ne!(a.key(), b.key());
    assert_eq!(
        a.key(),
        ScheduleSpec::cron("0 * * * * *", "UTC").unwrap().key()
    );
    assert_ne!(
        ScheduleSpec::EveryMs(1000).key(),
        ScheduleSpec::EveryMs(2000).key()
    );
}

#[test]
fn missed_policy_parses() {
    assert_eq!("skip".parse::<MissedTicks>().unwrap(), MissedTicks::Skip);
    assert_eq!(
        "catch-up:3".parse::<MissedTicks>().unwrap(),
        MissedTicks::CatchUp(3)
    );
    for bad in ["catch-up:0", "catch-up", "catchup:2", "catch-up:x", "all"] {
        let err = bad.parse::<MissedTicks>().unwrap_err();
        assert!(err.to_string().contains(bad), "{err}");
    }
    assert_eq!(MissedTicks::CatchUp(4).to_string(), "catch-up:4");
}

#[test]
fn schedule_names_are_checked() {
    let spec = ScheduleSpec::EveryMs(1000);
    assert!(Schedule::new("nightly.report-1", spec.clone(), "j").is_ok());
    for bad in ["", "a b", "a:b", &"x".repeat(101)] {
        assert!(Schedule::new(bad, spec.clone(), "j").is_err(), "{bad:?}");
    }
    assert!(matches!(
        Schedule::new("ok", spec, " "),
        Err(ScheduleError::NoJobName)
    ));
}

fn state(missed: MissedTicks, next_run: SystemTime) -> ScheduleState {
    let schedule = Schedule::new("s", ScheduleSpec::EveryMs(1000), "routemq.noop")
        .unwrap()
        .data(serde_json::json!({"k": 1}))
        .max_tries(2)
        .missed(missed);
    ScheduleState {
        schedule,
        next_run,
        last_run: None,
        last_job_id: None,
    }
}

fn tick_times(tick: &crate::Tick) -> Vec<i64> {
    tick.jobs
        .iter()
        .map(|j| Envelope::decode(&j.payload).unwrap().created_at_ms)
        .collect()
}

#[test]
fn an_on_time_tick_fires_one_job_and_moves_to_the_next() {
    let now = at("2026-12-01T10:00:03.200Z");
    let due = at("2026-12-01T10:00:03Z");
    assert!(plan_tick(
        &state(MissedTicks::Skip, now + Duration::from_millis(1)),
        now
    )
    .unwrap()
    .is_none());
    let tick = plan_tick(&state(MissedTicks::Skip, due), now)
        .unwrap()
        .unwrap();
    assert_eq!(tick.expected, due);
    assert_eq!(tick.next, at("2026-12-01T10:00:04Z"));
    assert_eq!(tick_times(&tick), vec![unix_ms(due)]);
    assert_eq!(tick.last_run, Some(due));
    let env = Envelope::decode(&tick.jobs[0].payload).unwrap();
    assert_eq!(env.name, "routemq.noop");
    assert_eq!(env.max_tries, 2);
    assert_eq!(env.data, br#"{"k":1}"#);
}

#[test]
fn missed_ticks_are_skipped_or_caught_up_in_one_step() {
    let now = at("2026-12-01T10:01:00.500Z");
    let first = at("2026-12-01T10:00:00Z");
    // Skip: no job, next run = first tick not older than MISSED_AFTER.
    let tick = plan_tick(&state(MissedTicks::Skip, first), now)
        .unwrap()
        .unwrap();
    assert!(tick.jobs.is_empty());
    assert_eq!(tick.last_run, None);
    assert_eq!(tick.next, at("2026-12-01T10:00:56Z"));
    // Catch up 3: the three oldest missed ticks, then the same jump.
    let tick = plan_tick(&state(MissedTicks::CatchUp(3), first), now)
        .unwrap()
        .unwrap();
    assert_eq!(
        tick_times(&tick),
        vec![unix_ms(first), unix_ms(first) + 1000, unix_ms(first) + 2000]
    );
    assert_eq!(tick.last_run, Some(at("2026-12-01T10:00:02Z")));
    assert_eq!(tick.next, at("2026-12-01T10:00:56Z"));
    // More catch-up than missed ticks: all of them, and the next is not missed.
    let late = at("2026-12-01T10:00:54Z");
    let tick = plan_tick(&state(MissedTicks::CatchUp(10), late), now)
        .unwrap()
        .unwrap();
    assert_eq!(tick_times(&tick).len(), 2, "10:00:54 and 10:00:55");
    assert_eq!(tick.next, at("2026-12-01T10:00:56Z"));
}
