-- Stores a failed job handed over by another store (a Redis queue's failed
-- list). Params: uuid (job id), connection, queue, payload, exception, failed
-- at as whole Unix seconds and the microseconds past them, max_tries, group
-- (NULL = ungrouped).
-- Guarantee: idempotent: a row with the same uuid already there is kept and
-- nothing is written (INSERT IGNORE on queue_failed_jobs_uuid_unique), so a
-- mover that died after this insert and runs it again adds nothing.
INSERT IGNORE INTO queue_failed_jobs (uuid, connection, queue, payload, exception, failed_at, max_tries, group_key)
VALUES (?, ?, ?, ?, ?, FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND, ?, ?)
