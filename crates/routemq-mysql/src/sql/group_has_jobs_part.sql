-- Whether a group has any job left (ready, delayed or reserved), one group's
-- part: spliced once per group into one UNION ALL by sql::group_has_jobs, so
-- the lanes a claim found empty are checked in one statement. Params: queue,
-- group. Served by queue_jobs_group_index (one index dive per part).
-- Guarantee: a read in the claim's transaction; a push of the group that has
-- not committed yet finds the lane's row locked and re-inserts it after.
(SELECT group_key FROM queue_jobs WHERE queue = ? AND group_key = ? LIMIT 1)
