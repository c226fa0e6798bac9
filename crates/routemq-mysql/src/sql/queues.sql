-- Queues holding jobs or failed jobs, sorted. Both GROUP BYs read only the
-- leading column of an index (a loose index scan where the server offers it).
SELECT queue FROM queue_jobs GROUP BY queue
UNION
SELECT queue FROM queue_failed_jobs GROUP BY queue
ORDER BY queue
