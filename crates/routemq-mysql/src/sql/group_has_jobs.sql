-- Whether a group has any job left (ready, delayed or reserved). Params: queue,
-- group. Served by queue_jobs_group_index.
-- Guarantee: a read in the claim's transaction; a push of the group that has
-- not committed yet finds the lane's row locked and re-inserts it after.
SELECT 1 FROM queue_jobs WHERE queue = ? AND group_key = ? LIMIT 1
