-- Claim, step 0d: drops a limited queue's starts that left the window. Params:
-- queue, window in microseconds, chunk size.
-- Guarantee: in the claim's transaction, under the limiter row's lock; a range of
-- queue_rate_starts_window_index; rows inside the window are never touched.
DELETE FROM queue_rate_starts
WHERE queue = ? AND started_at <= NOW(6) - INTERVAL ? MICROSECOND
LIMIT ?
