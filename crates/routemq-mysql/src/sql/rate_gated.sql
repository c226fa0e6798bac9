-- Every queue with a rate limit or a hold, which claims must check. Params: none.
-- Guarantee: reads only (the primary key, in order); locks nothing. The driver
-- keeps the list 250 ms, so a claim of an unlimited queue pays nothing.
SELECT queue FROM queue_rate_limits ORDER BY queue
