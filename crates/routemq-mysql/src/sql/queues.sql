-- Queues holding jobs, failed jobs or kept records of finished jobs
-- (queue_job_records, migration 0012: so `routemq job show ID` finds a job
-- cancelled or kept after its queue emptied), sorted. Each GROUP BY reads only
-- the leading column of an index (a loose index scan where the server offers it).
-- Params: none. Guarantee: reads only; every queue with a job, a failed job or a
-- kept record is listed once.
SELECT queue FROM queue_jobs GROUP BY queue
UNION
SELECT queue FROM queue_failed_jobs GROUP BY queue
UNION
SELECT queue FROM queue_job_records GROUP BY queue
ORDER BY queue
