-- Every queue's rate limit, sorted by queue. Params: none.
-- Guarantee: reads only (the primary key, in order); locks nothing; rows without
-- a limit (only a hold or a cap) are left out.
SELECT queue, jobs, per_ms, per_group FROM queue_rate_limits WHERE jobs IS NOT NULL ORDER BY queue
