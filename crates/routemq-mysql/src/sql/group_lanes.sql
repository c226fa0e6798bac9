-- Grouped claim, step 1 when group_lanes_free.sql found no lane but the
-- ungrouped one: lock the lanes of one queue's rotation served longest ago,
-- waiting for the claims that hold them. Params: queue, N. group_key '' is the
-- ungrouped lane.
-- Guarantee: in the claim's transaction; rows stay locked until it ends. Sees
-- the whole rotation, so an empty answer means the queue has none and a lone
-- '' row means only the ungrouped lane is left.
SELECT group_key
FROM queue_groups
WHERE queue = ?
ORDER BY turn, group_key
LIMIT ?
FOR UPDATE
