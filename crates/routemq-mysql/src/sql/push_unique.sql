-- Unique push, step 2 (free key): stores the job marked with its scope. Params:
-- uuid (job id), queue, payload, max_tries, due time as whole Unix seconds and the
-- microseconds past them (0, 0 = now), scope (1 = lock released at claim, 2 =
-- released when the job is gone), group (NULL = none).
-- Guarantee: in the unique push's transaction: the job and its lock row are
-- stored together or not at all.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at, unique_scope, group_key)
VALUES (?, ?, ?, 0, ?, GREATEST(NOW(6), FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND), NOW(6), ?, ?)
