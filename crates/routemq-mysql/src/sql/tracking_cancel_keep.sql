-- Records jobs as cancelled, copied from rows locked earlier in the same
-- transaction (then delete_ids.sql removes them). Params: how long to keep
-- the records in microseconds, then the ids (IN list built by
-- sql::tracking_cancel_keep). Older records of the same jobs are replaced.
-- Portable upsert as fail_copy.sql.
-- Guarantee: runs in the transaction that locked and deletes the rows: a job is
-- either still stored or gone with its cancelled record, never both or neither.
INSERT INTO queue_job_records (queue, uuid, state, attempts, max_tries, finished_at, expires_at, result)
SELECT * FROM (
    SELECT queue AS n_queue, COALESCE(NULLIF(uuid, ''), CONCAT('db-', id)) AS n_uuid,
           'cancelled' AS n_state, attempts AS n_attempts, max_tries AS n_max_tries,
           NOW(6) AS n_finished_at, NOW(6) + INTERVAL ? MICROSECOND AS n_expires_at,
           NULL AS n_result
    FROM queue_jobs
    WHERE id IN {ids}
) AS new
ON DUPLICATE KEY UPDATE state = new.n_state, attempts = new.n_attempts,
    max_tries = new.n_max_tries, finished_at = new.n_finished_at,
    expires_at = new.n_expires_at, result = new.n_result
