//! Rules about the order in which jobs are claimed.

use std::time::{Duration, SystemTime};

use super::super::fixture::{
    assert_nothing_claimable, claim, ids, job, ok, push, push_at, push_job, queue, sleep_until,
    LONG_LEASE,
};
use super::super::DriverFactory;
use crate::JobId;

/// FIFO within a queue: jobs pushed one by one are claimed in push order, whether
/// claimed one at a time or in batches; delayed jobs become claimable in due-time
/// order, and jobs due at the same instant in push order.
pub async fn fifo_within_queue(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("fifo");
    let qs = std::slice::from_ref(&q);

    assert_nothing_claimable(d, &q, "an empty queue").await;

    let mut pushed = Vec::new();
    for n in 0..20 {
        pushed.push(push(d, &q, n, 3).await);
    }
    let mut claimed = Vec::new();
    for _ in 0..8 {
        claimed.extend(ids(&claim(d, qs, 1, LONG_LEASE).await));
    }
    while claimed.len() < pushed.len() {
        let batch = claim(d, qs, 5, LONG_LEASE).await;
        assert!(
            !batch.is_empty(),
            "claim stopped before the queue was drained"
        );
        claimed.extend(ids(&batch));
    }
    assert_eq!(claimed, pushed, "jobs must be claimed in push order");
    assert_nothing_claimable(d, &q, "after draining").await;

    // Delayed jobs: due-time order first, push order among equal due times.
    let base = SystemTime::now() + Duration::from_millis(300);
    let late = push_at(d, &q, 100, base + Duration::from_millis(100)).await;
    let same: Vec<JobId> = {
        let mut v = Vec::new();
        for n in 101..104 {
            v.push(push_at(d, &q, n, base).await);
        }
        v
    };
    let early = push_at(d, &q, 104, base - Duration::from_millis(100)).await;
    sleep_until(base + Duration::from_millis(200)).await;
    let claimed = ids(&claim(d, qs, 10, LONG_LEASE).await);
    let mut expected = vec![early];
    expected.extend(same);
    expected.push(late);
    assert_eq!(
        claimed, expected,
        "due delayed jobs must be claimed in due-time order, push order among equals"
    );
}

/// Strict priority: a claim over `[high, default]` drains `high` before taking
/// anything from `default`, also when `max` exceeds what `high` holds; the order
/// of the list decides, and due delayed jobs of `high` count as `high`'s.
pub async fn strict_priority_across_queues(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let high = queue("high");
    let low = queue("default");
    let both = [high.clone(), low.clone()];

    let mut highs = Vec::new();
    let mut lows = Vec::new();
    for n in 0..5 {
        lows.push(push(d, &low, n, 3).await);
        highs.push(push(d, &high, n, 3).await);
    }
    let first = ids(&claim(d, &both, 3, LONG_LEASE).await);
    assert_eq!(first, highs[..3], "claim(max 3) over [high, default]");
    let second = ids(&claim(d, &both, 4, LONG_LEASE).await);
    let mut expected = highs[3..].to_vec();
    expected.extend_from_slice(&lows[..2]);
    assert_eq!(
        second, expected,
        "claim(max 4) with 2 left on high: both of high, then default in order"
    );
    let rest = ids(&claim(d, &both, 10, LONG_LEASE).await);
    assert_eq!(rest, lows[2..], "the rest of default");

    // The order of the list decides, not the queue names.
    let h = push(d, &high, 10, 3).await;
    let l = push(d, &low, 10, 3).await;
    let got = ids(&claim(d, &[low.clone(), high.clone()], 1, LONG_LEASE).await);
    assert_eq!(
        got,
        vec![l],
        "claim over [default, high] takes default first"
    );
    let got = ids(&claim(d, &[low.clone(), high.clone()], 1, LONG_LEASE).await);
    assert_eq!(got, vec![h]);

    // A delayed job of high that has come due outranks a ready job of default.
    let due = SystemTime::now() + Duration::from_millis(200);
    let delayed_high = push_at(d, &high, 20, due).await;
    let ready_low = push(d, &low, 21, 3).await;
    sleep_until(due + Duration::from_millis(50)).await;
    let got = ids(&claim(d, &both, 2, LONG_LEASE).await);
    assert_eq!(
        got,
        vec![delayed_high, ready_low],
        "a due delayed job on high comes before default's ready job"
    );
}

/// Bulk push of 1,000 jobs returns their ids in input order and keeps FIFO; an
/// empty bulk push stores nothing.
pub async fn bulk_push_keeps_ids_and_order(factory: &dyn DriverFactory) {
    let driver = factory.fresh().await;
    let d = driver.as_ref();
    let q = queue("bulk");

    let empty = ok(d.push_bulk(Vec::new()).await, "push_bulk(empty)");
    assert!(empty.is_empty(), "push_bulk of nothing returns no ids");

    let jobs: Vec<_> = (0..1000).map(|n| job(&q, n, 3, None)).collect();
    let expected: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
    let returned = ok(d.push_bulk(jobs).await, "push_bulk(1000)");
    assert_eq!(returned, expected, "push_bulk returns ids in input order");

    let single = push_job(d, job(&q, 1000, 3, None)).await;
    let mut claimed = Vec::new();
    loop {
        let batch = claim(d, std::slice::from_ref(&q), 100, LONG_LEASE).await;
        if batch.is_empty() {
            break;
        }
        claimed.extend(ids(&batch));
    }
    let mut all = expected;
    all.push(single);
    assert_eq!(
        claimed.len(),
        all.len(),
        "every bulk-pushed job is claimable"
    );
    assert_eq!(claimed, all, "bulk-pushed jobs are claimed in input order");
}
