-- Queues holding jobs or failed jobs, sorted. Both GROUP BYs read only the
-- leading column of an index (a loose index scan where the server offers it).
-- Params: none. Guarantee: reads only; every queue with a job or a failed job is
-- listed once.
SELECT queue FROM queue_jobs GROUP BY queue
UNION
SELECT queue FROM queue_failed_jobs GROUP BY queue
ORDER BY queue
