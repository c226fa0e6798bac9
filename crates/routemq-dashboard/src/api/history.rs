//! Throughput charts from the per-minute history: the last hour minute by
//! minute, and the last day in fifteen-minute buckets aligned to the quarter
//! hour, each summed over the queues given.

use routemq_core::{HistoryCounts, MinuteCounts, UnixMinute};
use serde::Serialize;

/// Points of the hour chart (one a minute).
const HOUR_POINTS: i64 = 60;
/// Minutes per point of the day chart.
const DAY_BUCKET: i64 = 15;
/// Points of the day chart.
const DAY_POINTS: i64 = 96;

/// One point of a chart: the counts of `bucket_minutes` minutes from `minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Point {
    /// The bucket's first minute.
    pub(crate) minute: UnixMinute,
    /// The same, in milliseconds since the epoch.
    pub(crate) at_ms: i64,
    /// Its counts.
    #[serde(flatten)]
    pub(crate) counts: HistoryCounts,
}

/// A chart: its points, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Series {
    /// Minutes per point.
    pub(crate) bucket_minutes: i64,
    /// The points, oldest first (every bucket, empty ones with zeros).
    pub(crate) points: Vec<Point>,
}

/// The hour and day charts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Charts {
    /// The last 60 minutes, the current one last.
    pub(crate) hour: Series,
    /// The last 96 quarter hours, the current one last.
    pub(crate) day: Series,
}

/// The first minute the day chart covers when the current minute is `now`.
fn day_start(now: UnixMinute) -> UnixMinute {
    now - now.rem_euclid(DAY_BUCKET) - (DAY_POINTS - 1) * DAY_BUCKET
}

/// The minutes to read for the charts at `now`: `(from, to)`, both included.
pub(crate) fn range(now: UnixMinute) -> (UnixMinute, UnixMinute) {
    (day_start(now).min(now - HOUR_POINTS + 1), now)
}

fn series(start: UnixMinute, bucket: i64, points: i64, minutes: &[MinuteCounts]) -> Series {
    let mut out: Vec<Point> = (0..points)
        .map(|i| {
            let minute = start + i * bucket;
            Point {
                minute,
                at_ms: minute * 60_000,
                counts: HistoryCounts::default(),
            }
        })
        .collect();
    for m in minutes {
        let offset = m.minute - start;
        if offset < 0 {
            continue;
        }
        if let Some(point) = usize::try_from(offset / bucket)
            .ok()
            .and_then(|i| out.get_mut(i))
        {
            point.counts.add(m.counts);
        }
    }
    Series {
        bucket_minutes: bucket,
        points: out,
    }
}

/// The charts at `now` from `minutes` (of any number of queues, in any order);
/// minutes after `now` (a worker whose clock runs ahead) are left out.
pub(crate) fn charts(now: UnixMinute, minutes: &[MinuteCounts]) -> Charts {
    let past: Vec<MinuteCounts> = minutes
        .iter()
        .filter(|m| m.minute <= now)
        .copied()
        .collect();
    let minutes = past.as_slice();
    Charts {
        hour: series(now - HOUR_POINTS + 1, 1, HOUR_POINTS, minutes),
        day: series(day_start(now), DAY_BUCKET, DAY_POINTS, minutes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: UnixMinute, processed: u64, failed: u64) -> MinuteCounts {
        MinuteCounts {
            minute,
            counts: HistoryCounts {
                processed,
                failed,
                retried: 0,
            },
        }
    }

    #[test]
    fn minutes_land_in_their_points_and_sum_over_queues() {
        let now = 29_000_002; // 7 minutes past a quarter hour
        let c = charts(
            now,
            &[
                at(now, 3, 1),
                at(now, 2, 0),
                at(now - 59, 5, 0),
                at(now - 60, 7, 0),
                at(now + 1, 100, 100),
            ],
        );
        assert_eq!(c.hour.points.len(), 60);
        assert_eq!(c.hour.points[59].minute, now);
        assert_eq!(c.hour.points[59].counts.processed, 5);
        assert_eq!(c.hour.points[59].counts.failed, 1);
        assert_eq!(c.hour.points[0].counts.processed, 5);
        assert_eq!(c.day.points.len(), 96);
        let last = c.day.points[95];
        assert_eq!(last.minute, now - 7);
        assert_eq!(last.counts.processed, 5);
        assert_eq!(last.at_ms, (now - 7) * 60_000);
        let total: u64 = c.day.points.iter().map(|p| p.counts.processed).sum();
        assert_eq!(total, 17, "the minute after now is left out");
        let (from, to) = range(now);
        assert_eq!((from, to), (c.day.points[0].minute, now));
    }
}
