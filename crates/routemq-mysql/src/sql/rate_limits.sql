-- Every queue's rate limit, sorted by queue. Params: none.
-- Guarantee: reads only (the primary key, in order); locks nothing; rows that
-- only hold a queue are left out.
SELECT queue, jobs, per_ms FROM queue_rate_limits WHERE jobs IS NOT NULL ORDER BY queue
