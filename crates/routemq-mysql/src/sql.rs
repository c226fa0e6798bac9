//! Every SQL statement the driver runs. Fixed statements live in `src/sql/*.sql`
//! (each file's header says its parameters and what it guarantees); statements
//! with an `IN (…)` list or a row count chosen at run time are built here from
//! those files. Every value is a `?` parameter; only placeholders are generated.
//!
//! IN lists are padded to the next power of two (repeating the last value, which
//! changes nothing in an `IN`), so a connection prepares at most a handful of
//! shapes per statement and its statement cache stays warm.

use mysql_async::Value;
use routemq_core::Lease;

pub(crate) const PUSH: &str = include_str!("sql/push.sql");
pub(crate) const PUSH_NOW: &str = include_str!("sql/push_now.sql");
const PUSH_BULK_HEAD: &str = include_str!("sql/push_bulk_head.sql");
const PUSH_BULK_ROW: &str = include_str!("sql/push_bulk_row.sql");
const PUSH_BULK_ROW_NOW: &str = include_str!("sql/push_bulk_row_now.sql");
const PUSH_GROUP_HEAD: &str = include_str!("sql/push_group_head.sql");
const PUSH_GROUP_ROW: &str = include_str!("sql/push_group_row.sql");
pub(crate) const GROUP_JOIN: &str = include_str!("sql/group_join.sql");
pub(crate) const GROUP_LANES: &str = include_str!("sql/group_lanes.sql");
pub(crate) const GROUP_LANES_FREE: &str = include_str!("sql/group_lanes_free.sql");
const GROUP_CLAIM_PART: &str = include_str!("sql/group_claim_part.sql");
pub(crate) const HANDOFF_INSERT: &str = include_str!("sql/handoff_insert.sql");
pub(crate) const HANDOFF_RETRY_LOCK: &str = include_str!("sql/handoff_retry_lock.sql");
pub(crate) const HANDOFF_RETRY_MARK: &str = include_str!("sql/handoff_retry_mark.sql");
pub(crate) const HANDOFF_RETRY_STALE: &str = include_str!("sql/handoff_retry_stale.sql");
pub(crate) const HANDOFF_RETRY_FINISH: &str = include_str!("sql/handoff_retry_finish.sql");
pub(crate) const HANDOFF_COUNTS: &str = include_str!("sql/handoff_counts.sql");
const GROUP_TURNS: &str = include_str!("sql/group_turns.sql");
const GROUP_HAS_JOBS_PART: &str = include_str!("sql/group_has_jobs_part.sql");
const GROUP_LEAVE_LANES: &str = include_str!("sql/group_leave_lanes.sql");
pub(crate) const GROUP_CLEAR: &str = include_str!("sql/group_clear.sql");
pub(crate) const GROUPED_QUEUES: &str = include_str!("sql/grouped_queues.sql");
const CLAIM_SELECT: &str = include_str!("sql/claim_select.sql");
const CLAIM_AFTER_CURSOR: &str = include_str!("sql/claim_after_cursor.sql");
const CLAIM_BEHIND_CURSOR: &str = include_str!("sql/claim_behind_cursor.sql");
const CLAIM_SELECT_UNGROUPED: &str = include_str!("sql/claim_select_ungrouped.sql");
const CLAIM_UPDATE: &str = include_str!("sql/claim_update.sql");
pub(crate) const ACK: &str = include_str!("sql/ack.sql");
const ACK_BATCH_LOCK: &str = include_str!("sql/ack_batch_lock.sql");
const ACK_BATCH_RETURNING: &str = include_str!("sql/ack_batch_returning.sql");
const ACK_BATCH_DELETE: &str = include_str!("sql/ack_batch_delete.sql");
const DELETE_IDS: &str = include_str!("sql/delete_ids.sql");
pub(crate) const RELEASE: &str = include_str!("sql/release.sql");
pub(crate) const EXTEND: &str = include_str!("sql/extend.sql");
pub(crate) const FAIL_COPY: &str = include_str!("sql/fail_copy.sql");
pub(crate) const RECLAIM_SELECT: &str = include_str!("sql/reclaim_select.sql");
const RECLAIM_RELEASE: &str = include_str!("sql/reclaim_release.sql");
const RECLAIM_FAIL: &str = include_str!("sql/reclaim_fail.sql");
const NEXT_DUE_PART: &str = include_str!("sql/next_due_part.sql");
pub(crate) const STATS: &str = include_str!("sql/stats.sql");
pub(crate) const QUEUES: &str = include_str!("sql/queues.sql");
pub(crate) const CLEAR: &str = include_str!("sql/clear.sql");
pub(crate) const PAUSE: &str = include_str!("sql/pause.sql");
pub(crate) const RESUME: &str = include_str!("sql/resume.sql");
pub(crate) const PAUSED: &str = include_str!("sql/paused.sql");
pub(crate) const RELEASE_UNCOUNTED: &str = include_str!("sql/release_uncounted.sql");
pub(crate) const RATE_LIMIT_SET: &str = include_str!("sql/rate_limit_set.sql");
pub(crate) const RATE_LIMITS: &str = include_str!("sql/rate_limits.sql");
pub(crate) const RATE_LIMIT_GET: &str = include_str!("sql/rate_limit_get.sql");
pub(crate) const RATE_GATED: &str = include_str!("sql/rate_gated.sql");
pub(crate) const RATE_CLEAR: &str = include_str!("sql/rate_clear.sql");
pub(crate) const RATE_STARTS_CLEAR: &str = include_str!("sql/rate_starts_clear.sql");
pub(crate) const RATE_HOLD: &str = include_str!("sql/rate_hold.sql");
const RATE_LOCK: &str = include_str!("sql/rate_lock.sql");
pub(crate) const RATE_WINDOW: &str = include_str!("sql/rate_window.sql");
const RATE_RECORD_HEAD: &str = include_str!("sql/rate_record_head.sql");
pub(crate) const RATE_PRUNE: &str = include_str!("sql/rate_prune.sql");
pub(crate) const RATE_SPENT: &str = include_str!("sql/rate_spent.sql");
pub(crate) const RATE_GATE: &str = include_str!("sql/rate_gate.sql");
pub(crate) const RATE_OPEN: &str = include_str!("sql/rate_open.sql");
pub(crate) const RATE_LANE_WINDOW: &str = include_str!("sql/rate_lane_window.sql");
pub(crate) const RATE_CAP_SET: &str = include_str!("sql/rate_cap_set.sql");
pub(crate) const RATE_CAPS: &str = include_str!("sql/rate_caps.sql");
pub(crate) const GROUP_HOLD_GATE: &str = include_str!("sql/group_hold_gate.sql");
pub(crate) const GROUP_HOLD: &str = include_str!("sql/group_hold.sql");
pub(crate) const GROUP_HOLDS_CLEAR: &str = include_str!("sql/group_holds_clear.sql");
pub(crate) const GROUP_HOLDS_SPENT: &str = include_str!("sql/group_holds_spent.sql");
pub(crate) const LANE_DUE: &str = include_str!("sql/lane_due.sql");
const LANE_HELD: &str = include_str!("sql/lane_held.sql");
const LANE_WINDOW: &str = include_str!("sql/lane_window.sql");
const LANE_RUNNING: &str = include_str!("sql/lane_running.sql");
const FAILED_COLUMNS: &str = include_str!("sql/failed_columns.sql");
pub(crate) const FAILED_RETRY_COPY: &str = include_str!("sql/failed_retry_copy.sql");
pub(crate) const FAILED_PRUNE: &str = include_str!("sql/failed_prune.sql");
pub(crate) const UNIQUE_LOOKUP: &str = include_str!("sql/unique_lookup.sql");
pub(crate) const PUSH_UNIQUE: &str = include_str!("sql/push_unique.sql");
pub(crate) const UNIQUE_LOCK_INSERT: &str = include_str!("sql/unique_lock_insert.sql");
pub(crate) const UNIQUE_LOCK_TAKE: &str = include_str!("sql/unique_lock_take.sql");
pub(crate) const UNIQUE_DEBOUNCE: &str = include_str!("sql/unique_debounce.sql");
const UNIQUE_RELEASE: &str = include_str!("sql/unique_release.sql");
pub(crate) const UNIQUE_CLEAR: &str = include_str!("sql/unique_clear.sql");
pub(crate) const HEARTBEAT: &str = include_str!("sql/heartbeat.sql");
pub(crate) const WORKERS: &str = include_str!("sql/workers.sql");
pub(crate) const SCHEDULE_KEY: &str = include_str!("sql/schedule_key.sql");
pub(crate) const SCHEDULE_UPSERT: &str = include_str!("sql/schedule_upsert.sql");
pub(crate) const SCHEDULES: &str = include_str!("sql/schedules.sql");
pub(crate) const SCHEDULE_REMOVE: &str = include_str!("sql/schedule_remove.sql");
pub(crate) const SCHEDULE_ADVANCE: &str = include_str!("sql/schedule_advance.sql");
pub(crate) const SCHEDULE_NEXT: &str = include_str!("sql/schedule_next.sql");
pub(crate) const SCHEDULE_RAN: &str = include_str!("sql/schedule_ran.sql");
const TRACKING_BY_UUID: &str = include_str!("sql/tracking_by_uuid.sql");
const TRACKING_BY_ROW: &str = include_str!("sql/tracking_by_row.sql");
const TRACKING_JOB: &str = include_str!("sql/tracking_job.sql");
pub(crate) const TRACKING_RECORD: &str = include_str!("sql/tracking_record.sql");
pub(crate) const TRACKING_RESULT: &str = include_str!("sql/tracking_result.sql");
pub(crate) const TRACKING_RUN: &str = include_str!("sql/tracking_run.sql");
pub(crate) const TRACKING_KEEP: &str = include_str!("sql/tracking_keep.sql");
const TRACKING_CANCEL_KEEP: &str = include_str!("sql/tracking_cancel_keep.sql");
const TRACKING_CANCEL_LOCK: &str = include_str!("sql/tracking_cancel_lock.sql");
pub(crate) const TRACKING_CANCEL_FLAG: &str = include_str!("sql/tracking_cancel_flag.sql");
const TRACKING_CANCEL_REQUESTS: &str = include_str!("sql/tracking_cancel_requests.sql");
pub(crate) const TRACKING_RELEASE_CANCELLED: &str =
    include_str!("sql/tracking_release_cancelled.sql");
