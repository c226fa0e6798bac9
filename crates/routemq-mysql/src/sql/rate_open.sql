-- The idle wait, for a limited queue: microseconds until its window has room
-- again, i.e. until the J-th newest start leaves it; no row while it has room.
-- Params: window (us), queue, window (us), J - 1.
-- Guarantee: reads only; a backward range of queue_rate_starts_window_index.
SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), started_at + INTERVAL ? MICROSECOND)
FROM queue_rate_starts
WHERE queue = ? AND started_at > NOW(6) - INTERVAL ? MICROSECOND
ORDER BY started_at DESC
LIMIT 1 OFFSET ?
