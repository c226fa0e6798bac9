-- Every queue with a rate limit, a group concurrency cap or a hold (of the
-- queue or of one of its groups), which claims must check, and whether it has a
-- cap (its acks wake local waiters). Params: none.
-- Guarantee: reads only (the primary key, in order); locks nothing. The driver
-- keeps the list 250 ms, so a claim of an unlimited queue pays nothing.
SELECT queue, group_concurrency IS NOT NULL FROM queue_rate_limits ORDER BY queue
