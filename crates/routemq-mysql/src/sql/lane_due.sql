-- The idle wait, for a queue with per-group controls: microseconds until a
-- claim may take a job of one of its lanes (the rotation's first N groups, in
-- turn order as the claim takes them, and the ungrouped lane): the lane's
-- earliest unreserved job, its group hold's end, its window's open time; groups
-- at their cap are left out (they become due when a job ends). ≤ 0: a lane may
-- deliver now; NULL: none is due.
-- Params: window (us), window (us), J - 1, queue, N, cap, cap (window 0 = no
-- per-group window; cap NULL = no cap), then for the ungrouped lane: queue,
-- window (us), queue, window (us), J - 1.
-- Guarantee: reads only; per lane index lookups (queue_jobs_group_index,
-- queue_group_holds' key, queue_rate_starts_lane_index); at most N + 1 lanes.
SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), MIN(due)) FROM (
  SELECT GREATEST(
      (SELECT MIN(j.available_at) FROM queue_jobs j
       WHERE j.queue = l.queue AND j.group_key = l.group_key AND j.reserved_at IS NULL),
      COALESCE((SELECT h.held_until FROM queue_group_holds h
                WHERE h.queue = l.queue AND h.group_key = l.group_key), NOW(6)),
      COALESCE((SELECT s.started_at + INTERVAL ? MICROSECOND FROM queue_rate_starts s
                WHERE s.queue = l.queue AND s.group_key = l.group_key
                  AND s.started_at > NOW(6) - INTERVAL ? MICROSECOND
                ORDER BY s.started_at DESC LIMIT 1 OFFSET ?), NOW(6))) AS due
  FROM (SELECT queue, group_key FROM queue_groups
        WHERE queue = ? AND group_key <> '' ORDER BY turn LIMIT ?) AS l
  WHERE ? IS NULL OR (SELECT COUNT(*) FROM queue_jobs r
        WHERE r.queue = l.queue AND r.group_key = l.group_key AND r.reserved_at IS NOT NULL) < ?
  UNION ALL
  SELECT GREATEST(
      (SELECT MIN(available_at) FROM queue_jobs
       WHERE queue = ? AND group_key IS NULL AND reserved_at IS NULL),
      COALESCE((SELECT started_at + INTERVAL ? MICROSECOND FROM queue_rate_starts
                WHERE queue = ? AND group_key = '' AND started_at > NOW(6) - INTERVAL ? MICROSECOND
                ORDER BY started_at DESC LIMIT 1 OFFSET ?), NOW(6)))
) AS lanes
