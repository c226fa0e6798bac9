-- Removes a queue's row once it only held a hold that has passed, so claims stop
-- checking it. Params: queue.
-- Guarantee: deletes nothing while a limit or an unfinished hold is there.
DELETE FROM queue_rate_limits
WHERE queue = ? AND jobs IS NULL AND (held_until IS NULL OR held_until <= NOW(6))
