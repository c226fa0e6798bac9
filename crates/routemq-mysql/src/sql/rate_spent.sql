-- Removes a queue's row once it only held holds (of the queue or its groups)
-- that have passed, so claims stop checking it. Params: queue, queue.
-- Guarantee: deletes nothing while a limit, a cap or an unfinished hold (of the
-- queue or of one of its groups) is there; group_holds_spent.sql then drops the
-- passed group holds.
DELETE FROM queue_rate_limits
WHERE queue = ? AND jobs IS NULL AND group_concurrency IS NULL
  AND (held_until IS NULL OR held_until <= NOW(6))
  AND NOT EXISTS (SELECT 1 FROM queue_group_holds h WHERE h.queue = ? AND h.held_until > NOW(6))
