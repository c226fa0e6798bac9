-- Keeps a finished job's record, copied from its row while the given owner
-- holds it (then ack.sql deletes the row in the same transaction). Params:
-- state ('succeeded' or 'cancelled'), how long to keep it in microseconds,
-- result (NULL = none), id, owner token. 0 rows = lease lost: the transaction
-- is rolled back. A record of the same job already kept (an older one) is
-- replaced. Portable upsert as fail_copy.sql (derived table `new`, no VALUES()
-- nor row alias).
-- Guarantee: with the delete in the same transaction, the job is either still
-- stored or gone with its record kept, never both or neither.
INSERT INTO queue_job_records (queue, uuid, state, attempts, max_tries, finished_at, expires_at, result)
SELECT * FROM (
    SELECT queue AS n_queue, COALESCE(NULLIF(uuid, ''), CONCAT('db-', id)) AS n_uuid,
           ? AS n_state, attempts AS n_attempts, max_tries AS n_max_tries,
           NOW(6) AS n_finished_at, NOW(6) + INTERVAL ? MICROSECOND AS n_expires_at,
           CAST(? AS BINARY) AS n_result
    FROM queue_jobs
    WHERE id = ? AND owner = ?
) AS new
ON DUPLICATE KEY UPDATE state = new.n_state, attempts = new.n_attempts,
    max_tries = new.n_max_tries, finished_at = new.n_finished_at,
    expires_at = new.n_expires_at, result = new.n_result