pub(crate) const TRACKING_PRUNE: &str = include_str!("sql/tracking_prune.sql");
const WORKFLOW_INSERT_HEAD: &str = include_str!("sql/workflow_insert_head.sql");
const WORKFLOW_INSERT_ROW: &str = include_str!("sql/workflow_insert_row.sql");
const WORKFLOW_MEMBERS_HEAD: &str = include_str!("sql/workflow_members_head.sql");
pub(crate) const WORKFLOW_BATCH_INSERT: &str = include_str!("sql/workflow_batch_insert.sql");
pub(crate) const WORKFLOW_BATCH_LOCK: &str = include_str!("sql/workflow_batch_lock.sql");
pub(crate) const WORKFLOW_BATCH_SUCCEEDED: &str = include_str!("sql/workflow_batch_succeeded.sql");
pub(crate) const WORKFLOW_BATCH_WRITE: &str = include_str!("sql/workflow_batch_write.sql");
pub(crate) const WORKFLOW_BATCH_ADD: &str = include_str!("sql/workflow_batch_add.sql");
pub(crate) const WORKFLOW_BATCH_GET: &str = include_str!("sql/workflow_batch_get.sql");
pub(crate) const WORKFLOW_BATCHES: &str = include_str!("sql/workflow_batches.sql");
pub(crate) const WORKFLOW_RELEASE: &str = include_str!("sql/workflow_release.sql");
pub(crate) const WORKFLOW_DROP: &str = include_str!("sql/workflow_drop.sql");
pub(crate) const WORKFLOW_OWNED: &str = include_str!("sql/workflow_owned.sql");
pub(crate) const WORKFLOW_NOT_STARTED: &str = include_str!("sql/workflow_not_started.sql");
pub(crate) const WORKFLOW_PRUNE_SELECT: &str = include_str!("sql/workflow_prune_select.sql");
pub(crate) const WORKFLOW_PRUNE_MEMBERS: &str = include_str!("sql/workflow_prune_members.sql");
pub(crate) const WORKFLOW_PRUNE_BATCH: &str = include_str!("sql/workflow_prune_batch.sql");
pub(crate) const WORKFLOW_CLEAR_SELECT: &str = include_str!("sql/workflow_clear_select.sql");
pub(crate) const WORKFLOW_CLEAR_MEMBERS: &str = include_str!("sql/workflow_clear_members.sql");
pub(crate) const WORKFLOW_CLEAR_BATCH: &str = include_str!("sql/workflow_clear_batch.sql");
const HISTORY_RECORD: &str = include_str!("sql/history_record.sql");
pub(crate) const HISTORY_RANGE: &str = include_str!("sql/history_range.sql");
pub(crate) const HISTORY_PRUNE: &str = include_str!("sql/history_prune.sql");
const LISTING_PAGE: &str = include_str!("sql/listing_page.sql");
const LISTING_READY: &str = include_str!("sql/listing_ready.sql");
pub(crate) const LISTING_LANES: &str = include_str!("sql/listing_lanes.sql");
const LISTING_READY_LANES: &str = include_str!("sql/listing_ready_lanes.sql");
const LISTING_DELAYED: &str = include_str!("sql/listing_delayed.sql");
const LISTING_RUNNING: &str = include_str!("sql/listing_running.sql");
const LISTING_WAITING: &str = include_str!("sql/listing_waiting.sql");
const LISTING_ENVELOPE: &str = include_str!("sql/listing_envelope.sql");

