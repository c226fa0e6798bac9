-- Listing, ready jobs, part 2: the next groups of a queue in key order, from
-- its rotation (migration 0007: every group with a job has a row there).
-- Params: queue, the last group listed ('' at first, which also leaves out the
-- ungrouped lane's row), how many. A primary-key range of queue_groups.
-- Guarantee: reads only; a plain read never waits for a claim's row locks.
SELECT group_key FROM queue_groups WHERE queue = ? AND group_key > ? ORDER BY group_key LIMIT ?
