-- Every queue's group concurrency cap, sorted by queue. Params: none.
-- Guarantee: reads only (the primary key, in order); locks nothing.
SELECT queue, group_concurrency FROM queue_rate_limits
WHERE group_concurrency IS NOT NULL ORDER BY queue