/// Deletes expired heartbeats (before listing workers).
pub(crate) const WORKERS_PRUNE: &str = "DELETE FROM queue_workers WHERE expires_at <= NOW(6)";
/// Deletes one heartbeat. Params: worker id.
pub(crate) const REMOVE_WORKER: &str = "DELETE FROM queue_workers WHERE id = ?";
/// The server's payload ceiling, read at connect.
pub(crate) const MAX_ALLOWED_PACKET: &str = "SELECT @@max_allowed_packet";
/// Whether the server is MariaDB (which has `DELETE … RETURNING`).
pub(crate) const IS_MARIADB: &str = "SELECT VERSION() LIKE '%MariaDB%'";
/// Refreshes queue_jobs' table statistics (for [`TABLE_BYTES`]).
pub(crate) const ANALYZE_JOBS: &str = "ANALYZE TABLE queue_jobs";
pub(crate) const TABLE_BYTES: &str = include_str!("sql/table_bytes.sql");
/// Failed-store row selection by job id: `uuid = ?` (params: the id)…
pub(crate) const FAILED_BY_UUID: &str = "uuid = ?";
/// …or, for a hand-written row without uuid named `failed-<id>`: params: row id.
pub(crate) const FAILED_BY_ROW: &str = "uuid IS NULL AND id = ?";
/// Deletes one failed row (inside failed retry's transaction). Params: row id.
pub(crate) const FAILED_DELETE_ROW: &str = "DELETE FROM queue_failed_jobs WHERE id = ?";

