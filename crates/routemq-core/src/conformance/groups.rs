//! Rules of fair groups ([`PendingJob::group`](crate::PendingJob::group)):
//! claims take a queue's groups in turn, ungrouped jobs keep their FIFO as one
//! more lane, a group's jobs stay FIFO, and every step of the lifecycle, pause,
//! unique jobs and the rate limit work for grouped jobs.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::{
    Driver, GroupKey, JobId, PendingJob, QueueName, RateLimit, Reservation, UniqueKey, UniqueScope,
    Uniqueness,
};

use super::fixture::{
    assert_counts, assert_nothing_claimable, claim, claim_one, claim_when_due, ids, job, ok,
    push_job, queue, LONG_LEASE, SHORT_LEASE,
};
use super::DriverFactory;

/// A valid group; panics on a bad literal (a bug in the suite).
fn group(name: &str) -> GroupKey {
    GroupKey::new(name).expect("the suite's groups are valid")
}

/// Job `n` of `lane` (`""` = ungrouped) on `q`, claimable at `at`.
fn grouped(q: &QueueName, lane: &str, n: u64, at: Option<SystemTime>) -> PendingJob {
    let g = (!lane.is_empty()).then(|| group(lane));
    job(q, n, 3, at).in_group(g)
}

/// Pushes `count` jobs of `lane` (numbered from 0) in one bulk call; records
/// each id's (lane, number) in `book`.
async fn push_lane(
    d: &dyn Driver,
    q: &QueueName,
    lane: &str,
    count: u64,
    book: &mut HashMap<JobId, (String, u64)>,
) {
    let jobs: Vec<PendingJob> = (0..count).map(|n| grouped(q, lane, n, None)).collect();
    for j in &jobs {
        book.insert(j.id.clone(), (lane.to_owned(), j_number(j)));
    }
    ok(d.push_bulk(jobs).await, "push_bulk");
}

/// The number a [`grouped`] job carries (`{"n":N}` in its data).
fn j_number(j: &PendingJob) -> u64 {
    let env = crate::Envelope::decode(&j.payload).expect("the suite's jobs decode");
    let text = String::from_utf8(env.data).expect("JSON data");
    text.trim_start_matches("{\"n\":")
        .trim_end_matches('}')
        .parse()
        .expect("{\"n\":N}")
}

/// Checks a claim order against fairness and per-lane FIFO: at every point,
/// among the lanes that still had jobs, no lane was served two claims more than
/// another; each lane's jobs came out in push order.
fn check_fair(order: &[(String, u64)], totals: &HashMap<String, u64>, what: &str) {
    let mut served: HashMap<&str, u64> = HashMap::new();
    for (k, (lane, n)) in order.iter().enumerate() {
        let before = served.get(lane.as_str()).copied().unwrap_or(0);
        assert_eq!(
            *n, before,
            "{what}: lane {lane:?} gave job {n} as its claim {before} (jobs of a group are FIFO); order so far {:?}",
            &order[..=k]
        );
        served.insert(lane, before + 1);
        let waiting = totals
            .iter()
            .filter(|(l, total)| served.get(l.as_str()).copied().unwrap_or(0) < **total)
            .map(|(l, _)| served.get(l.as_str()).copied().unwrap_or(0));
        let most = served.values().copied().max().unwrap_or(0);
        for got in waiting {
            assert!(
                most <= got + 2 && served[lane.as_str()] <= got + 1,
                "{what}: after {} claims a lane with jobs waiting had only {got} (lane {lane:?} has {}); order {:?}",
                k + 1,
                served[lane.as_str()],
                &order[..=k]
            );
        }
    }
}

/// Claims everything on `q` in claims of `batch`, settling each job with ack.
async fn drain(
    d: &dyn Driver,
    q: &QueueName,
    batch: usize,
    book: &HashMap<JobId, (String, u64)>,
) -> Vec<(String, u64)> {
    let mut order = Vec::new();
    loop {
        let got = claim(d, std::slice::from_ref(q), batch, LONG_LEASE).await;
        if got.is_empty() {
            return order;
        }
        for r in got {
            order.push(book[&r.lease.job_id].clone());
            ok(d.ack(&r.lease).await, "ack");
        }
    }
}

