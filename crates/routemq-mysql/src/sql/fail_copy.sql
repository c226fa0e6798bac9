-- Fail, step 1 of 2 (same transaction as ack.sql's delete): copy the owned job
-- into the failed store. Params: connection name, exception, id, owner token.
-- 0 rows = lease lost: the transaction is rolled back. A job id already in the
-- failed store is overwritten by the newer failure (uuid is unique there). The
-- updated columns are qualified: both tables have them, and MySQL calls them
-- ambiguous otherwise.
-- Guarantee: with the delete in the same transaction, the job is in the failed
-- store or still reserved, never both or neither.
INSERT INTO queue_failed_jobs (uuid, connection, queue, payload, exception, failed_at, max_tries)
SELECT COALESCE(uuid, CONCAT('db-', id)), ?, queue, payload, ?, NOW(6), max_tries
FROM queue_jobs
WHERE id = ? AND owner = ?
ON DUPLICATE KEY UPDATE queue_failed_jobs.connection = VALUES(connection),
    queue_failed_jobs.queue = VALUES(queue), queue_failed_jobs.payload = VALUES(payload),
    queue_failed_jobs.exception = VALUES(exception),
    queue_failed_jobs.failed_at = VALUES(failed_at),
    queue_failed_jobs.max_tries = VALUES(max_tries)