/// Locks the failed row selected by `filter` ([`FAILED_BY_UUID`] /
/// [`FAILED_BY_ROW`]) for failed retry; returns its row id, queue and group.
pub(crate) fn failed_lock(filter: &str) -> String {
    format!("SELECT id, queue, group_key FROM queue_failed_jobs WHERE {filter} FOR UPDATE")
}

/// Deletes the failed row selected by `filter` (failed forget).
pub(crate) fn failed_delete(filter: &str) -> String {
    format!("DELETE FROM queue_failed_jobs WHERE {filter}")
}

/// Deletes failed jobs in chunks: params: chunk size (all queues) or queue, chunk
/// size.
pub(crate) const FAILED_FLUSH_ALL: &str = "DELETE FROM queue_failed_jobs LIMIT ?";
pub(crate) const FAILED_FLUSH_QUEUE: &str = "DELETE FROM queue_failed_jobs WHERE queue = ? LIMIT ?";

/// A statement fragment without its header (the leading `--` comment lines
/// every `.sql` file starts with), for fragments repeated or embedded in a
/// larger statement.
fn fragment(sql: &str) -> &str {
    let mut rest = sql.trim_start();
    while rest.starts_with("--") {
        rest = rest.split_once('\n').map_or("", |(_, r)| r).trim_start();
    }
    rest.trim_end()
}

/// `(?, ?, …)` with `n` placeholders padded to a power of two; returns the list
/// and the padded length.
fn in_list(n: usize) -> (String, usize) {
    let padded = n.max(1).next_power_of_two();
    let mut s = String::with_capacity(padded * 3 + 2);
    s.push('(');
    for i in 0..padded {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s.push(')');
    (s, padded)
}

/// Repeats the last element until `values` has `len` elements.
pub(crate) fn pad<T: Clone>(mut values: Vec<T>, len: usize) -> Vec<T> {
    if let Some(last) = values.last().cloned() {
        values.resize(len, last);
    }
    values
}

/// Where a claim's scan of one queue starts (claim_select.sql's `{range}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimRange {
    /// From the head of the queue. Params: queue, N.
    Head,
    /// Past the claim cursor. Params: queue, available_at, available_at, id, N.
    AfterCursor,
    /// At or before the claim cursor. Params as `AfterCursor`.
    BehindCursor,
}

/// Which of a queue's jobs a plain claim scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ClaimScan {
    /// Every claimable job (claim_select.sql).
    Queue,
    /// Only ungrouped ones, for a queue with per-group controls but no
    /// rotation (claim_select_ungrouped.sql).
    Ungrouped,
}

/// The claim's select for `scan` with its `{range}` for `range` (built once
/// per shape).
pub(crate) fn claim_select(scan: ClaimScan, range: ClaimRange) -> &'static str {
    static BUILT: std::sync::OnceLock<[[String; 3]; 2]> = std::sync::OnceLock::new();
    let built = BUILT.get_or_init(|| {
        [CLAIM_SELECT, CLAIM_SELECT_UNGROUPED].map(|select| {
            [
                select.replace("{range}", ""),
                select.replace("{range}", fragment(CLAIM_AFTER_CURSOR)),
                select.replace("{range}", fragment(CLAIM_BEHIND_CURSOR)),
            ]
        })
    });
    let scan = match scan {
        ClaimScan::Queue => &built[0],
        ClaimScan::Ungrouped => &built[1],
    };
    match range {
        ClaimRange::Head => &scan[0],
        ClaimRange::AfterCursor => &scan[1],
        ClaimRange::BehindCursor => &scan[2],
    }
}

/// claim_update.sql for `n` ids; returns the SQL and the padded id count.
pub(crate) fn claim_update(n: usize) -> (String, usize) {
    let (list, padded) = in_list(n);
    (format!("{}{list}", CLAIM_UPDATE.trim_end()), padded)
}

/// ack_batch_lock.sql for `n` leases; params: padded ids then padded tokens.
pub(crate) fn ack_batch_lock(n: usize) -> (String, usize) {
    ids_and_owners(ACK_BATCH_LOCK, n)
}

/// `template` with its `{ids}` and `{owners}` IN lists for `n` leases.
fn ids_and_owners(template: &str, n: usize) -> (String, usize) {
    let (list, padded) = in_list(n);
    (
        template
            .trim_end()
            .replace("{ids}", &list)
            .replace("{owners}", &list),
        padded,
    )
}

/// The params of an [`ids_and_owners`] statement: the leases' row ids, then
/// their tokens, each list padded to `padded`.
pub(crate) fn ids_and_owners_params(leases: &[(u64, &Lease)], padded: usize) -> Vec<Value> {
    let ids: Vec<Value> = leases.iter().map(|(id, _)| Value::from(*id)).collect();
    let owners: Vec<Value> = leases
        .iter()
        .map(|(_, l)| Value::from(l.token.0.as_str()))
        .collect();
    let mut params = pad(ids, padded);
    params.extend(pad(owners, padded));
    params
}

/// ack_batch_returning.sql for `n` leases; params: padded ids then padded
/// tokens.
pub(crate) fn ack_batch_returning(n: usize) -> (String, usize) {
    ids_and_owners(ACK_BATCH_RETURNING, n)
}

/// ack_batch_delete.sql for `n` leases; params: padded ids then padded
/// tokens.
pub(crate) fn ack_batch_delete(n: usize) -> (String, usize) {
    ids_and_owners(ACK_BATCH_DELETE, n)
}

