-- The columns of a failed job (FailedJob), for failed list/show: the WHERE
-- clause and ORDER/LIMIT tail are appended by sql::failed_select. failed_at is
-- read as Unix seconds with microseconds, as text (exact, no float rounding),
-- in the session's time zone (UTC: the driver pins it), so no DATETIME decoding
-- depends on the client.
SELECT id, uuid, connection, queue, payload, exception,
       CAST(UNIX_TIMESTAMP(failed_at) AS CHAR) AS failed_unix
FROM queue_failed_jobs
