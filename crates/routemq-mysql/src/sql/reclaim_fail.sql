-- Reclaim, step 2b: copy locked expired reservations that used every attempt
-- into the failed store (then delete_ids.sql removes them, same transaction).
-- Params: connection name, then the ids (IN list built by sql::reclaim_fail).
-- A job id already in the failed store is overwritten by this failure, with the
-- same portable upsert as fail_copy.sql (derived table `new`, no VALUES()).
-- Guarantee: runs in the reclaim transaction on rows it locked; with delete_ids.sql
-- the job is failed or still reserved, never both or neither.
INSERT INTO queue_failed_jobs (uuid, connection, queue, payload, exception, failed_at, max_tries, group_key)
SELECT * FROM (
    SELECT COALESCE(uuid, CONCAT('db-', id)) AS n_uuid, ? AS n_connection, queue AS n_queue,
           payload AS n_payload,
           CONCAT('lease expired on attempt ', attempts, ' of ', max_tries,
                  ': the worker stopped or hung before finishing the job') AS n_exception,
           NOW(6) AS n_failed_at, max_tries AS n_max_tries, group_key AS n_group_key
    FROM queue_jobs
    WHERE id IN {ids}
) AS new
ON DUPLICATE KEY UPDATE connection = new.n_connection, queue = new.n_queue,
    payload = new.n_payload, exception = new.n_exception, failed_at = new.n_failed_at,
    max_tries = new.n_max_tries, group_key = new.n_group_key
