-- 0010: failed jobs of Redis queues kept in queue_failed_jobs (the database
-- failed store, routemq-failed-mysql), and their retry back to Redis.
--
-- A retry of such a row cannot move it in one transaction (the job goes to
-- Redis): it first marks the row with a retry token and the time (under the
-- row lock), then pushes the job to Redis idempotently under that token
-- (RedisDriver::push_once_marked), then deletes the row if it still carries
-- the token. A retry that dies between the steps leaves a marked row, which the
-- next pass of any mover finishes (the push again a no-op when it had
-- happened), so a job is never in both stores for long nor in neither.
-- queue_failed_jobs_retry_index finds the marked rows a mover must finish.

ALTER TABLE queue_failed_jobs
    ADD COLUMN retry_token VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    ADD COLUMN retry_started_at DATETIME(6) NULL DEFAULT NULL,
    ADD INDEX queue_failed_jobs_retry_index (retry_started_at);
