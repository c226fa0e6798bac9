SELECT id, uuid, connection, queue, payload, exception,
       CAST(UNIX_TIMESTAMP(failed_at) AS CHAR) AS failed_unix
FROM queue_failed_jobs
