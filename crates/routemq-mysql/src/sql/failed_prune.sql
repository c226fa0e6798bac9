-- Deletes failures from before a cutoff, in chunks. Params: cutoff as whole Unix
-- seconds and microseconds past them, chunk size. Served by
-- queue_failed_jobs_failed_at_index.
DELETE FROM queue_failed_jobs
WHERE failed_at < FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND
LIMIT ?
