-- Removes one queue's rate limit and hold. Params: queue.
-- Guarantee: one primary-key delete; 1 row when the queue had a limit or a hold,
-- else 0 (nothing changes). The window's rows go with rate_starts_clear.sql.
DELETE FROM queue_rate_limits WHERE queue = ?