/// Claims take groups in turn: with groups of 6, 3 and 2 jobs pushed one
/// group after the other, no group with jobs waiting falls two claims behind
/// another, whether jobs are claimed one at a time or in batches, and each
/// group's jobs come out in push order.
pub async fn groups_take_turns_in_claims(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    for batch in [1, 4] {
        let q = queue(&format!("groups_turns_{batch}"));
        let mut book = HashMap::new();
        let mut totals = HashMap::new();
        for (lane, count) in [("a", 6), ("b", 3), ("c", 2)] {
            push_lane(d, &q, lane, count, &mut book).await;
            totals.insert(lane.to_owned(), count);
        }
        let order = drain(d, &q, batch, &book).await;
        assert_eq!(order.len(), 11, "every job is claimed once");
        check_fair(&order, &totals, &format!("claims of {batch}"));
    }
}

/// Ungrouped jobs beside groups keep their FIFO and take turns as one more
/// lane: pushed first, 5 ungrouped jobs are not held back behind two groups,
/// and jobs pushed on a queue without groups still come out in push order.
pub async fn ungrouped_jobs_take_turns_and_keep_fifo(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("groups_plain");
    let mut book = HashMap::new();
    let mut totals = HashMap::new();
    for (lane, count) in [("", 5), ("a", 5), ("b", 2), ("", 3)] {
        let before = totals.get(lane).copied().unwrap_or(0);
        let jobs: Vec<PendingJob> = (before..before + count)
            .map(|n| grouped(&q, lane, n, None))
            .collect();
        for j in &jobs {
            book.insert(j.id.clone(), (lane.to_owned(), j_number(j)));
        }
        ok(d.push_bulk(jobs).await, "push_bulk");
        totals.insert(lane.to_owned(), before + count);
    }
    let order = drain(d, &q, 3, &book).await;
    assert_eq!(order.len(), 15, "every job is claimed once");
    check_fair(&order, &totals, "ungrouped beside groups");

    // Once the groups are drained the queue is plain again: strict FIFO.
    let mut plain = Vec::new();
    for n in 0..6 {
        plain.push(push_job(d, grouped(&q, "", n, None)).await);
    }
    let got = claim(d, std::slice::from_ref(&q), 10, LONG_LEASE).await;
    assert_eq!(ids(&got), plain, "ungrouped jobs alone stay FIFO");
}

/// A group with a long backlog does not delay another group's jobs: after
/// 500 jobs of group `a`, the 5 jobs of group `b` pushed last are all claimed
/// within the first 12 claims (made by two claimers in turn).
pub async fn group_backlog_does_not_delay_another_group(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("groups_backlog");
    let mut book = HashMap::new();
    push_lane(d, &q, "a", 500, &mut book).await;
    push_lane(d, &q, "b", 5, &mut book).await;
    let mut b_done = 0;
    for round in 0..6 {
        let got = claim(d, std::slice::from_ref(&q), 2, LONG_LEASE).await;
        assert_eq!(got.len(), 2, "round {round}: two jobs are ready");
        b_done += got
            .iter()
            .filter(|r| book[&r.lease.job_id].0 == "b")
            .count();
    }
    assert_eq!(
        b_done, 5,
        "all of group b's 5 jobs are claimed within 12 claims despite a's backlog of 500"
    );
    assert_counts(d, &q, (493, 0, 12, 0), "after 12 claims").await;
}

/// A claim finds a claimable job however many lanes ahead of it in the
/// rotation have none: behind 100 groups whose only job is delayed an hour (so
/// each stays in the rotation), one group with a ready job, pushed last so it
/// is served last; a claim of 5 gets exactly that job, and the delayed jobs
/// stay waiting.
pub async fn a_ready_group_is_found_behind_many_waiting_ones(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("groups_deep");
    let later = SystemTime::now() + Duration::from_secs(3600);
    let waiting: Vec<PendingJob> = (0..100)
        .map(|i| grouped(&q, &format!("w{i:03}"), 0, Some(later)))
        .collect();
    ok(d.push_bulk(waiting).await, "push_bulk");
    let ready = push_job(d, grouped(&q, "ready", 0, None)).await;
    let got = claim(d, std::slice::from_ref(&q), 5, LONG_LEASE).await;
    assert_eq!(
        ids(&got),
        vec![ready],
        "the one ready job is found behind 100 groups with nothing claimable"
    );
    assert_nothing_claimable(d, &q, "only delayed jobs are left").await;
    assert_counts(d, &q, (0, 100, 1, 0), "after the claim").await;
}

