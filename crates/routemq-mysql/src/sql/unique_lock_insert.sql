-- Unique push, step 3 (no lock row yet): locks the key for the job stored in
-- step 2. Params: queue, key, job row id, lock time to live in microseconds.
-- Guarantee: the primary key (queue, unique_key) admits one row: of concurrent
-- dispatches of one key, every one but the first fails with a duplicate key
-- (1062) and rolls back its job, then finds the winner's lock.
INSERT INTO queue_unique_locks (queue, unique_key, job_id, expires_at)
VALUES (?, ?, ?, NOW(6) + INTERVAL ? MICROSECOND)
