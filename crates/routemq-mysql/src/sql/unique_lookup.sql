-- Unique push, step 1 (one transaction with the steps after it): lock a key's
-- lock row and the row of the job holding it. Params: queue, key. Returns the
-- holder's row id, 1 when the lock has expired, 1 when the holder's row exists,
-- its uuid, and 1 when it was never claimed (so debounce may change it).
-- Guarantee: FOR UPDATE on the lock row (primary key) serializes dispatches of
-- one key that has a row; with no row, concurrent dispatches race on
-- unique_lock_insert.sql, where the primary key lets exactly one win.
SELECT l.job_id, l.expires_at <= NOW(6), j.id IS NOT NULL, j.uuid,
       COALESCE(j.reserved_at IS NULL AND j.attempts = 0, 0)
FROM queue_unique_locks AS l
LEFT JOIN queue_jobs AS j ON j.id = l.job_id
WHERE l.queue = ? AND l.unique_key = ?
FOR UPDATE
