-- Deletes failures older than an age, in chunks. Params: age in microseconds,
-- chunk size. Served by queue_failed_jobs_failed_at_index.
DELETE FROM queue_failed_jobs WHERE failed_at < NOW(6) - INTERVAL ? MICROSECOND LIMIT ?
