//! Rules of the per-group controls of [`RateLimits`](crate::RateLimits): the
//! group concurrency cap, per-group rate limits and group holds, each keeping
//! the queue's other lanes flowing, and the idle wait for blocked groups.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::{Driver, DriverError, GroupKey, JobId, PendingJob, QueueName, RateLimit, Reservation};

use super::fixture::{
    assert_nothing_claimable, claim, job, ok, queue, stats, LONG_LEASE, POLL, SHORT_LEASE,
    WAKE_SLACK,
};
use super::DriverFactory;

/// A valid group; panics on a bad literal (a bug in the suite).
fn group(name: &str) -> GroupKey {
    GroupKey::new(name).expect("the suite's groups are valid")
}

/// Pushes `count` jobs of `lane` (`""` = ungrouped) on `q` in one bulk call;
/// returns their ids in push order.
async fn push_lane(d: &dyn Driver, q: &QueueName, lane: &str, count: u64) -> Vec<JobId> {
    let g = (!lane.is_empty()).then(|| group(lane));
    let jobs: Vec<PendingJob> = (0..count)
        .map(|n| job(q, n, 3, None).in_group(g.clone()))
        .collect();
    let ids = jobs.iter().map(|j| j.id.clone()).collect();
    ok(d.push_bulk(jobs).await, "push_bulk");
    ids
}

/// How many of `got` came from each lane (`""` = ungrouped), by the group the
/// reservation reports, checked against the lane each id was pushed in.
fn per_lane(got: &[Reservation], book: &HashMap<JobId, &str>) -> HashMap<String, usize> {
    let mut n: HashMap<String, usize> = HashMap::new();
    for r in got {
        let pushed = book.get(&r.lease.job_id).copied().unwrap_or("?");
        let reported = r.group.as_ref().map_or("", |g| g.as_str());
        assert_eq!(
            reported, pushed,
            "Reservation::group of {} must be the group it was pushed in",
            r.lease.job_id
        );
        *n.entry(pushed.to_owned()).or_default() += 1;
    }
    n
}

fn counts(pairs: &[(&str, usize)]) -> HashMap<String, usize> {
    pairs.iter().map(|(l, n)| ((*l).to_owned(), *n)).collect()
}

/// A cap of 2 running jobs per group: a claim takes at most 2 of each group
/// (ungrouped jobs are not capped) and reports each job's group; ack, fail,
/// release and a reclaimed lease each free a slot; jobs already running when
/// the cap is set count; the cap is listed, refused when 0, and cleared.
pub async fn group_concurrency_caps_running_jobs_per_group(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("group_capped");
    let qs = std::slice::from_ref(&q);
    let mut book: HashMap<JobId, &str> = HashMap::new();
    for (lane, n) in [("a", 6), ("b", 3), ("", 3), ("c", 4)] {
        for id in push_lane(d, &q, lane, n).await {
            book.insert(id, lane);
        }
    }
    // Before the cap: 3 of c start (claims take lanes in turn, so take c's
    // three by claiming all of the first pass and releasing the rest).
    let early = claim(d, qs, 12, LONG_LEASE).await;
    let mut c_running = Vec::new();
    for r in early {
        if book[&r.lease.job_id] == "c" && c_running.len() < 3 {
            c_running.push(r);
        } else {
            ok(d.release(&r.lease, Duration::ZERO).await, "release");
        }
    }
    assert_eq!(c_running.len(), 3, "12 jobs claimed in turn hold 3 of c");

    match d.set_group_concurrency(&q, 0).await {
        Err(DriverError::InvalidRateLimit(_)) => {}
        other => panic!("a group concurrency of 0 must be refused, got {other:?}"),
    }
    ok(
        d.set_group_concurrency(&q, 5).await,
        "set_group_concurrency",
    );
    ok(
        d.set_group_concurrency(&q, 2).await,
        "set_group_concurrency",
    );
    assert_eq!(
        ok(
            d.group_concurrency_limits().await,
            "group_concurrency_limits"
        ),
        vec![(q.clone(), 2)],
        "the replaced cap is listed"
    );

    let got = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&got, &book),
        counts(&[("a", 2), ("b", 2), ("", 3)]),
        "2 of each group, c (3 running from before the cap) none, ungrouped uncapped"
    );
    assert_nothing_claimable(d, &q, "every group at its cap").await;
    let mut a: Vec<&Reservation> = got
        .iter()
        .filter(|r| book[&r.lease.job_id] == "a")
        .collect();
    let b: Vec<&Reservation> = got
        .iter()
        .filter(|r| book[&r.lease.job_id] == "b")
        .collect();

    // Each way a job ends frees one slot of its group.
    ok(d.ack(&a.remove(0).lease).await, "ack");
    let one = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&one, &book),
        counts(&[("a", 1)]),
        "an ack frees one slot"
    );
    ok(d.fail(&b[0].lease, "boom").await, "fail");
    let one = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&one, &book),
        counts(&[("b", 1)]),
        "a fail frees one slot"
    );
    ok(d.release(&a[0].lease, Duration::ZERO).await, "release");
    let one = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&one, &book),
        counts(&[("a", 1)]),
        "a release frees one slot"
    );
    for r in c_running.drain(..2) {
        ok(d.ack(&r.lease).await, "ack");
    }
    let one = claim(d, qs, 20, SHORT_LEASE).await;
    assert_eq!(
        per_lane(&one, &book),
        counts(&[("c", 1)]),
        "c under its cap again once 2 of its 3 early jobs ended"
    );
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    ok(d.reclaim_expired(qs).await, "reclaim_expired");
    let one = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&one, &book),
        counts(&[("c", 1)]),
        "a reclaimed lease frees its slot (and its job is claimable again)"
    );

    assert!(
        ok(d.clear_rate_limit(&q).await, "clear_rate_limit"),
        "clearing a cap reports it"
    );
    assert!(
        ok(
            d.group_concurrency_limits().await,
            "group_concurrency_limits"
        )
        .is_empty(),
        "no cap after clear"
    );
    let rest = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&rest, &book),
        counts(&[("a", 3)]),
        "after clear a group starts every ready job"
    );
}

