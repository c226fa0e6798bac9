-- Job status, step 2 (no stored job): the kept record of a finished job.
-- Params: queue, uuid (job id, `db-<id>` for rows written by hand). Returns
-- state, attempts, max_tries, finished_at as Unix seconds text, 1 when a
-- result is kept. A primary-key lookup; the result itself is not read.
-- Guarantee: reads only; a record past expires_at is never returned (it may
-- still be stored until pruned).
SELECT state, attempts, max_tries,
       CAST(UNIX_TIMESTAMP(finished_at) AS CHAR) AS finished_unix,
       result IS NOT NULL AS has_result
FROM queue_job_records
WHERE queue = ? AND uuid = ? AND expires_at > NOW(6)
