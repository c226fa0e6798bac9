-- Reclaim, step 2b: copy locked expired reservations that used every attempt
-- into the failed store (then delete_ids.sql removes them, same transaction).
-- Params: connection name, then the ids (IN list built by sql::reclaim_fail).
-- Guarantee: runs in the reclaim transaction on rows it locked; with delete_ids.sql
-- the job is failed or still reserved, never both or neither.
INSERT INTO queue_failed_jobs (uuid, connection, queue, payload, exception, failed_at, max_tries)
SELECT COALESCE(uuid, CONCAT('db-', id)), ?, queue, payload,
       CONCAT('lease expired on attempt ', attempts, ' of ', max_tries,
              ': the worker stopped or hung before finishing the job'),
       NOW(6), max_tries
FROM queue_jobs
WHERE id IN {ids}
ON DUPLICATE KEY UPDATE queue_failed_jobs.connection = VALUES(connection),
    queue_failed_jobs.queue = VALUES(queue), queue_failed_jobs.payload = VALUES(payload),
    queue_failed_jobs.exception = VALUES(exception),
    queue_failed_jobs.failed_at = VALUES(failed_at),
    queue_failed_jobs.max_tries = VALUES(max_tries)