/// rate_lock.sql for `n` queues; params: the padded queue names.
pub(crate) fn rate_lock(n: usize) -> (String, usize) {
    let (list, padded) = in_list(n);
    (RATE_LOCK.trim_end().replace("{queues}", &list), padded)
}

/// rate_record_head.sql with `n` rows `(?, ?, ?)`: queue, group_key,
/// started_at each.
pub(crate) fn rate_record(n: usize) -> String {
    let mut s = String::from(RATE_RECORD_HEAD.trim_end());
    for i in 0..n.max(1) {
        s.push_str(if i == 0 { "\n(?, ?, ?)" } else { ", (?, ?, ?)" });
    }
    s
}

/// The grouped-claim lane checks of `lanes` lanes in one statement: per lane a
/// row `k, held, starts in window, running`, its parts lane_held.sql /
/// lane_window.sql / lane_running.sql when asked for, else `0`, the rows
/// joined by `UNION ALL` and padded to a power of two (a padding row repeats
/// the last lane). Returns the statement and the padded count. Params per
/// row: k, then queue and lane for each part asked for (and the window in
/// microseconds after lane_window's).
pub(crate) fn lane_states(
    held: bool,
    window: bool,
    running: bool,
    lanes: usize,
) -> (String, usize) {
    let part = |on: bool, sql: &str| {
        if on {
            fragment(sql).to_owned()
        } else {
            "0".to_owned()
        }
    };
    let row = format!(
        "SELECT ? AS k, {}, {}, {}",
        part(held, LANE_HELD),
        part(window, LANE_WINDOW),
        part(running, LANE_RUNNING)
    );
    union_all(&row, lanes)
}

/// delete_ids.sql for `n` ids.
pub(crate) fn delete_ids(n: usize) -> (String, usize) {
    let (list, padded) = in_list(n);
    (format!("{}{list}", DELETE_IDS.trim_end()), padded)
}

/// reclaim_release.sql for `n` ids.
pub(crate) fn reclaim_release(n: usize) -> (String, usize) {
    let (list, padded) = in_list(n);
    (format!("{}{list}", RECLAIM_RELEASE.trim_end()), padded)
}

/// unique_release.sql for `n` job row ids.
pub(crate) fn unique_release(n: usize) -> (String, usize) {
    let (list, padded) = in_list(n);
    (format!("{}{list}", UNIQUE_RELEASE.trim_end()), padded)
}

/// reclaim_fail.sql for `n` ids (first param: connection name).
pub(crate) fn reclaim_fail(n: usize) -> (String, usize) {
    let (list, padded) = in_list(n);
    (RECLAIM_FAIL.trim_end().replace("{ids}", &list), padded)
}

/// A multi-row INSERT of `rows` jobs: push_bulk_head.sql + push_bulk_row.sql
/// repeated (6 params per row as in push.sql), or push_bulk_row_now.sql when
/// every job is claimable now (4 params per row as in push_now.sql).
pub(crate) fn push_bulk(rows: usize, now: bool) -> String {
    let row = fragment(if now {
        PUSH_BULK_ROW_NOW
    } else {
        PUSH_BULK_ROW
    });
    let mut s = String::with_capacity(PUSH_BULK_HEAD.len() + rows * (row.len() + 2));
    s.push_str(PUSH_BULK_HEAD.trim_end());
    s.push('\n');
    for i in 0..rows {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(row);
    }
    s
}

/// A multi-row INSERT of `rows` jobs with their groups (push_group_head.sql and
/// push_group_row.sql per job).
pub(crate) fn push_group_bulk(rows: usize) -> String {
    let row = fragment(PUSH_GROUP_ROW);
    let mut s = String::with_capacity(PUSH_GROUP_HEAD.len() + rows * (row.len() + 2));
    s.push_str(PUSH_GROUP_HEAD.trim_end());
    s.push('\n');
    for i in 0..rows {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(row);
    }
    s
}

/// Microseconds from the server's now to the earliest due time among waiting
/// (unreserved) jobs of `queues` — ≤ 0 when one is claimable, NULL when none
/// waits; paused queues are left out. One index lookup per queue
/// (next_due_part.sql); params: each queue twice.
pub(crate) fn next_due(queues: usize) -> String {
    let part = fragment(NEXT_DUE_PART);
    let mut s = String::from("SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), MIN(t)) FROM (");
    for i in 0..queues.max(1) {
        if i > 0 {
            s.push_str(" UNION ALL ");
        }
        s.push_str("SELECT ");
        s.push_str(part);
        s.push_str(" AS t");
    }
    s.push_str(") AS due");
    s
}

/// `parts` copies of a `(SELECT …)` part joined by `UNION ALL`, `parts` padded to
/// a power of two; returns the statement and the padded count.
fn union_all(part: &str, parts: usize) -> (String, usize) {
    let part = fragment(part);
    let padded = parts.max(1).next_power_of_two();
    let mut s = String::with_capacity(padded * (part.len() + 11));
    for i in 0..padded {
        if i > 0 {
            s.push_str("\nUNION ALL\n");
        }
        s.push_str(part);
    }
    (s, padded)
}