/// Per lane: (running now, most seen running, jobs finished).
type LaneTally = (usize, usize, usize);

/// 6 concurrent claimers over 4 groups of 15 jobs under a cap of 2: no group
/// ever has more than 2 jobs between its claim's reply and its ack, every job
/// is handed out once, and all of them finish.
pub async fn group_concurrency_holds_across_concurrent_claimers(factory: &dyn DriverFactory) {
    const CAP: usize = 2;
    let driver = factory.fresh().await;
    let q = queue("group_capped_contended");
    let mut book: HashMap<JobId, String> = HashMap::new();
    for lane in ["g0", "g1", "g2", "g3"] {
        for id in push_lane(driver.as_ref(), &q, lane, 15).await {
            book.insert(id, lane.to_owned());
        }
    }
    ok(
        driver.set_group_concurrency(&q, CAP as u32).await,
        "set_group_concurrency",
    );
    let book = Arc::new(book);
    let seen: Arc<Mutex<HashMap<String, LaneTally>>> = Arc::default();
    let done_at = Instant::now() + Duration::from_secs(20);
    let mut tasks = JoinSet::new();
    for i in 0..6usize {
        let d: Arc<dyn Driver> = driver.clone();
        let (q, book, seen) = (q.clone(), book.clone(), seen.clone());
        tasks.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let got = claim(d.as_ref(), std::slice::from_ref(&q), 1 + i % 3, LONG_LEASE).await;
                if got.is_empty() {
                    let finished: usize = seen.lock().unwrap().values().map(|v| v.2).sum();
                    if finished == book.len() || Instant::now() > done_at {
                        return ids;
                    }
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                for r in &got {
                    let mut s = seen.lock().unwrap();
                    let e = s.entry(book[&r.lease.job_id].clone()).or_default();
                    e.0 += 1;
                    e.1 = e.1.max(e.0);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                for r in got {
                    {
                        // Counted down before the ack: another claimer may take
                        // the slot as soon as the ack lands.
                        let mut s = seen.lock().unwrap();
                        let e = s.get_mut(&book[&r.lease.job_id]).expect("counted up");
                        e.0 -= 1;
                        e.2 += 1;
                    }
                    ok(d.ack(&r.lease).await, "ack");
                    ids.push(r.lease.job_id);
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.expect("a claimer does not panic"));
    }
    let unique: std::collections::HashSet<&JobId> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a job was handed out twice");
    assert_eq!(all.len(), book.len(), "every job finished");
    for (lane, (_, most, _)) in seen.lock().unwrap().iter() {
        assert!(
            *most <= CAP,
            "group {lane} had {most} jobs running at once under a cap of {CAP}"
        );
    }
}

/// A per-group limit of 2 per 700 ms: each group and the ungrouped lane start
/// 2 jobs per window, one group's full window does not stop another group
/// pushed later, and every lane gets its next 2 once its window opens; the
/// limit is listed and shown per group.
pub async fn per_group_rate_limit_gives_each_group_a_window(factory: &dyn DriverFactory) {
    const PER: Duration = Duration::from_millis(700);
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("group_windows");
    let qs = std::slice::from_ref(&q);
    let limit = RateLimit::new(2, PER).expect("valid").per_group();
    ok(d.set_rate_limit(&q, limit).await, "set_rate_limit");
    assert_eq!(
        ok(d.rate_limits().await, "rate_limits"),
        vec![(q.clone(), limit)],
        "a per-group limit is listed as one"
    );
    assert_eq!(stats(d, &q).await.rate_limit, Some(limit));
    let mut book: HashMap<JobId, &str> = HashMap::new();
    for (lane, n) in [("a", 5), ("b", 5), ("", 5)] {
        for id in push_lane(d, &q, lane, n).await {
            book.insert(id, lane);
        }
    }
    let first = Instant::now();
    let got = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&got, &book),
        counts(&[("a", 2), ("b", 2), ("", 2)]),
        "2 per lane in the first window"
    );
    for id in push_lane(d, &q, "late", 3).await {
        book.insert(id, "late");
    }
    let got = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&got, &book),
        counts(&[("late", 2)]),
        "a group pushed later has a window of its own"
    );
    assert_nothing_claimable(d, &q, "every lane's window full").await;

    ok(
        d.wait_for_jobs(qs, Duration::from_secs(5)).await,
        "wait_for_jobs",
    );
    let back = Instant::now();
    assert!(
        back + Duration::from_millis(50) >= first + PER,
        "wait_for_jobs returned {:?} before any window opened: an idle worker would spin",
        (first + PER).saturating_duration_since(back)
    );
    let mut got = Vec::new();
    let deadline = Instant::now() + PER + WAKE_SLACK;
    while got.len() < 6 && Instant::now() < deadline {
        got.extend(claim(d, qs, 20, LONG_LEASE).await);
        tokio::time::sleep(POLL).await;
    }
    let n = per_lane(&got, &book);
    for lane in ["a", "b", ""] {
        assert_eq!(
            n.get(lane).copied().unwrap_or(0),
            2,
            "lane {lane:?} gets 2 more once its window opens: {n:?}"
        );
    }
}

