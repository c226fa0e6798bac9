//! Rules of [`RateLimits`](crate::RateLimits): per-queue limits enforced by
//! `claim` across concurrent claimers, the idle wait for a full window, holds,
//! and the release that gives the attempt back.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use crate::{Driver, DriverError, JobId, QueueName, RateLimit};

use super::fixture::{
    assert_nothing_claimable, claim, claim_one, expect_lease_lost, ids, ok, push, queue, stats,
    EARLY_SLACK, LATE_SLACK, LONG_LEASE, POLL, WAKE_SLACK,
};
use super::DriverFactory;

/// A valid limit; panics on a bad literal (a bug in the suite).
fn limit(jobs: u32, per_ms: u64) -> RateLimit {
    RateLimit::new(jobs, Duration::from_millis(per_ms)).expect("the suite's limits are valid")
}

async fn set(d: &dyn Driver, q: &QueueName, l: RateLimit) {
    ok(d.set_rate_limit(q, l).await, "set_rate_limit");
}

/// One claim call timed: (started, finished, reservations).
async fn timed_claim(
    d: &dyn Driver,
    qs: &[QueueName],
    max: usize,
) -> (Instant, Instant, Vec<crate::Reservation>) {
    let a = Instant::now();
    let got = claim(d, qs, max, LONG_LEASE).await;
    (a, Instant::now(), got)
}

/// Limits are set, replaced, listed (sorted by queue), shown by `stats` and
/// cleared; a limit `RateLimit::new` refuses is refused by the driver too;
/// clearing a full window lets claims through at once, and a cleared queue is
/// not limited any more.
pub async fn rate_limit_set_list_and_clear(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let a = queue("limited_a");
    let b = queue("limited_b");
    assert!(
        ok(d.rate_limits().await, "rate_limits").is_empty(),
        "a fresh store"
    );
    assert_eq!(stats(d, &a).await.rate_limit, None, "a queue never limited");
    assert!(
        !ok(d.clear_rate_limit(&a).await, "clear_rate_limit"),
        "clearing a queue without a limit returns false"
    );

    set(d, &b, limit(1, 10_000)).await;
    set(d, &a, limit(5, 1_000)).await;
    set(d, &a, limit(7, 2_000)).await;
    assert_eq!(
        ok(d.rate_limits().await, "rate_limits"),
        vec![(a.clone(), limit(7, 2_000)), (b.clone(), limit(1, 10_000))],
        "rate_limits lists every limit, sorted by queue, the replaced one new"
    );
    assert_eq!(stats(d, &a).await.rate_limit, Some(limit(7, 2_000)));

    for bad in [
        RateLimit {
            jobs: 0,
            per: Duration::from_secs(1),
            per_group: false,
        },
        RateLimit {
            jobs: 3,
            per: Duration::ZERO,
            per_group: true,
        },
    ] {
        match d.set_rate_limit(&a, bad).await {
            Err(DriverError::InvalidRateLimit(_)) => {}
            other => panic!("set_rate_limit({bad:?}) must be refused, got {other:?}"),
        }
    }
    assert_eq!(
        stats(d, &a).await.rate_limit,
        Some(limit(7, 2_000)),
        "a refused limit changes nothing"
    );

    // b: one job per 10 s, window full after one claim; clearing lets the rest through.
    let mut b_jobs = Vec::new();
    for n in 0..3 {
        b_jobs.push(push(d, &b, n, 3).await);
    }
    let first = claim(d, std::slice::from_ref(&b), 10, LONG_LEASE).await;
    assert_eq!(ids(&first), b_jobs[..1], "a limit of 1 gives one job of 3");
    assert_nothing_claimable(d, &b, "a full window").await;
    assert!(
        ok(d.clear_rate_limit(&b).await, "clear_rate_limit"),
        "b had a limit"
    );
    assert!(
        !ok(d.clear_rate_limit(&b).await, "clear_rate_limit"),
        "cleared already"
    );
    let rest = claim(d, std::slice::from_ref(&b), 10, LONG_LEASE).await;
    assert_eq!(
        ids(&rest),
        b_jobs[1..],
        "after clear the window no longer counts"
    );
    assert_eq!(
        ok(d.rate_limits().await, "rate_limits"),
        vec![(a.clone(), limit(7, 2_000))]
    );
    assert_eq!(stats(d, &b).await.rate_limit, None, "stats after clear");

    for n in 0..12 {
        push(d, &b, 10 + n, 3).await;
    }
    assert_eq!(
        claim(d, std::slice::from_ref(&b), 12, LONG_LEASE)
            .await
            .len(),
        12,
        "a cleared queue is not limited"
    );
}