/// One pass of a grouped claim over `lanes` lanes: group_claim_part.sql per
/// lane, its `{after}` filled with claim_after_cursor.sql, padded to a power
/// of two (a padding part takes 0 rows); returns the statement and the padded
/// count. Params: 6 per part.
pub(crate) fn group_claim(lanes: usize) -> (String, usize) {
    static PART: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let part =
        PART.get_or_init(|| GROUP_CLAIM_PART.replace("{after}", fragment(CLAIM_AFTER_CURSOR)));
    union_all(part, lanes)
}

/// Which of `groups` groups still have a job: group_has_jobs_part.sql per group,
/// padded by repeating the last (a group found twice is still one group).
/// Params: 2 per part.
pub(crate) fn group_has_jobs(groups: usize) -> (String, usize) {
    union_all(GROUP_HAS_JOBS_PART, groups)
}

/// group_turns.sql for `lanes` lanes, padded to a power of two (repeating the
/// last lane's pair and IN value changes nothing).
pub(crate) fn group_turns(lanes: usize) -> (String, usize) {
    let (list, padded) = in_list(lanes);
    let whens = vec!["WHEN ? THEN ?"; padded].join(" ");
    let head = fragment(GROUP_TURNS).replace("{whens}", &whens);
    (format!("{head}{list}"), padded)
}

/// group_leave_lanes.sql for `lanes` lanes, padded to a power of two.
pub(crate) fn group_leave_lanes(lanes: usize) -> (String, usize) {
    let (list, padded) = in_list(lanes);
    (format!("{}{list}", GROUP_LEAVE_LANES.trim_end()), padded)
}

/// failed_columns.sql with a WHERE clause ([`FAILED_BY_UUID`], …) and tail.
pub(crate) fn failed_select(filter: Option<&str>, tail: &str) -> String {
    let mut s = fragment(FAILED_COLUMNS).to_owned();
    if let Some(f) = filter {
        s.push_str("\nWHERE ");
        s.push_str(f);
    }
    if !tail.is_empty() {
        s.push('\n');
        s.push_str(tail);
    }
    s
}

/// Failed jobs newest first, optionally of one queue; params: the queue (when
/// `by_queue`), limit, offset. Served by the (queue, failed_at) / (failed_at) indexes.
pub(crate) fn failed_list(by_queue: bool) -> String {
    failed_select(
        by_queue.then_some("queue = ?"),
        "ORDER BY failed_at DESC, id DESC LIMIT ? OFFSET ?",
    )
}

/// How a tracking statement selects a job ([`tracking_job`], [`tracking_cancel_lock`]):
/// by its uuid, or by row id for a row written by hand (`db-<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobBy {
    /// tracking_by_uuid.sql: params queue, uuid.
    Uuid,
    /// tracking_by_row.sql: params queue, row id.
    Row,
}

fn job_filter(by: JobBy) -> &'static str {
    fragment(match by {
        JobBy::Uuid => TRACKING_BY_UUID,
        JobBy::Row => TRACKING_BY_ROW,
    })
}

/// tracking_job.sql selecting the job `by` uuid or row id.
pub(crate) fn tracking_job(by: JobBy) -> String {
    TRACKING_JOB.trim_end().replace("{job}", job_filter(by))
}

/// tracking_cancel_lock.sql selecting the job `by` uuid or row id.
pub(crate) fn tracking_cancel_lock(by: JobBy) -> String {
    TRACKING_CANCEL_LOCK
        .trim_end()
        .replace("{job}", job_filter(by))
}

/// tracking_cancel_keep.sql for `n` ids (first param: keep for, microseconds).
pub(crate) fn tracking_cancel_keep(n: usize) -> (String, usize) {
    let (list, padded) = in_list(n);
    (
        TRACKING_CANCEL_KEEP.trim_end().replace("{ids}", &list),
        padded,
    )
}

/// tracking_cancel_requests.sql for `n` leases; params: padded ids then padded
/// tokens.
pub(crate) fn tracking_cancel_requests(n: usize) -> (String, usize) {
    ids_and_owners(TRACKING_CANCEL_REQUESTS, n)
}

/// A multi-row INSERT of `rows` workflow jobs: workflow_insert_head.sql +
/// workflow_insert_row.sql repeated (11 params per row).
pub(crate) fn workflow_insert(rows: usize) -> String {
    repeated(WORKFLOW_INSERT_HEAD, fragment(WORKFLOW_INSERT_ROW), rows)
}

/// A multi-row INSERT of `rows` batch memberships: workflow_members_head.sql +
/// `(?, ?)` repeated (batch id, job uuid).
pub(crate) fn workflow_members(rows: usize) -> String {
    repeated(WORKFLOW_MEMBERS_HEAD, "(?, ?)", rows)
}

/// `head` (a header-bearing statement) followed by `row` `rows` times, comma
/// separated.
fn repeated(head: &str, row: &str, rows: usize) -> String {
    let mut s = String::with_capacity(head.len() + rows.max(1) * (row.len() + 2));
    s.push_str(head.trim_end());
    s.push('\n');
    for i in 0..rows.max(1) {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(row);
    }
    s
}