/// `hold_group` stops one group's claims (the other lanes still deliver) until
/// it passes, not before; a shorter hold does not cut it short; an idle wait
/// on a queue whose only ready jobs are held waits for the hold; clear ends
/// every group hold at once.
pub async fn hold_group_holds_one_group_until_it_passes(factory: &dyn DriverFactory) {
    const HOLD: Duration = Duration::from_millis(700);
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("group_held");
    let qs = std::slice::from_ref(&q);
    let mut book: HashMap<JobId, &str> = HashMap::new();
    for (lane, n) in [("a", 3), ("b", 2), ("", 1)] {
        for id in push_lane(d, &q, lane, n).await {
            book.insert(id, lane);
        }
    }
    let a = Instant::now();
    ok(d.hold_group(&q, &group("a"), HOLD).await, "hold_group");
    ok(
        d.hold_group(&q, &group("a"), Duration::from_millis(50))
            .await,
        "hold_group (shorter)",
    );
    let got = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&got, &book),
        counts(&[("b", 2), ("", 1)]),
        "a held group gives nothing; the other lanes deliver"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_nothing_claimable(d, &q, "a shorter hold does not cut a longer one").await;
    ok(
        d.wait_for_jobs(qs, Duration::from_secs(5)).await,
        "wait_for_jobs",
    );
    let back = Instant::now();
    assert!(
        back + Duration::from_millis(50) >= a + HOLD,
        "wait_for_jobs returned {:?} before the group's hold ended",
        (a + HOLD).saturating_duration_since(back)
    );
    assert!(
        back <= a + HOLD + WAKE_SLACK,
        "wait_for_jobs returned {:?} after the hold ended",
        back.saturating_duration_since(a + HOLD)
    );
    let mut got = Vec::new();
    let deadline = Instant::now() + WAKE_SLACK;
    while got.is_empty() && Instant::now() < deadline {
        got = claim(d, qs, 1, LONG_LEASE).await;
        tokio::time::sleep(POLL).await;
    }
    assert_eq!(
        per_lane(&got, &book),
        counts(&[("a", 1)]),
        "a's jobs once its hold passed"
    );

    ok(
        d.hold_group(&q, &group("a"), Duration::from_secs(60)).await,
        "hold_group",
    );
    assert_nothing_claimable(d, &q, "a held for a minute").await;
    assert!(
        ok(d.clear_rate_limit(&q).await, "clear_rate_limit"),
        "clearing a group hold reports it"
    );
    let got = claim(d, qs, 20, LONG_LEASE).await;
    assert_eq!(
        per_lane(&got, &book),
        counts(&[("a", 2)]),
        "clear ends the hold at once"
    );
}

