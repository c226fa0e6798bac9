-- One queue's earliest due time among its waiting (unreserved) jobs: one index
-- lookup on queue_jobs_claim_index. Param: the queue. sql::next_due joins one
-- per queue with UNION ALL (this header is left out there).
(SELECT MIN(available_at) FROM queue_jobs WHERE queue = ? AND reserved_at IS NULL)
