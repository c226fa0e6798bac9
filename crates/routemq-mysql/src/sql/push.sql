-- Stores one job. Params: uuid (job id), queue, payload, max_tries, due time as
-- whole Unix seconds and the microseconds past them (0, 0 = claimable now). A due
-- time is an absolute instant (so jobs given the same instant tie exactly and
-- keep push order); one already past means now, by the server's clock.
-- Guarantee: one autocommit INSERT: the job is stored whole or not at all.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at)
VALUES (?, ?, ?, 0, ?, GREATEST(NOW(6), FROM_UNIXTIME(?) + INTERVAL ? MICROSECOND), NOW(6))
