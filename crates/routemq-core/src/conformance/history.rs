//! Rules of [`History`](crate::History): per-minute counts add up (across calls,
//! within a call and from concurrent writers), read back per queue for an
//! inclusive range of minutes, oldest first, without empty minutes, and minutes
//! past [`HISTORY_KEPT_FOR`] are never returned.
//!
//! The contract's last point (counts live in the backend, so a new driver value
//! over the same store reads them) has no rule: a [`DriverFactory`] gives each
//! rule one driver over a fresh store and no second one over the same store.

use std::sync::Arc;
use std::time::SystemTime;

use crate::{
    unix_minute, Driver, HistoryCounts, HistoryDelta, MinuteCounts, QueueName, UnixMinute,
    HISTORY_KEPT_FOR,
};

use super::fixture::{ok, queue};
use super::DriverFactory;

/// The counts `(processed, failed, retried)`.
fn counts((processed, failed, retried): (u64, u64, u64)) -> HistoryCounts {
    HistoryCounts {
        processed,
        failed,
        retried,
    }
}

/// A delta of `c` for `minute` of `q`.
fn delta(q: &QueueName, minute: UnixMinute, c: (u64, u64, u64)) -> HistoryDelta {
    HistoryDelta {
        queue: q.clone(),
        minute,
        counts: counts(c),
    }
}

/// What `history` should return: `(minute, counts)` pairs.
fn minutes(want: &[(UnixMinute, (u64, u64, u64))]) -> Vec<MinuteCounts> {
    want.iter()
        .map(|(minute, c)| MinuteCounts {
            minute: *minute,
            counts: counts(*c),
        })
        .collect()
}

/// The current minute.
fn this_minute() -> UnixMinute {
    unix_minute(SystemTime::now())
}

async fn record(d: &dyn Driver, deltas: &[HistoryDelta]) {
    ok(d.record_history(deltas).await, "record_history");
}

async fn read(
    d: &dyn Driver,
    q: &QueueName,
    from: UnixMinute,
    to: UnixMinute,
) -> Vec<MinuteCounts> {
    ok(d.history(q, from, to).await, "history")
}

/// `record_history` adds: two calls for the same queue and minute sum up, and so
/// do two deltas for it in one call; another minute keeps its own counts; every
/// count reads back exactly; an empty call changes nothing.
pub async fn history_deltas_add_up(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("hist_add");
    let m = this_minute() - 3;
    record(d, &[delta(&q, m, (1, 2, 3))]).await;
    assert_eq!(
        read(d, &q, m, m).await,
        minutes(&[(m, (1, 2, 3))]),
        "history_deltas_add_up: one delta reads back exactly"
    );
    record(
        d,
        &[
            delta(&q, m, (10, 0, 40)),
            delta(&q, m - 1, (5, 0, 0)),
            delta(&q, m, (100, 20, 0)),
        ],
    )
    .await;
    record(d, &[]).await;
    assert_eq!(
        read(d, &q, m - 1, m).await,
        minutes(&[(m - 1, (5, 0, 0)), (m, (111, 22, 43))]),
        "history_deltas_add_up: a second call and two deltas of one call add to the \
         minute's counts (nothing overwritten), another minute is kept apart"
    );
}

