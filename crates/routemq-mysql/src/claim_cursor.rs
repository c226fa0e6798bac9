//! The claim cursor: where this driver's next claim of a queue starts its scan.
//!
//! A claim reserves rows by changing `reserved_at`, and an ack deletes them.
//! InnoDB does neither in place in a secondary index: the entry the claim index
//! held for the row stays, delete-marked, until the purge thread removes it,
//! which lags the drain by a few thousand jobs. Those entries sort first in the
//! claim's range (they are the oldest jobs), and a locking read checks each
//! against its row. So a claim that scans from the head of the queue walks
//! every job claimed since the last purge: measured on MariaDB 10.11, a claim
//! of 16 jobs in the middle of a drain read about 6,000 pages and took 2–3.5 ms,
//! against 0.3 ms for the `UPDATE` that reserves the same rows.
//!
//! The cursor is the `(available_at, id)` of the last job this driver claimed
//! from the queue. A claim first scans past it (`claim_after_cursor.sql`), so
//! it starts where the unclaimed jobs start. Rows can still appear at or before
//! the cursor: a push whose transaction committed after later jobs were claimed,
//! a row another claimer locked and then gave back by rolling back, or a push
//! after the server's clock was stepped back (pushes, releases and reclaims are
//! otherwise timed by the server's `NOW(6)`, never behind a claimed job). A claim
//! scans there too (`claim_behind_cursor.sql`) whenever the scan past the cursor
//! came up short, and a queue that stays busy is scanned from its head at least
//! every [`LOOK_BEHIND_EVERY`]. So such a job waits at most that long more than
//! it would have, and only while newer jobs keep every claim full.
//!
//! The cursor is a hint, never a guarantee: which rows a claim may take is
//! still decided by the claim's `WHERE` and `SKIP LOCKED`, so a stale, lost
//! or wrong cursor changes the order jobs are found in, never whether a job is
//! handed out once. It moves only after the claim's transaction committed.
//! A driver keeps one cursor (about a hundred bytes) per queue it has claimed
//! from, for its lifetime, and one more for a queue whose ungrouped jobs it
//! claimed apart (per-group controls without a rotation: [`ClaimScan`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use mysql_async::{Transaction, Value};
use routemq_core::QueueName;
use tokio::time::Instant;

use crate::groups::Locked;
use crate::sql::{self, ClaimRange, ClaimScan};

/// How long the claims of a queue that stays busy may go without scanning
/// from its head.
pub(crate) const LOOK_BEHIND_EVERY: Duration = Duration::from_millis(500);

/// A position in a queue's claim order: `available_at` (as the server's
/// `DATETIME(6)`: year, month, day, hour, minute, second, microsecond), then id.
type Position = ((u16, u8, u8, u8, u8, u8, u32), u64);

/// One queue's cursor.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    at: Position,
    /// When a claim last scanned at or before the cursor (or from the head).
    looked_behind: Instant,
}

/// The claim cursors of one driver (and its clones), by scan and queue: the
/// ungrouped scan of a queue with per-group controls keeps its own cursor, as
/// it passes over the queue's grouped jobs.
#[derive(Debug, Default)]
pub(crate) struct ClaimCursors {
    by_queue: Mutex<HashMap<(ClaimScan, String), Cursor>>,
}

/// What a claim's scan of one queue saw, applied by [`ClaimCursors::advance`]
/// once the claim committed.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// The scan and queue.
    key: (ClaimScan, String),
    /// The furthest row locked, if any.
    furthest: Option<Position>,
    /// The scan covered everything at or before the cursor.
    looked_behind: bool,
}

impl ClaimCursors {
    /// The cursor of `scan` over `queue`, unless the claim should scan from the
    /// head (none yet, or none from the head for [`LOOK_BEHIND_EVERY`]).
    fn start(&self, scan: ClaimScan, queue: &str) -> Option<Position> {
        let by_queue = self.by_queue.lock().unwrap_or_else(|e| e.into_inner());
        let cursor = by_queue.get(&(scan, queue.to_owned()))?;
        (cursor.looked_behind.elapsed() < LOOK_BEHIND_EVERY).then_some(cursor.at)
    }

    /// Moves the cursor of the scan that saw `seen` forward to what it saw,
    /// once its claim committed (never back: two claims of one driver may
    /// commit in either order).
    pub(crate) fn advance(&self, seen: Seen) {
        let mut by_queue = self.by_queue.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match (by_queue.get_mut(&seen.key), seen.furthest) {
            (Some(cursor), furthest) => {
                if let Some(at) = furthest.filter(|at| *at > cursor.at) {
                    cursor.at = at;
                }
                if seen.looked_behind {
                    cursor.looked_behind = now;
                }
            }
            // Only a head scan finds the first row of a queue without a cursor.
            (None, Some(at)) => {
                by_queue.insert(
                    seen.key,
                    Cursor {
                        at,
                        looked_behind: now,
                    },
                );
            }
            (None, None) => {}
        }
    }

