-- Removes one queue's rate limit, cap and hold. Params: queue.
-- Guarantee: one primary-key delete; 1 row when the queue had a limit, a cap or
-- a hold, else 0 (nothing changes). The window's rows go with
-- rate_starts_clear.sql, the group holds with group_holds_clear.sql.
DELETE FROM queue_rate_limits WHERE queue = ?
