-- Grouped claim, step 1: lock the lanes of one queue's rotation served longest
-- ago that no other claim holds. Params: queue, N. group_key '' is the
-- ungrouped lane.
-- Guarantee: in the claim's transaction; rows stay locked until it ends, so a
-- lane is served by one claim at a time (its cap, hold and window are read and
-- used under its lock), while concurrent claims of one grouped queue serve
-- other lanes instead of waiting. Rows this transaction locked itself are not
-- skipped. An answer without rows (or with only the ungrouped lane) does not
-- tell whether the rotation is empty: the caller then asks group_lanes.sql,
-- which waits for the other claims.
SELECT group_key
FROM queue_groups
WHERE queue = ?
ORDER BY turn, group_key
LIMIT ?
FOR UPDATE SKIP LOCKED