/// An idle wait on a queue whose only ready jobs are in a group at its cap
/// waits (does not return at once) and returns once one of the group's running
/// jobs ends.
pub async fn capped_group_is_waited_for_until_a_job_ends(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let q = queue("group_capped_wait");
    push_lane(driver.as_ref(), &q, "a", 3).await;
    ok(
        driver.set_group_concurrency(&q, 1).await,
        "set_group_concurrency",
    );
    let mut got = claim(driver.as_ref(), std::slice::from_ref(&q), 5, LONG_LEASE).await;
    assert_eq!(got.len(), 1, "a cap of 1");
    let running = got.remove(0);
    let waiter = {
        let d: Arc<dyn Driver> = driver.clone();
        let q = q.clone();
        tokio::spawn(async move {
            ok(
                d.wait_for_jobs(std::slice::from_ref(&q), Duration::from_secs(5))
                    .await,
                "wait_for_jobs",
            );
            Instant::now()
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !waiter.is_finished(),
        "wait_for_jobs returned while the only ready group was at its cap: an idle worker would spin"
    );
    let acked = Instant::now();
    ok(driver.ack(&running.lease).await, "ack");
    let back = waiter.await.expect("the waiter does not panic");
    assert!(
        back <= acked + WAKE_SLACK,
        "wait_for_jobs returned {:?} after the capped group's job ended",
        back.saturating_duration_since(acked)
    );
    let got = claim(driver.as_ref(), std::slice::from_ref(&q), 5, LONG_LEASE).await;
    assert_eq!(got.len(), 1, "the freed slot's one job");
}

/// Claims from `q` until a claim comes back empty (at most `rounds` claims of
/// up to 200): every job a driver hands out while some are claimable.
async fn claim_until_empty(d: &dyn Driver, q: &QueueName, rounds: usize) -> Vec<Reservation> {
    let mut all = Vec::new();
    for _ in 0..rounds {
        let got = claim(d, std::slice::from_ref(q), 200, LONG_LEASE).await;
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
    panic!("{q} still gave jobs after {rounds} claims");
}

/// 90 groups of 2 jobs under a cap of 1, every third group held: claims (each
/// may come back short of what it asked) hand out exactly one job of each open
/// group and none of a held one, however many lanes a claim looks at and
/// whatever order blocked and open lanes come in; an ack then frees exactly its
/// own group's slot.
pub async fn controls_apply_to_each_of_many_groups(factory: &dyn DriverFactory) {
    const GROUPS: usize = 90;
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("group_many_controls");
    let names: Vec<String> = (0..GROUPS).map(|i| format!("g{i:02}")).collect();
    let mut book: HashMap<JobId, &str> = HashMap::new();
    for name in &names {
        for id in push_lane(d, &q, name, 2).await {
            book.insert(id, name);
        }
    }
    ok(
        d.set_group_concurrency(&q, 1).await,
        "set_group_concurrency",
    );
    for name in names.iter().step_by(3) {
        ok(
            d.hold_group(&q, &group(name), Duration::from_secs(60))
                .await,
            "hold_group",
        );
    }
    let got = claim_until_empty(d, &q, 20).await;
    let open: Vec<(&str, usize)> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(_, n)| (n.as_str(), 1))
        .collect();
    assert_eq!(
        per_lane(&got, &book),
        counts(&open),
        "one job of each open group (cap 1), none of a held group"
    );
    let g01 = got
        .iter()
        .find(|r| book[&r.lease.job_id] == "g01")
        .expect("g01 is open");
    ok(d.ack(&g01.lease).await, "ack");
    let next = claim_until_empty(d, &q, 20).await;
    assert_eq!(
        per_lane(&next, &book),
        counts(&[("g01", 1)]),
        "an ack frees its own group's slot only"
    );
}
