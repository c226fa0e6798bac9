-- Writes a batch's counters and state decided under its row lock
-- (workflow_batch_lock.sql, same transaction). Params: pending, succeeded,
-- failed, cancelled, cancelled_batch, then uuid, catch uuid, finally uuid,
-- finishing now (0/1), finishing now again, how long the finished record is
-- kept in microseconds, batch id.
-- Guarantee: on the locked row; finished_at and expires_at are set once.
UPDATE queue_batches
SET pending = ?, succeeded = ?, failed = ?, cancelled = ?, cancelled_batch = ?,
    then_uuid = ?, catch_uuid = ?, finally_uuid = ?,
    finished_at = IF(? = 1, NOW(6), finished_at),
    expires_at = IF(? = 1, NOW(6) + INTERVAL ? MICROSECOND, expires_at)
WHERE id = ?