/// 8 concurrent claimers on a queue limited to 5 jobs per 600 ms: every claim
/// whose reply came back before another's call + 600 ms shares one window with
/// it, and no such group holds more than 5 jobs; claims keep delivering as
/// windows open (at least two windows' worth in 1.5 s), and no job is handed
/// out twice.
pub async fn rate_limit_holds_across_concurrent_claimers(factory: &dyn DriverFactory) {
    const JOBS: u32 = 5;
    const PER: Duration = Duration::from_millis(600);
    const RUN: Duration = Duration::from_millis(1_500);
    let driver = factory.fresh().await;
    let q = queue("limited_contended");
    let jobs: Vec<_> = (0..60)
        .map(|n| super::fixture::job(&q, n, 3, None))
        .collect();
    ok(driver.push_bulk(jobs).await, "push_bulk");
    set(driver.as_ref(), &q, limit(JOBS, PER.as_millis() as u64)).await;

    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..8usize {
        let d: Arc<dyn Driver> = driver.clone();
        let q = q.clone();
        tasks.spawn(async move {
            let mut got: Vec<(Instant, Instant, Vec<JobId>)> = Vec::new();
            while started.elapsed() < RUN {
                let (a, b, r) = timed_claim(d.as_ref(), std::slice::from_ref(&q), 1 + i % 3).await;
                if !r.is_empty() {
                    got.push((a, b, ids(&r)));
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            got
        });
    }
    let mut claims = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        claims.extend(joined.expect("a claimer does not panic"));
    }
    let mut seen = HashSet::new();
    for (_, _, got) in &claims {
        for id in got {
            assert!(seen.insert(id.clone()), "job {id} was handed out twice");
        }
    }
    for (a_i, b_i, got_i) in &claims {
        // Claims surely started after claim i's and before its start + PER.
        let window: usize = claims
            .iter()
            .filter(|(a_j, b_j, _)| *a_j >= *b_i && *b_j < *a_i + PER)
            .map(|(_, _, g)| g.len())
            .sum::<usize>()
            + got_i.len();
        assert!(
            window <= JOBS as usize,
            "{window} jobs started within one {PER:?} window under a limit of {JOBS}"
        );
    }
    assert!(
        seen.len() >= 2 * JOBS as usize,
        "only {} jobs claimed in {RUN:?} under {JOBS} per {PER:?}: claims must resume as the window opens",
        seen.len()
    );
    assert!(
        seen.len() <= 3 * JOBS as usize,
        "{} jobs claimed in {RUN:?} (at most three windows) under {JOBS} per {PER:?}",
        seen.len()
    );
}

/// A full window gives `claim` nothing from its queue while the other queues of
/// the same call deliver (in priority order); when the window opens (not
/// before) the queue's jobs are claimed again, in FIFO order.
pub async fn rate_limited_queue_resumes_when_the_window_opens(factory: &dyn DriverFactory) {
    const PER: Duration = Duration::from_millis(500);
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let a = queue("window_a");
    let b = queue("window_b");
    let both = [a.clone(), b.clone()];
    set(d, &a, limit(3, PER.as_millis() as u64)).await;
    let mut a_jobs = Vec::new();
    for n in 0..8 {
        a_jobs.push(push(d, &a, n, 3).await);
    }
    let mut b_jobs = Vec::new();
    for n in 0..4 {
        b_jobs.push(push(d, &b, n, 3).await);
    }

    let (a1, b1, got) = timed_claim(d, &both, 5).await;
    let mut expected = a_jobs[..3].to_vec();
    expected.extend_from_slice(&b_jobs[..2]);
    assert_eq!(
        ids(&got),
        expected,
        "3 of a (its limit), then b fills the claim"
    );
    let got = claim(d, &both, 10, LONG_LEASE).await;
    assert_eq!(
        ids(&got),
        b_jobs[2..],
        "a's window is full: only b delivers"
    );
    assert_nothing_claimable(d, &a, "a full window").await;
    assert_eq!(
        stats(d, &a).await.ready,
        5,
        "jobs over the limit wait as ready jobs"
    );

    // The window opens PER after the first claim: not before its call began.
    let mut probes = 0u32;
    let got = loop {
        let (_, finished, got) = timed_claim(d, std::slice::from_ref(&a), 10).await;
        if !got.is_empty() {
            assert!(
                finished + EARLY_SLACK >= a1 + PER,
                "the window opened {:?} early",
                (a1 + PER).saturating_duration_since(finished)
            );
            break got;
        }
        probes += 1;
        assert!(
            Instant::now() < b1 + PER + LATE_SLACK,
            "the window was still closed {:?} after it should have opened",
            Instant::now().saturating_duration_since(b1 + PER)
        );
        tokio::time::sleep(POLL).await;
    };
    assert!(
        probes > 0,
        "no claim ran while the window was full (the machine stalled)"
    );
    assert_eq!(
        ids(&got),
        a_jobs[3..6],
        "the next window's 3 jobs, in FIFO order"
    );
}

/// `wait_for_jobs` on a queue whose window is full (jobs ready) waits until the
/// window opens instead of returning at once, and returns then; the same for a
/// held queue and the end of its hold.
pub async fn rate_limited_queue_is_waited_for_until_the_window_opens(factory: &dyn DriverFactory) {
    const PER: Duration = Duration::from_millis(800);
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("window_wait");
    let qs = vec![q.clone()];
    set(d, &q, limit(2, PER.as_millis() as u64)).await;
    for n in 0..4 {
        push(d, &q, n, 3).await;
    }
    let (a1, b1, got) = timed_claim(d, &qs, 10).await;
    assert_eq!(got.len(), 2, "the limit's 2 jobs");
    ok(
        d.wait_for_jobs(&qs, Duration::from_secs(5)).await,
        "wait_for_jobs",
    );
    let back = Instant::now();
    assert!(
        back + Duration::from_millis(50) >= a1 + PER,
        "wait_for_jobs returned {:?} before the window opened: an idle worker would spin",
        (a1 + PER).saturating_duration_since(back)
    );
    assert!(
        back <= b1 + PER + WAKE_SLACK,
        "wait_for_jobs returned {:?} after the window opened",
        back.saturating_duration_since(b1 + PER)
    );
    let deadline = b1 + PER + WAKE_SLACK;
    let got = loop {
        let got = claim(d, &qs, 10, LONG_LEASE).await;
        if !got.is_empty() || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(POLL).await;
    };
    assert_eq!(got.len(), 2, "the opened window's 2 jobs");

    // A hold on a queue without a limit: the same wait.
    let h = queue("held_wait");
    let hs = vec![h.clone()];
    push(d, &h, 1, 3).await;
    let hold = Duration::from_millis(600);
    let a = Instant::now();
    ok(d.hold_queue(&h, hold).await, "hold_queue");
    let b = Instant::now();
    ok(
        d.wait_for_jobs(&hs, Duration::from_secs(5)).await,
        "wait_for_jobs",
    );
    let back = Instant::now();
    assert!(
        back + Duration::from_millis(50) >= a + hold,
        "wait_for_jobs on a held queue returned {:?} before the hold ended",
        (a + hold).saturating_duration_since(back)
    );
    assert!(
        back <= b + hold + WAKE_SLACK,
        "wait_for_jobs returned {:?} after the hold ended",
        back.saturating_duration_since(b + hold)
    );
}

/// `release_uncounted` gives a job back with the attempt its claim counted
/// given back (its next claim has the same attempt number), honours the delay,
/// and is fenced by the owner token like `release`.
pub async fn release_uncounted_keeps_the_attempt_count(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("uncounted");
    let id = push(d, &q, 1, 2).await;
    let r = claim_one(d, &q, "first claim").await;
    assert_eq!((r.lease.job_id.clone(), r.attempt), (id.clone(), 1));
    ok(
        d.release_uncounted(&r.lease, Duration::ZERO).await,
        "release_uncounted",
    );
    expect_lease_lost(
        d.release_uncounted(&r.lease, Duration::ZERO).await,
        &id,
        "release_uncounted",
    );
    let r = claim_one(d, &q, "after an uncounted release").await;
    assert_eq!(
        r.attempt, 1,
        "an uncounted release keeps the attempt number"
    );
    ok(d.release(&r.lease, Duration::ZERO).await, "release");
    let r = claim_one(d, &q, "after a counted release").await;
    assert_eq!(r.attempt, 2, "a plain release counts the attempt");

    let delay = Duration::from_millis(300);
    let a = SystemTime::now();
    ok(
        d.release_uncounted(&r.lease, delay).await,
        "release_uncounted with a delay",
    );
    let s = stats(d, &q).await;
    assert_eq!(
        (s.ready, s.delayed, s.reserved),
        (0, 1, 0),
        "released with a delay"
    );
    let due = a + delay;
    let r = loop {
        let mut got = claim(d, std::slice::from_ref(&q), 1, LONG_LEASE).await;
        let now = SystemTime::now();
        if let Some(r) = got.pop() {
            assert!(
                now + EARLY_SLACK >= due,
                "claimable before the delay passed"
            );
            break r;
        }
        assert!(
            now < due + delay + LATE_SLACK,
            "not claimable after the delay"
        );
        tokio::time::sleep(POLL).await;
    };
    assert_eq!(r.attempt, 2, "still the second attempt of 2");
    ok(d.ack(&r.lease).await, "ack");
}

/// `hold_queue` stops claims from a queue (other queues of the same call still
/// deliver) until it passes, not before; a shorter hold does not cut a longer
/// one short; `clear_rate_limit` ends a hold at once.
pub async fn hold_queue_blocks_claims_until_it_passes(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let h = queue("held");
    let o = queue("held_other");
    let both = [h.clone(), o.clone()];
    let mut h_jobs = Vec::new();
    for n in 0..3 {
        h_jobs.push(push(d, &h, n, 3).await);
    }
    let o_job = push(d, &o, 1, 3).await;
    let hold = Duration::from_millis(500);
    let a = Instant::now();
    ok(d.hold_queue(&h, hold).await, "hold_queue");
    let b = Instant::now();
    ok(
        d.hold_queue(&h, Duration::from_millis(50)).await,
        "a shorter hold",
    );
    let got = claim(d, &both, 10, LONG_LEASE).await;
    assert_eq!(
        ids(&got),
        vec![o_job],
        "a held queue gives nothing; the other delivers"
    );
    assert_eq!(
        stats(d, &h).await.ready,
        3,
        "a held queue's jobs stay ready"
    );

    let mut probes = 0u32;
    let got = loop {
        let (_, finished, got) = timed_claim(d, std::slice::from_ref(&h), 1).await;
        if !got.is_empty() {
            assert!(
                finished + EARLY_SLACK >= a + hold,
                "the hold ended {:?} early (a shorter hold must not cut it short)",
                (a + hold).saturating_duration_since(finished)
            );
            break got;
        }
        probes += 1;
        assert!(
            Instant::now() < b + hold + LATE_SLACK,
            "still held {:?} after the hold should have ended",
            Instant::now().saturating_duration_since(b + hold)
        );
        tokio::time::sleep(POLL).await;
    };
    assert!(
        probes > 0,
        "no claim ran during the hold (the machine stalled)"
    );
    assert_eq!(
        ids(&got),
        h_jobs[..1],
        "the held queue's first job after the hold"
    );

    ok(
        d.hold_queue(&h, Duration::from_secs(30)).await,
        "a long hold",
    );
    assert_nothing_claimable(d, &h, "held for 30 s").await;
    assert!(
        ok(d.clear_rate_limit(&h).await, "clear_rate_limit"),
        "clear ends a hold"
    );
    let got = claim(d, std::slice::from_ref(&h), 10, LONG_LEASE).await;
    assert_eq!(ids(&got), h_jobs[1..], "claimable at once after clear");
}
