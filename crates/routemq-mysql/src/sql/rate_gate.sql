-- The idle wait, for a limited or held queue: microseconds until its hold ends
-- (NULL without one) and its limit. Params: queue.
-- Guarantee: reads only (one primary-key lookup); locks nothing.
SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), held_until), jobs, per_ms
FROM queue_rate_limits WHERE queue = ?