/// Every lifecycle step works for grouped jobs: a released job (at once or
/// delayed) and a reclaimed one return to their group and keep its FIFO; a
/// delayed grouped job becomes claimable when due; ack and fail settle them;
/// `clear` removes ready, delayed and reserved grouped jobs, and a group pushed
/// after it is served again.
pub async fn grouped_jobs_release_reclaim_settle_and_clear(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("groups_life");
    let qs = std::slice::from_ref(&q);
    let a0 = push_job(d, grouped(&q, "a", 0, None)).await;
    let a1 = push_job(d, grouped(&q, "a", 1, None)).await;
    let b0 = push_job(d, grouped(&q, "b", 0, None)).await;
    let first = claim(d, qs, 3, LONG_LEASE).await;
    assert_eq!(first.len(), 3, "the three jobs are claimable");
    let lease_of = |id: &JobId| -> Reservation {
        first
            .iter()
            .find(|r| &r.lease.job_id == id)
            .cloned()
            .expect("claimed")
    };
    // a0 released at once goes back before a1 (released later) in group a.
    ok(
        d.release(&lease_of(&a0).lease, Duration::ZERO).await,
        "release",
    );
    ok(
        d.release(&lease_of(&a1).lease, Duration::ZERO).await,
        "release",
    );
    ok(d.fail(&lease_of(&b0).lease, "boom").await, "fail");
    assert_counts(d, &q, (2, 0, 0, 1), "after release, release, fail").await;
    let again = claim(d, qs, 1, LONG_LEASE).await;
    assert_eq!(
        ids(&again),
        vec![a0.clone()],
        "released jobs keep their group's FIFO"
    );
    ok(d.ack(&again[0].lease).await, "ack");

    // A delayed release returns to the group when due.
    let r1 = claim_one(d, &q, "a1 again").await;
    assert_eq!(r1.lease.job_id, a1);
    let due = SystemTime::now() + Duration::from_millis(300);
    ok(
        d.release(&r1.lease, Duration::from_millis(300)).await,
        "release delayed",
    );
    let back = claim_when_due(d, &q, due, "a delayed release of a grouped job").await;
    assert_eq!(back.lease.job_id, a1);
    ok(d.ack(&back.lease).await, "ack");

    // A grouped job pushed with a delay is claimable when due.
    let due = SystemTime::now() + Duration::from_millis(300);
    let c0 = push_job(d, grouped(&q, "c", 0, Some(due))).await;
    let got = claim_when_due(d, &q, due, "a delayed grouped job").await;
    assert_eq!(got.lease.job_id, c0);

    // An expired lease returns the job to its group.
    let c1 = push_job(d, grouped(&q, "c", 1, None)).await;
    ok(d.ack(&got.lease).await, "ack");
    let short = claim(d, qs, 1, SHORT_LEASE).await;
    assert_eq!(ids(&short), vec![c1.clone()]);
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    let report = ok(d.reclaim_expired(qs).await, "reclaim_expired");
    assert_eq!(report.released, 1, "the expired grouped job is reclaimed");
    let c2 = push_job(d, grouped(&q, "c", 2, None)).await;
    let got = claim(d, qs, 2, LONG_LEASE).await;
    assert_eq!(
        ids(&got),
        vec![c1, c2],
        "the reclaimed job is back in its group"
    );
    assert_eq!(got[0].attempt, 2, "the reclaimed job's attempt is counted");
    for r in &got {
        ok(d.ack(&r.lease).await, "ack");
    }
    assert_counts(d, &q, (0, 0, 0, 1), "everything settled").await;

    // clear: ready, delayed and reserved grouped jobs go.
    push_job(d, grouped(&q, "a", 0, None)).await;
    push_job(d, grouped(&q, "b", 0, None)).await;
    let held = claim_one(d, &q, "a job to hold over clear").await;
    push_job(d, grouped(&q, "a", 1, None)).await;
    push_job(d, grouped(&q, "b", 1, Some(SystemTime::now() + LONG_LEASE))).await;
    assert_eq!(
        ok(d.clear(&q).await, "clear"),
        4,
        "clear removes the four jobs"
    );
    assert_counts(d, &q, (0, 0, 0, 1), "after clear").await;
    assert!(
        d.ack(&held.lease).await.is_err(),
        "a cleared job's lease is lost"
    );
    assert_nothing_claimable(d, &q, "after clear").await;
    let z = push_job(d, grouped(&q, "z", 0, None)).await;
    let u = push_job(d, grouped(&q, "", 0, None)).await;
    let got = claim(d, qs, 5, LONG_LEASE).await;
    let mut got_ids = ids(&got);
    got_ids.sort_by_key(|id| id.to_string());
    let mut want = vec![z, u];
    want.sort_by_key(|id| id.to_string());
    assert_eq!(got_ids, want, "a group pushed after clear is served");
}

