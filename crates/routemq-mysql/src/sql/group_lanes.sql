-- Grouped claim, step 1: lock the lanes of one queue's rotation served longest
-- ago. Params: queue, N. group_key '' is the ungrouped lane.
-- Guarantee: in the claim's transaction; rows stay locked until it ends, so
-- concurrent claims of one grouped queue take turns one after the other and
-- every lane is served in turn across all workers.
SELECT group_key
FROM queue_groups
WHERE queue = ?
ORDER BY turn, group_key
LIMIT ?
FOR UPDATE
