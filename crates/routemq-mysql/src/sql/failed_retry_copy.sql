-- Failed retry, step 1 of 2 (same transaction as the delete): put the job back,
-- claimable now with attempts reset, under the same job id, in its group (the
-- caller puts a grouped job's lane in the rotation, group_join.sql). Params: the failed
-- row's id. A crash before COMMIT leaves it only in the failed store.
-- Guarantee: with the delete in the same transaction, the job is back on its queue
-- or still failed, never both or neither.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at, group_key)
SELECT COALESCE(uuid, CONCAT('failed-', id)), queue, payload, 0, max_tries, NOW(6), NOW(6), group_key
FROM queue_failed_jobs
WHERE id = ?
