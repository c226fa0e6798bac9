-- Claim, step 0 (same transaction as claim_select/claim_update): lock the limiter
-- rows of the limited or held queues the claim was asked for, in queue order (so
-- two claims never wait on each other in a cycle). Params: the queues (the IN list
-- is built by sql::rate_lock). Returns queue, jobs, per_ms, per_group,
-- group_concurrency, whether the hold is still on, whether a group of the queue
-- is held, whether the row is spent (no limit, no cap, no hold still on).
-- Guarantee: claimers of a limited queue take turns on its row until commit, so
-- each counts the window with the starts of every claim before it.
SELECT queue, jobs, per_ms, per_group, group_concurrency,
       COALESCE(held_until > NOW(6), 0) AS held,
       EXISTS (SELECT 1 FROM queue_group_holds h
               WHERE h.queue = queue_rate_limits.queue AND h.held_until > NOW(6)) AS group_held,
       (jobs IS NULL AND group_concurrency IS NULL AND COALESCE(held_until <= NOW(6), 1)) AS spent
FROM queue_rate_limits
WHERE queue IN {queues}
ORDER BY queue
FOR UPDATE
