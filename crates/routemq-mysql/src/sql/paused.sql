-- Every paused queue, sorted by name. Params: none.
-- Guarantee: reads only (the primary key, in order); locks nothing.
SELECT queue FROM queue_paused ORDER BY queue
