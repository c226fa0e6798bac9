-- Claim, step 0b, for a limited queue whose row rate_lock.sql holds: the
-- server's now and the starts within the window ending at it. Params: queue,
-- window in microseconds. A range of queue_rate_starts_window_index.
-- Guarantee: a fresh read after the row lock was taken (READ COMMITTED), so it
-- sees every start committed by the claims that held the lock before.
SELECT NOW(6), COUNT(*) FROM queue_rate_starts
WHERE queue = ? AND started_at > NOW(6) - INTERVAL ? MICROSECOND
