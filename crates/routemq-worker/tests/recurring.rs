//! Recurring jobs: workers store the schedules declared in code and fire each
//! tick once between them; a worker with schedules off does neither.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use common::faulty::Calls;
use common::*;
use routemq_core::{unix_ms, Schedule, ScheduleSpec};

fn every_second() -> Schedule {
    Schedule::new(
        "tick",
        ScheduleSpec::every(Duration::from_secs(1)).unwrap(),
        "scripted",
    )
    .unwrap()
    .queue(qn("ticks"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_fire_each_tick_once() {
    let d = memory();
    let started = SystemTime::now();
    let (stop, _) = tokio::sync::watch::channel(false);
    let mut runs = Vec::new();
    for _ in 0..3 {
        let w = builder(&d).schedule(every_second()).build().unwrap();
        let mut rx = stop.subscribe();
        runs.push(tokio::spawn(w.run_until(async move {
            let _ = rx.changed().await;
        })));
    }
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    stop.send(true).unwrap();
    for r in runs {
        r.await.unwrap().unwrap();
    }
    let stopped = SystemTime::now();
    let got = d
        .claim(&[qn("ticks")], 100, Duration::from_secs(60))
        .await
        .unwrap();
    let ticks: Vec<i64> = got
        .iter()
        .map(|r| r.envelope().unwrap().created_at_ms)
        .collect();
    let distinct: BTreeSet<i64> = ticks.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        ticks.len(),
        "a tick was enqueued twice: {ticks:?}"
    );
    // Every whole second after the workers started and before they stopped,
    // except possibly the last (a tick at the very moment of the stop).
    let first = unix_ms(started) / 1000 * 1000 + 1000;
    let last = unix_ms(stopped) / 1000 * 1000;
    let expected: BTreeSet<i64> = (0..)
        .map(|i| first + i * 1000)
        .take_while(|t| *t <= last)
        .collect();
    let must: BTreeSet<i64> = expected.iter().copied().filter(|t| *t < last).collect();
    assert!(
        must.is_subset(&distinct) && distinct.is_subset(&expected),
        "ticks {distinct:?}, expected {expected:?}"
    );
    let state = &d.schedules().await.unwrap()[0];
    assert_eq!(state.last_run.map(unix_ms), distinct.last().copied());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_schedules_off_stores_and_fires_nothing() {
    let d = memory();
    let w = builder(&d)
        .schedule(every_second())
        .run_schedules(false)
        .max_time(Some(Duration::from_millis(1_300)))
        .build()
        .unwrap();
    run_to_limit(w).await;
    assert!(d.schedules().await.unwrap().is_empty());
    assert_eq!(d.stats(&qn("ticks")).await.unwrap().ready, 0);
}

/// With no schedule stored, a worker still looks for one that an operator may
/// add, once a second (`POLL_MAX`); it used to look every 5 ms, a listing of the
/// store 200 times a second from every idle worker.
#[tokio::test(start_paused = true)]
async fn a_worker_with_no_schedules_looks_for_them_once_a_second() {
    let (faulty, d) = faulty();
    let w = builder(&d)
        .max_time(Some(Duration::from_secs(10)))
        .build()
        .unwrap();
    run_to_limit(w).await;
    let listed = Calls::get(&faulty.calls.schedules);
    assert!(
        (9..=12).contains(&listed),
        "listed the schedules {listed} times in 10 s"
    );
}

/// A schedule whose next run is a minute old (no worker ran) with `catch-up:2`:
/// the worker enqueues the two oldest missed ticks, skips the rest of the outage,
/// and fires the ticks less than `MISSED_AFTER` late and the ones that follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_catches_up_missed_ticks_as_the_policy_says() {
    let d = memory();
    let now = unix_ms(SystemTime::now()) / 1000 * 1000;
    let t0 = now - 60_000;
    let s = every_second().missed(routemq_core::MissedTicks::CatchUp(2));
    d.upsert_schedule(&s, routemq_core::from_unix_ms(t0))
        .await
        .unwrap();
    let w = builder(&d)
        .max_time(Some(Duration::from_millis(1_500)))
        .build()
        .unwrap();
    run_to_limit(w).await;
    let got = d
        .claim(&[qn("ticks")], 100, Duration::from_secs(60))
        .await
        .unwrap();
    let ticks: Vec<i64> = got
        .iter()
        .map(|r| r.envelope().unwrap().created_at_ms)
        .collect();
    assert_eq!(
        &ticks[..2],
        &[t0, t0 + 1000],
        "the two oldest missed ticks: {ticks:?}"
    );
    let cutoff = now - routemq_core::MISSED_AFTER.as_millis() as i64;
    assert!(
        ticks[2..].iter().all(|t| *t >= cutoff),
        "the rest of the outage is skipped: {ticks:?}"
    );
    assert!(
        ticks.len() >= 2 + 5,
        "the late-but-not-missed ticks fire: {ticks:?}"
    );
    let distinct: BTreeSet<i64> = ticks.iter().copied().collect();
    assert_eq!(distinct.len(), ticks.len(), "{ticks:?}");
}
