-- Stores one job claimable now (the common case, without due-time arithmetic).
-- Params: uuid (job id), queue, payload, max_tries.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at)
VALUES (?, ?, ?, 0, ?, NOW(6), NOW(6))
