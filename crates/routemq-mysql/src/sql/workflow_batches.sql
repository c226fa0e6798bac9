-- Every batch record still kept, newest first (ids are UUIDv7: time-ordered).
-- Params: none. Columns as workflow_batch_get.sql. A primary-key scan: records
-- live at most BATCH_KEPT_FOR after they finish.
-- Guarantee: reads only; locks nothing; expired records are left out.
SELECT id, queue, name, total, pending, succeeded, failed, cancelled, allow_failures,
       cancelled_batch, CAST(UNIX_TIMESTAMP(created_at) AS CHAR) AS created_unix,
       CAST(UNIX_TIMESTAMP(finished_at) AS CHAR) AS finished_unix
FROM queue_batches
WHERE expires_at IS NULL OR expires_at > NOW(6)
ORDER BY id DESC