/// Rows one history_record.sql statement adds at most (5 params each): more
/// deltas than this go in several statements of one transaction.
pub(crate) const HISTORY_ROWS: usize = 256;

/// history_record.sql for `rows` rows (at most [`HISTORY_ROWS`]), padded to a
/// power of two; returns the SQL and the padded row count. The caller pads with
/// copies of its last row carrying zero counts (they add nothing).
pub(crate) fn history_record(rows: usize) -> (String, usize) {
    let padded = rows.clamp(1, HISTORY_ROWS).next_power_of_two();
    let more = "\n    UNION ALL SELECT ?, ?, ?, ?, ?".repeat(padded - 1);
    (HISTORY_RECORD.trim_end().replace("{more}", &more), padded)
}

/// Which jobs of a queue a listing statement reads ([`listing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listed {
    /// listing_ready.sql: ungrouped ready jobs. Params: queue.
    Ready,
    /// listing_ready_lanes.sql for this many groups. Params: queue, the groups
    /// padded to the length [`listing`] returns.
    ReadyLanes(usize),
    /// listing_delayed.sql. Params: queue.
    Delayed,
    /// listing_running.sql. Params: queue.
    Running,
    /// listing_waiting.sql. Params: queue.
    Waiting,
}

/// The filter (`WHERE …`, `ORDER BY …`) of `listed`, and the padded group
/// count of [`Listed::ReadyLanes`] (0 for the others).
fn listing_filter(listed: Listed) -> (String, usize) {
    match listed {
        Listed::Ready => (fragment(LISTING_READY).to_owned(), 0),
        Listed::ReadyLanes(n) => {
            let (list, padded) = in_list(n);
            (
                fragment(LISTING_READY_LANES).replace("{lanes}", &list),
                padded,
            )
        }
        Listed::Delayed => (fragment(LISTING_DELAYED).to_owned(), 0),
        Listed::Running => (fragment(LISTING_RUNNING).to_owned(), 0),
        Listed::Waiting => (fragment(LISTING_WAITING).to_owned(), 0),
    }
}

