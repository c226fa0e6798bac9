SELECT id, uuid, connection, queue, payload, exception,
       TIMESTAMPDIFF(MICROSECOND, failed_at, NOW(6)) AS age_us
FROM queue_failed_jobs
