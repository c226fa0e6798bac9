-- Unique push, step 3 (a lock row that is expired or whose job is gone, locked in
-- step 1): hands it to a job, or renews a debounced holder's lock. Params: job
-- row id, lock time to live in microseconds, queue, key.
-- Guarantee: runs in the transaction that locked the row, so no other dispatch
-- of the key sees it before commit.
UPDATE queue_unique_locks
SET job_id = ?, expires_at = NOW(6) + INTERVAL ? MICROSECOND
WHERE queue = ? AND unique_key = ?