/// Many writers adding to the same minute at once lose nothing.
pub async fn history_concurrent_writers_sum_exactly(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: Arc<dyn Driver> = Arc::clone(&d);
    let q = queue("hist_concurrent");
    let m = this_minute() - 2;
    let (writers, calls) = (8u64, 25u64);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (d, q) = (d.clone(), q.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..calls {
                let deltas = [delta(&q, m, (1, w % 2, 2)), delta(&q, m + 1, (0, 0, 1))];
                ok(d.record_history(&deltas).await, "record_history");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let n = writers * calls;
    assert_eq!(
        read(&*d, &q, m, m + 1).await,
        minutes(&[(m, (n, n / 2, 2 * n)), (m + 1, (0, 0, n))]),
        "history_concurrent_writers_sum_exactly: {writers} concurrent writers of {calls} \
         calls each must sum up exactly"
    );
}

/// `history` returns the minutes of `[from, to]`, both ends included, oldest
/// first (whatever order they were written in), leaves out minutes without
/// counts, and reads one queue only.
pub async fn history_range_is_inclusive_ordered_and_per_queue(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("hist_range");
    let other = queue("hist_range_other");
    let b = this_minute() - 30;
    record(
        d,
        &[
            delta(&q, b + 5, (5, 0, 0)),
            delta(&other, b + 2, (0, 7, 0)),
            delta(&q, b, (1, 0, 0)),
            delta(&q, b + 9, (9, 0, 0)),
        ],
    )
    .await;
    record(
        d,
        &[delta(&q, b + 2, (2, 1, 0)), delta(&other, b + 1, (0, 0, 3))],
    )
    .await;
    let rule = "history_range_is_inclusive_ordered_and_per_queue";
    assert_eq!(
        read(d, &q, b, b + 5).await,
        minutes(&[(b, (1, 0, 0)), (b + 2, (2, 1, 0)), (b + 5, (5, 0, 0))]),
        "{rule}: [from, to] includes both ends, oldest first, empty minutes left out, \
         another queue's counts not mixed in"
    );
    assert_eq!(
        read(d, &q, b + 1, b + 4).await,
        minutes(&[(b + 2, (2, 1, 0))]),
        "{rule}: a range inside the recorded minutes"
    );
    assert_eq!(
        read(d, &q, b - 10, b + 20).await,
        minutes(&[
            (b, (1, 0, 0)),
            (b + 2, (2, 1, 0)),
            (b + 5, (5, 0, 0)),
            (b + 9, (9, 0, 0)),
        ]),
        "{rule}: a range wider than the recorded minutes"
    );
    assert_eq!(
        read(d, &q, b + 6, b + 8).await,
        Vec::new(),
        "{rule}: a range with nothing recorded is empty"
    );
    assert_eq!(
        read(d, &other, b, b + 9).await,
        minutes(&[(b + 1, (0, 0, 3)), (b + 2, (0, 7, 0))]),
        "{rule}: queues are independent"
    );
    assert_eq!(
        read(d, &queue("hist_range_unknown"), b, b + 9).await,
        Vec::new(),
        "{rule}: a queue with nothing recorded has no minutes"
    );
}

/// A delta for a minute older than [`HISTORY_KEPT_FOR`] is ignored (never
/// returned); minutes inside the retention, even near its end, are kept.
pub async fn history_ignores_minutes_past_retention(factory: &dyn DriverFactory) {
    let d = factory.fresh().await;
    let d: &dyn Driver = &**d;
    let q = queue("hist_retention");
    let kept = (HISTORY_KEPT_FOR.as_secs() / 60) as i64;
    let now = this_minute();
    let (expired, old, recent) = (now - kept - 2, now - kept + 10, now - 1);
    record(
        d,
        &[
            delta(&q, expired, (1, 1, 1)),
            delta(&q, old, (2, 0, 0)),
            delta(&q, recent, (3, 0, 0)),
        ],
    )
    .await;
    let rule = "history_ignores_minutes_past_retention";
    assert_eq!(
        read(d, &q, expired, expired).await,
        Vec::new(),
        "{rule}: a minute older than HISTORY_KEPT_FOR is never returned"
    );
    assert_eq!(
        read(d, &q, now - kept - 60, now + 1).await,
        minutes(&[(old, (2, 0, 0)), (recent, (3, 0, 0))]),
        "{rule}: the expired minute is left out, minutes within the retention \
         (10 minutes from its end, and the last minute) are kept"
    );
    // A later write does not bring the expired minute back.
    record(d, &[delta(&q, recent, (1, 0, 0))]).await;
    assert_eq!(
        read(d, &q, now - kept - 60, now + 1).await,
        minutes(&[(old, (2, 0, 0)), (recent, (4, 0, 0))]),
        "{rule}: after another write"
    );
}
