-- Deletes failures from before a cutoff, in chunks. Params: cutoff as whole Unix
-- seconds and microseconds past them, chunk size. Served by
-- queue_failed_jobs_failed_at_index.
-- Guarantee: each chunk is its own short transaction; a failed job is either
-- deleted or untouched.
DELETE FROM queue_failed_jobs
WHERE failed_at < FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND
LIMIT ?
