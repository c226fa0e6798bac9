-- Retry to another store, step 1: lock the failed row of one job of that
-- store. Params: uuid, connection. Returns uuid, connection, queue, payload,
-- exception, failed_at as Unix seconds text, max_tries, retry_token, group_key.
-- Guarantee: in the retry's transaction; concurrent retries of the row take
-- turns, so they agree on one retry token.
SELECT uuid, connection, queue, payload, exception,
       CAST(UNIX_TIMESTAMP(failed_at) AS CHAR), max_tries, retry_token, group_key
FROM queue_failed_jobs
WHERE uuid = ? AND connection = ?
FOR UPDATE
