-- One queue's rate limit, for stats. Params: queue.
-- Guarantee: reads only (one primary-key lookup); locks nothing; no row when the
-- queue has no limit.
SELECT jobs, per_ms, per_group FROM queue_rate_limits WHERE queue = ? AND jobs IS NOT NULL
