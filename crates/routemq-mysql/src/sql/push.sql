-- Stores one job. Params: uuid (job id), queue, payload, max_tries, delay in
-- microseconds (0 = claimable now). Times are the server's clock, so producers
-- and workers on other hosts agree on when a job is due.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at)
VALUES (?, ?, ?, 0, ?, NOW(6) + INTERVAL ? MICROSECOND, NOW(6))
