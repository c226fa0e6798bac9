-- Deletes the lanes a claim found without jobs from their queue's rotation, in
-- one statement; sql::group_leave_lanes appends the IN list. Params: queue, the
-- groups.
-- Guarantee: in the claim's transaction, on rows it locked (group_lanes.sql).
DELETE FROM queue_groups WHERE queue = ? AND group_key IN
