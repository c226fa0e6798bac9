-- The columns of a failed-store read, failed_at as Unix seconds text (exact on
-- every server whatever the session time zone). Params: none here; sql::failed_select
-- appends a WHERE clause and a tail, which bring their own. Reads only.
-- Guarantee: reads only.
SELECT id, uuid, connection, queue, payload, exception,
       CAST(UNIX_TIMESTAMP(failed_at) AS CHAR) AS failed_unix, group_key
FROM queue_failed_jobs
