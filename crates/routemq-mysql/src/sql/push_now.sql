-- Stores one job claimable now (the common case, without due-time arithmetic).
-- Params: uuid (job id), queue, payload, max_tries.
-- Guarantee: one autocommit INSERT: the job is stored whole or not at all.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at)
VALUES (?, ?, ?, 0, ?, NOW(6), NOW(6))
