-- Grouped claim, step 3: moves the lanes the claim looked at to the rotation's
-- end, keeping their order, in one statement. sql::group_turns fills in one
-- WHEN/THEN pair per lane and appends the IN list. Params: (group, position of
-- the lane in this claim) per lane, queue, the groups again.
-- Guarantee: in the claim's transaction, on rows it locked
-- (group_lanes_free.sql or group_lanes.sql).
UPDATE queue_groups
SET turn = CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS UNSIGNED) * 1000 + CASE group_key {whens} END
WHERE queue = ? AND group_key IN