/// Pause, unique jobs and the per-queue rate limit hold for grouped jobs: a
/// paused queue gives none of its groups' jobs until resumed; a unique key is
/// per queue whatever the group; a limit of 2 per 10 s lets 2 grouped jobs
/// start, however many groups wait.
pub async fn pause_unique_and_rate_limit_hold_for_grouped_jobs(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("groups_rules");
    let qs = std::slice::from_ref(&q);
    for (lane, n) in [("a", 0), ("b", 0), ("c", 0)] {
        push_job(d, grouped(&q, lane, n, None)).await;
    }
    ok(d.pause(&q).await, "pause");
    assert_nothing_claimable(d, &q, "a paused queue with grouped jobs").await;
    ok(d.resume(&q).await, "resume");
    let got = claim(d, qs, 10, LONG_LEASE).await;
    assert_eq!(got.len(), 3, "resumed: every group's job is claimable");
    for r in &got {
        ok(d.ack(&r.lease).await, "ack");
    }

    let u = Uniqueness {
        key: UniqueKey::new("groups-report").expect("valid"),
        scope: UniqueScope::UntilFinished,
        debounce: None,
    };
    let first = ok(
        d.push_unique(grouped(&q, "a", 1, None), &u).await,
        "push_unique",
    );
    assert!(!first.duplicate, "the key is free");
    let again = ok(
        d.push_unique(grouped(&q, "b", 1, None), &u).await,
        "push_unique",
    );
    assert!(
        again.duplicate,
        "a unique key is per queue, whatever the group"
    );
    assert_eq!(again.id, first.id);
    let r = claim_one(d, &q, "the unique grouped job").await;
    assert_eq!(r.lease.job_id, first.id);
    ok(d.ack(&r.lease).await, "ack");

    let limit = RateLimit::new(2, Duration::from_secs(10)).expect("valid");
    ok(d.set_rate_limit(&q, limit).await, "set_rate_limit");
    for (lane, n) in [("a", 2), ("b", 2), ("c", 2), ("d", 0)] {
        push_job(d, grouped(&q, lane, n, None)).await;
    }
    let got = claim(d, qs, 10, LONG_LEASE).await;
    assert_eq!(got.len(), 2, "the queue's limit holds across its groups");
    assert_nothing_claimable(d, &q, "the window is full").await;
}

/// A grouped job that fails — by `fail`, or by a lease expiring on its last
/// try — keeps its group in the failed store (`FailedJob::group`), and a retry
/// puts it back in that group (its claim reports the group again).
pub async fn failed_grouped_job_keeps_its_group(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("failed_grouped");
    let qs = std::slice::from_ref(&q);
    let g = group("tenant-9");
    let failed = push_job(d, job(&q, 1, 1, None).in_group(Some(g.clone()))).await;
    let expired = push_job(d, job(&q, 2, 1, None).in_group(Some(g.clone()))).await;
    let plain = push_job(d, job(&q, 3, 1, None)).await;
    let got = claim(d, qs, 3, SHORT_LEASE).await;
    assert_eq!(got.len(), 3);
    for r in &got {
        if r.lease.job_id != expired {
            ok(d.fail(&r.lease, "boom").await, "fail");
        }
    }
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    ok(d.reclaim_expired(qs).await, "reclaim_expired");
    for (id, want) in [(&failed, Some(&g)), (&expired, Some(&g)), (&plain, None)] {
        let f = ok(d.failed_show(id).await, "failed_show").expect("in the failed store");
        assert_eq!(f.group.as_ref(), want, "FailedJob::group of {id}");
        assert!(ok(d.failed_retry(id).await, "failed_retry"));
    }
    let back = claim(d, qs, 10, LONG_LEASE).await;
    let mut groups: Vec<(JobId, Option<GroupKey>)> = back
        .iter()
        .map(|r| (r.lease.job_id.clone(), r.group.clone()))
        .collect();
    groups.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let mut want = vec![
        (failed.clone(), Some(g.clone())),
        (expired.clone(), Some(g.clone())),
        (plain.clone(), None),
    ];
    want.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    assert_eq!(groups, want, "retried jobs are back in their groups");
}
