-- Grouped claim, lane check (spliced into each lane's row of sql::lane_states):
-- the group's reserved jobs. Params: queue, group. A range of
-- queue_jobs_group_index (reserved_at NOT NULL).
-- Guarantee: reads only; the group's rotation row is locked by this claim, so
-- no other claim reserves a job of the group until it ends: the count is exact.
(SELECT COUNT(*) FROM queue_jobs WHERE queue = ? AND group_key = ? AND reserved_at IS NOT NULL)
