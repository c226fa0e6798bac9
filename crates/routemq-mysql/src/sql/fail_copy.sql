-- Fail, step 1 of 2 (same transaction as ack.sql's delete): copy the owned job
-- into the failed store. Params: connection name, exception, id, owner token.
-- 0 rows = lease lost: the transaction is rolled back. A job id already in the
-- failed store is overwritten by the newer failure (uuid is unique there). The
-- job's group is kept, so a retry puts it back in it.
-- Portable upsert: the new values come from the derived table `new` and the
-- update names them as new.n_*. Neither VALUES() (deprecated on MySQL 8.0.20+,
-- a warning on every call) nor the `AS new` row alias (not in MariaDB) is used.
-- Guarantee: with the delete in the same transaction, the job is in the failed
-- store or still reserved, never both or neither.
INSERT INTO queue_failed_jobs (uuid, connection, queue, payload, exception, failed_at, max_tries, group_key)
SELECT * FROM (
    SELECT COALESCE(uuid, CONCAT('db-', id)) AS n_uuid, ? AS n_connection, queue AS n_queue,
           payload AS n_payload, ? AS n_exception, NOW(6) AS n_failed_at, max_tries AS n_max_tries, group_key AS n_group_key
    FROM queue_jobs
    WHERE id = ? AND owner = ?
) AS new
ON DUPLICATE KEY UPDATE connection = new.n_connection, queue = new.n_queue,
    payload = new.n_payload, exception = new.n_exception, failed_at = new.n_failed_at,
    max_tries = new.n_max_tries, group_key = new.n_group_key
