-- Failed jobs of one connection per queue (stats of a Redis connection whose
-- failed store is the database). Params: connection.
-- Guarantee: reads only; one pass over queue_failed_jobs (the failed store is
-- an operator's backlog, not a hot table).
SELECT queue, COUNT(*) FROM queue_failed_jobs WHERE connection = ? GROUP BY queue