    /// Locks up to `room` jobs of `queue` that `scan` claims, in `tx`
    /// ([`sql::claim_select`]): past the cursor first, then at or before it if
    /// that came up short, or from the head when no cursor applies. Returns the
    /// rows, oldest first within each scan, and what to
    /// [`advance`](Self::advance) the cursor by once `tx` committed.
    pub(crate) async fn lock_claimable(
        &self,
        tx: &mut Transaction<'_>,
        queue: &QueueName,
        room: usize,
        scan: ClaimScan,
    ) -> Result<(Vec<Locked>, Seen), mysql_async::Error> {
        use mysql_async::prelude::Queryable;
        let q = queue.as_str();
        let key = (scan, q.to_owned());
        let Some(cursor) = self.start(scan, q) else {
            let rows: Vec<Locked> = tx
                .exec(sql::claim_select(scan, ClaimRange::Head), (q, room as u64))
                .await?;
            return Ok(split(key, rows, true));
        };
        let bound = |range| {
            let (date, id) = cursor;
            let at = date_value(date);
            (
                sql::claim_select(scan, range),
                vec![Value::from(q), at.clone(), at, Value::from(id)],
            )
        };
        let (stmt, mut params) = bound(ClaimRange::AfterCursor);
        params.push(Value::from(room as u64));
        let after: Vec<Locked> = tx.exec(stmt, params).await?;
        let (mut rows, mut seen) = split(key.clone(), after, false);
        if rows.len() < room {
            let (stmt, mut params) = bound(ClaimRange::BehindCursor);
            params.push(Value::from((room - rows.len()) as u64));
            let behind: Vec<Locked> = tx.exec(stmt, params).await?;
            rows.extend(split(key, behind, true).0);
            seen.looked_behind = true;
        }
        Ok((rows, seen))
    }
}

/// The rows, and what they saw: the furthest position among them (the last:
/// each scan is ordered).
fn split(key: (ClaimScan, String), rows: Vec<Locked>, looked_behind: bool) -> (Vec<Locked>, Seen) {
    let furthest = rows
        .last()
        .and_then(|r| position(&r.8).map(|date| (date, r.0)));
    (
        rows,
        Seen {
            key,
            furthest,
            looked_behind,
        },
    )
}

/// The server's `DATETIME(6)` as sent in the binary protocol; `None` for any
/// other value (then no cursor is kept and claims scan from the head).
fn position(value: &Value) -> Option<(u16, u8, u8, u8, u8, u8, u32)> {
    match *value {
        Value::Date(y, mo, d, h, mi, s, us) => Some((y, mo, d, h, mi, s, us)),
        _ => None,
    }
}

fn date_value((y, mo, d, h, mi, s, us): (u16, u8, u8, u8, u8, u8, u32)) -> Value {
    Value::Date(y, mo, d, h, mi, s, us)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EARLY: Position = ((2026, 12, 2, 10, 0, 0, 5), 9);
    const LATE: Position = ((2026, 12, 2, 10, 0, 0, 6), 3);

    fn seen(furthest: Option<Position>, looked_behind: bool) -> Seen {
        seen_by(ClaimScan::Queue, furthest, looked_behind)
    }

    fn seen_by(scan: ClaimScan, furthest: Option<Position>, looked_behind: bool) -> Seen {
        Seen {
            key: (scan, "q".to_owned()),
            furthest,
            looked_behind,
        }
    }

    fn start(cursors: &ClaimCursors, queue: &str) -> Option<Position> {
        cursors.start(ClaimScan::Queue, queue)
    }

    #[test]
    fn a_queue_is_scanned_from_its_head_until_a_claim_saw_a_row() {
        let cursors = ClaimCursors::default();
        assert_eq!(start(&cursors, "q"), None);
        cursors.advance(seen(None, true));
        assert_eq!(start(&cursors, "q"), None);
        cursors.advance(seen(Some(EARLY), true));
        assert_eq!(start(&cursors, "q"), Some(EARLY));
        assert_eq!(start(&cursors, "other"), None);
        assert_eq!(
            cursors.start(ClaimScan::Ungrouped, "q"),
            None,
            "the ungrouped scan keeps its own cursor"
        );
        cursors.advance(seen_by(ClaimScan::Ungrouped, Some(LATE), true));
        assert_eq!(cursors.start(ClaimScan::Ungrouped, "q"), Some(LATE));
        assert_eq!(start(&cursors, "q"), Some(EARLY));
    }

    #[test]
    fn the_cursor_only_moves_forward_in_available_at_then_id_order() {
        let cursors = ClaimCursors::default();
        cursors.advance(seen(Some(LATE), true));
        cursors.advance(seen(Some(EARLY), false));
        assert_eq!(
            start(&cursors, "q"),
            Some(LATE),
            "an earlier commit arriving late"
        );
        let later_id = (LATE.0, LATE.1 + 1);
        cursors.advance(seen(Some(later_id), false));
        assert_eq!(start(&cursors, "q"), Some(later_id));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_queue_is_scanned_from_its_head_every_look_behind_period() {
        let cursors = ClaimCursors::default();
        cursors.advance(seen(Some(EARLY), true));
        tokio::time::advance(LOOK_BEHIND_EVERY - Duration::from_millis(1)).await;
        cursors.advance(seen(Some(LATE), false));
        assert_eq!(start(&cursors, "q"), Some(LATE), "still within the period");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(
            start(&cursors, "q"),
            None,
            "the period passed: from the head"
        );
        cursors.advance(seen(None, true));
        assert_eq!(
            start(&cursors, "q"),
            Some(LATE),
            "a head scan restarts the period"
        );
    }
}
