-- Claim, step 0 (same transaction as claim_select/claim_update): lock the limiter
-- rows of the limited or held queues the claim was asked for, in queue order (so
-- two claims never wait on each other in a cycle). Params: the queues (the IN list
-- is built by sql::rate_lock). Returns queue, jobs, per_ms, whether the hold is
-- still on, whether the row is only a hold that has passed.
-- Guarantee: claimers of a limited queue take turns on its row until commit, so
-- each counts the window with the starts of every claim before it.
SELECT queue, jobs, per_ms, COALESCE(held_until > NOW(6), 0) AS held,
       (jobs IS NULL AND COALESCE(held_until <= NOW(6), 1)) AS spent
FROM queue_rate_limits
WHERE queue IN {queues}
ORDER BY queue
FOR UPDATE
