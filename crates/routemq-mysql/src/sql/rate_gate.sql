-- The idle wait, for a limited, capped or held queue: microseconds until its
-- hold ends (NULL without one), its limit, per_group, its cap and whether a
-- group of it is held. Params: queue.
-- Guarantee: reads only (one primary-key lookup, one primary-key range); locks
-- nothing.
SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), held_until), jobs, per_ms, per_group, group_concurrency,
       EXISTS (SELECT 1 FROM queue_group_holds h
               WHERE h.queue = queue_rate_limits.queue AND h.held_until > NOW(6))
FROM queue_rate_limits WHERE queue = ?
