-- One batch's record while kept. Params: batch id. Returns id, queue, name,
-- total, pending, succeeded, failed, cancelled, allow_failures,
-- cancelled_batch, created_at and finished_at as Unix seconds text.
-- Guarantee: reads only; locks nothing; an expired record (past expires_at,
-- not yet pruned) is not returned.
SELECT id, queue, name, total, pending, succeeded, failed, cancelled, allow_failures,
       cancelled_batch, CAST(UNIX_TIMESTAMP(created_at) AS CHAR) AS created_unix,
       CAST(UNIX_TIMESTAMP(finished_at) AS CHAR) AS finished_unix
FROM queue_batches
WHERE id = ? AND (expires_at IS NULL OR expires_at > NOW(6))
