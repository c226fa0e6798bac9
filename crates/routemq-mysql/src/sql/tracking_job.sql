-- Job status, step 1: a stored job's state and run record. Params: the job
-- selection's (tracking_by_uuid.sql or tracking_by_row.sql). Returns id,
-- attempts, max_tries, 1 when reserved, 1 when due later (by the server's
-- clock), available_at and lease_until as Unix seconds text, then the run
-- record: worker, percent, message and report time (Unix seconds text) only
-- while written by the current reservation (run_owner = owner), else NULL; the
-- cancel flag; the last error (any attempt's); 1 when waiting for its chain
-- or batch (migration 0013).
-- Guarantee: reads only; locks nothing. The newest row wins if a job id was
-- stored twice.
SELECT id, attempts, max_tries,
       reserved_at IS NOT NULL AS is_reserved,
       available_at > NOW(6) AS is_delayed,
       CAST(UNIX_TIMESTAMP(available_at) AS CHAR) AS due_unix,
       CAST(UNIX_TIMESTAMP(lease_until) AS CHAR) AS lease_unix,
       IF(run_owner = owner, run_worker, NULL) AS worker,
       IF(run_owner = owner, run_percent, NULL) AS percent,
       IF(run_owner = owner, run_message, NULL) AS message,
       IF(run_owner = owner, CAST(UNIX_TIMESTAMP(run_at) AS CHAR), NULL) AS at_unix,
       cancel_requested, run_error, waiting
FROM queue_jobs
WHERE {job}
ORDER BY id DESC
LIMIT 1