/// One page of `listed`: listing_page.sql around the filter, the outer order
/// being the filter's `ORDER BY` columns on the joined rows (`j.`). Params:
/// the filter's, then limit and offset. Returns the SQL and the padded group
/// count of [`Listed::ReadyLanes`].
pub(crate) fn listing(listed: Listed) -> (String, usize) {
    let (filter, padded) = listing_filter(listed);
    let order = filter
        .rsplit_once("ORDER BY ")
        .map_or("", |(_, columns)| columns)
        .split(',')
        .map(|c| format!("j.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let filter = filter.replace('\n', "\n      ");
    (
        LISTING_PAGE
            .trim_end()
            .replace("{filter}", &filter)
            .replace("{order}", &order),
        padded,
    )
}

/// How many jobs of `listed` there are, counting at most the given number
/// (params: the filter's, then that number): what a page's offset skipped of
/// this part of a listing when the page found none of it. Reads index entries
/// only, at most that many.
pub(crate) fn listing_skipped(listed: Listed) -> String {
    let (filter, _) = listing_filter(listed);
    format!("SELECT COUNT(*) FROM (SELECT 1 FROM queue_jobs\n{filter}\nLIMIT ?) AS skipped")
}

/// listing_envelope.sql selecting the job `by` uuid or row id.
pub(crate) fn job_envelope(by: JobBy) -> String {
    LISTING_ENVELOPE.trim_end().replace("{job}", job_filter(by))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_claim_statements_have_one_part_per_padded_lane() {
        let (s, n) = group_claim(3);
        assert_eq!(n, 4);
        assert_eq!(s.matches("UNION ALL").count(), 3, "{s}");
        assert_eq!(s.matches('?').count(), 24, "6 params per part: {s}");
        assert!(!s.contains("--"), "the header is not repeated: {s}");
        let (s, n) = group_has_jobs(5);
        assert_eq!(n, 8);
        assert_eq!(s.matches('?').count(), 16, "{s}");
        let (s, n) = group_turns(3);
        assert_eq!(n, 4);
        assert_eq!(s.matches("WHEN ? THEN ?").count(), 4, "{s}");
        assert!(
            s.ends_with("WHERE queue = ? AND group_key IN(?, ?, ?, ?)"),
            "{s}"
        );
        assert_eq!(s.matches('?').count(), 13, "{s}");
        let (s, n) = group_leave_lanes(1);
        assert_eq!(n, 1);
        assert!(s.ends_with("group_key IN(?)"), "{s}");
    }

    #[test]
    fn in_lists_are_padded_to_powers_of_two() {
        let (s, n) = claim_update(3);
        assert_eq!(n, 4);
        assert!(s.ends_with("WHERE id IN(?, ?, ?, ?)"), "{s}");
        assert_eq!(pad(vec![1, 2, 3], 4), vec![1, 2, 3, 3]);
        let (s, n) = ack_batch_lock(1);
        assert_eq!(n, 1);
        assert!(s.contains("id IN (?) AND owner IN (?)"), "{s}");
        assert_eq!(delete_ids(0).1, 1);
        let (s, n) = ack_batch_delete(3);
        assert_eq!(n, 4);
        assert!(
            s.ends_with("id IN (?, ?, ?, ?) AND owner IN (?, ?, ?, ?)"),
            "{s}"
        );
    }

    #[test]
    fn built_statements_have_one_placeholder_per_param() {
        assert_eq!(push_bulk(3, false).matches('?').count(), 18);
        assert_eq!(push_bulk(3, true).matches('?').count(), 12);
        assert_eq!(PUSH_NOW.matches('?').count(), 4);
        assert_eq!(next_due(2).matches('?').count(), 4);
        assert_eq!(reclaim_fail(2).0.matches('?').count(), 3);
        assert_eq!(failed_list(true).matches('?').count(), 3);
        assert_eq!(failed_list(false).matches('?').count(), 2);
        assert_eq!(STATS.matches('?').count(), 6);
        assert_eq!(rate_record(3).matches('?').count(), 9);
        assert_eq!(lane_states(true, true, true, 1).0.matches('?').count(), 8);
        assert_eq!(lane_states(false, true, false, 1).0.matches('?').count(), 4);
        let (s, n) = lane_states(true, false, true, 3);
        assert_eq!(n, 4);
        assert_eq!(s.matches('?').count(), 4 * 5);
        assert_eq!(s.matches("UNION ALL").count(), 3);
        assert_eq!(LANE_DUE.matches('?').count(), 12);
        assert_eq!(RATE_SPENT.matches('?').count(), 2);
        assert_eq!(rate_lock(3).0.matches('?').count(), 4);
        assert_eq!(RATE_OPEN.matches('?').count(), 4);
        assert_eq!(tracking_job(JobBy::Uuid).matches('?').count(), 2);
        assert_eq!(tracking_job(JobBy::Row).matches('?').count(), 2);
        assert!(!tracking_job(JobBy::Uuid).contains('{'));
        assert_eq!(tracking_cancel_lock(JobBy::Row).matches('?').count(), 2);
        assert_eq!(tracking_cancel_keep(3).0.matches('?').count(), 5);
        assert_eq!(tracking_cancel_requests(2).0.matches('?').count(), 4);
        assert_eq!(TRACKING_RUN.matches('?').count(), 8);
        assert_eq!(TRACKING_KEEP.matches('?').count(), 5);
        assert_eq!(TRACKING_RECORD.matches('?').count(), 2);
        assert_eq!(workflow_insert(2).matches('?').count(), 22);
        assert_eq!(workflow_members(3).matches('?').count(), 6);
        assert_eq!(WORKFLOW_BATCH_INSERT.matches('?').count(), 9);
        assert_eq!(WORKFLOW_BATCH_WRITE.matches('?').count(), 12);
        assert_eq!(WORKFLOW_NOT_STARTED.matches('?').count(), 3);
        assert_eq!(STATS.matches('?').count(), 6);
        let (s, rows) = history_record(3);
        assert_eq!((s.matches('?').count(), rows), (4 * 5 + 1, 4));
        assert!(!s.contains('{'), "{s}");
        assert_eq!(history_record(1000).1, HISTORY_ROWS);
        assert_eq!(HISTORY_RANGE.matches('?').count(), 4);
        assert_eq!(HISTORY_PRUNE.matches('?').count(), 2);
        for listed in [
            Listed::Ready,
            Listed::Delayed,
            Listed::Running,
            Listed::Waiting,
        ] {
            let (s, _) = listing(listed);
            assert_eq!(s.matches('?').count(), 3, "{s}");
            assert_eq!(listing_skipped(listed).matches('?').count(), 2);
        }
        let (s, padded) = listing(Listed::ReadyLanes(3));
        assert_eq!((s.matches('?').count(), padded), (1 + 4 + 2, 4));
        assert!(s.contains("group_key IN (?, ?, ?, ?)"), "{s}");
        assert!(
            s.ends_with("ORDER BY j.group_key, j.available_at, j.id"),
            "{s}"
        );
        let (s, _) = listing(Listed::Running);
        assert!(
            s.ends_with(
                "ORDER BY lease_until, reserved_at, id\n      LIMIT ? OFFSET ?) AS page\n\
                 JOIN queue_jobs AS j ON j.id = page.id\n\
                 ORDER BY j.lease_until, j.reserved_at, j.id"
            ),
            "{s}"
        );
        assert!(!s.contains('{'), "{s}");
        assert_eq!(
            listing_skipped(Listed::ReadyLanes(3)).matches('?').count(),
            6
        );
        assert_eq!(LISTING_LANES.matches('?').count(), 3);
        assert_eq!(job_envelope(JobBy::Uuid).matches('?').count(), 2);
        assert!(!job_envelope(JobBy::Row).contains('{'));
    }

    #[test]
    fn every_sql_file_has_a_header_and_fragments_drop_it() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/sql");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.starts_with("-- "), "{} has no header", path.display());
            assert!(!fragment(&text).contains("--"), "{}", path.display());
        }
        assert!(push_bulk(2, true).starts_with("-- Stores many jobs"));
        assert!(!push_bulk(2, true).contains("One job's tuple"));
        assert!(next_due(2)
            .starts_with("SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), MIN(t)) FROM (SELECT (SELECT MIN(available_at)"));
        assert!(failed_list(false).starts_with("SELECT id, uuid"));
    }
}
