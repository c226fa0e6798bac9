//! Rules about many claimers at once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::super::fixture::{
    assert_counts, assert_nothing_claimable, claim, ids, job, ok, queue, LONG_LEASE,
};
use super::super::DriverFactory;
use crate::{Driver, GroupKey, JobId, QueueName};

const JOBS: usize = 2000;
const CLAIMERS: usize = 16;
const CHUNK: usize = 500;
const GIVE_UP: Duration = Duration::from_secs(60);

/// One claimer: claims batches of `max` and acks them until `done` reaches
/// [`JOBS`]; returns every job id it claimed, in claim order.
async fn claimer(
    driver: Arc<dyn Driver>,
    queue: QueueName,
    max: usize,
    done: Arc<AtomicUsize>,
) -> Vec<JobId> {
    let started = Instant::now();
    let qs = std::slice::from_ref(&queue);
    let mut mine = Vec::new();
    while done.load(Ordering::SeqCst) < JOBS {
        assert!(
            started.elapsed() < GIVE_UP,
            "16 claimers did not drain {JOBS} jobs within {GIVE_UP:?} ({} done)",
            done.load(Ordering::SeqCst)
        );
        let batch = claim(driver.as_ref(), qs, max, LONG_LEASE).await;
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        let leases: Vec<_> = batch.iter().map(|r| r.lease.clone()).collect();
        let outcome = ok(driver.ack_batch(&leases).await, "ack_batch");
        assert!(
            outcome.lost.is_empty(),
            "a claimer lost leases it had just been given: {:?}",
            outcome.lost
        );
        assert_eq!(outcome.acked, leases.len(), "ack_batch acked every lease");
        mine.extend(ids(&batch));
        done.fetch_add(batch.len(), Ordering::SeqCst);
    }
    mine
}

/// 16 concurrent claimers over 2,000 jobs (pushed in chunks while they run) get
/// every job exactly once: no duplicates, none missed.
pub async fn concurrent_claimers_get_each_job_once(factory: &dyn DriverFactory) {
    each_job_once(factory, "contended", |_| None).await;
}

/// The same with the jobs spread over 300 groups (job `n` in group `n % 300`):
/// claims that serve different lanes of one rotation at the same time still
/// hand every job out exactly once.
pub async fn concurrent_claimers_of_many_groups_get_each_job_once(factory: &dyn DriverFactory) {
    each_job_once(factory, "contended_groups", |n| {
        Some(GroupKey::new(format!("g{}", n % 300)).expect("a valid group"))
    })
    .await;
}

/// [`JOBS`] jobs on `name`, job `n` in group `group(n)`, pushed in chunks while
/// [`CLAIMERS`] claimers drain them: each is claimed exactly once.
async fn each_job_once(
    factory: &dyn DriverFactory,
    name: &str,
    group: impl Fn(usize) -> Option<GroupKey>,
) {
    let driver = factory.fresh().await;
    let q = queue(name);
    let chunks: Vec<Vec<_>> = (0..JOBS)
        .map(|n| job(&q, n as u64, 3, None).in_group(group(n)))
        .collect::<Vec<_>>()
        .chunks(CHUNK)
        .map(<[_]>::to_vec)
        .collect();
    let pushed: HashSet<JobId> = chunks.iter().flatten().map(|j| j.id.clone()).collect();
    assert_eq!(pushed.len(), JOBS);

    let mut chunks = chunks.into_iter();
    let first = chunks.next().expect("at least one chunk");
    ok(driver.push_bulk(first).await, "push_bulk");

    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for i in 0..CLAIMERS {
        tasks.spawn(claimer(driver.clone(), q.clone(), 1 + i % 8, done.clone()));
    }
    for chunk in chunks {
        tokio::time::sleep(Duration::from_millis(5)).await;
        ok(driver.push_bulk(chunk).await, "push_bulk");
    }

    let mut seen = HashSet::new();
    let mut duplicates = Vec::new();
    let mut total = 0;
    while let Some(joined) = tasks.join_next().await {
        let claimed = match joined {
            Ok(claimed) => claimed,
            Err(e) => {
                tasks.abort_all();
                match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(e) => panic!("a claimer did not finish: {e}"),
                }
            }
        };
        for id in claimed {
            total += 1;
            if !seen.insert(id.clone()) {
                duplicates.push(id);
            }
        }
    }
    assert!(
        duplicates.is_empty(),
        "{} jobs were handed to more than one claimer, e.g. {:?}",
        duplicates.len(),
        duplicates.first()
    );
    let missed = pushed.difference(&seen).count();
    assert_eq!(missed, 0, "{missed} jobs were never claimed");
    assert_eq!(
        total, JOBS,
        "claims handed out {total} jobs for {JOBS} pushed"
    );
    assert_nothing_claimable(driver.as_ref(), &q, "after all claimers finished").await;
    assert_counts(
        driver.as_ref(),
        &q,
        (0, 0, 0, 0),
        "after every job was acked",
    )
    .await;
}
