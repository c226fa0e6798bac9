-- Claim, step 0b, for a queue with a per-group limit whose row rate_lock.sql
-- holds: the server's now and the starts of one lane within the window ending
-- at it. Params: queue, lane ('' = ungrouped), window in microseconds. A range
-- of queue_rate_starts_lane_index.
-- Guarantee: a fresh read after the row lock was taken, as rate_window.sql.
SELECT NOW(6), COUNT(*) FROM queue_rate_starts
WHERE queue = ? AND group_key = ? AND started_at > NOW(6) - INTERVAL ? MICROSECOND
