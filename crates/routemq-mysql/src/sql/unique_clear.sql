-- Releases a queue's uniqueness locks whose job is gone (after clear.sql).
-- Params: queue.
-- Guarantee: one statement; a lock whose job still exists (one dispatched while
-- the clear ran) is kept.
DELETE l FROM queue_unique_locks AS l
LEFT JOIN queue_jobs AS j ON j.id = l.job_id
WHERE l.queue = ? AND j.id IS NULL
