-- Deletes lanes from their queue's rotation, in one statement: the groups a
-- claim found without jobs, or the ungrouped lane ('') once it is alone.
-- sql::group_leave_lanes appends the IN list. Params: queue, the groups.
-- Guarantee: in the claim's transaction, on rows it locked
-- (group_lanes_free.sql or group_lanes.sql).
DELETE FROM queue_groups WHERE queue = ? AND group_key IN
