-- Retries to another store that did not finish: rows of that store marked more
-- than a while ago. Params: connection, the while in microseconds, at most how
-- many. Returns the columns of handoff_retry_lock.sql, oldest mark first.
-- Guarantee: reads only (queue_failed_jobs_retry_index).
SELECT uuid, connection, queue, payload, exception,
       CAST(UNIX_TIMESTAMP(failed_at) AS CHAR), max_tries, retry_token, group_key
FROM queue_failed_jobs
WHERE retry_started_at < NOW(6) - INTERVAL ? MICROSECOND AND connection = ?
ORDER BY retry_started_at
LIMIT ?
