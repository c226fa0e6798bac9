-- 0005: uniqueness locks of unique jobs (JobLifecycle::push_unique).
--
-- One row per held key and queue: the job (queue_jobs.id) that holds it, and when
-- the lock expires (the duration of a For(d) scope, otherwise the job's due time
-- plus a safety margin). A dispatch treats a lock whose job row is gone or whose
-- expires_at has passed as free and takes it over, so a lost release never keeps
-- a key locked. Releases delete the row by job_id (only while it still names that
-- job); clear deletes the rows whose job is gone. Keys are bytes (VARBINARY), up
-- to 255, compared exactly.
--
-- queue_jobs.unique_scope marks the jobs holding a lock, so claims, acks and
-- reclaims of other jobs never touch this table: NULL = none, 1 = released at
-- claim (until started), 2 = released when the job is gone (until finished, or
-- for a duration). Adding a NULL column is an in-place, instant change on MySQL
-- 8.0+ and MariaDB 10.3+; rows written by hand keep working.

CREATE TABLE IF NOT EXISTS queue_unique_locks (
    queue       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    unique_key  VARBINARY(255) NOT NULL,
    job_id      BIGINT UNSIGNED NOT NULL,
    expires_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (queue, unique_key),
    KEY queue_unique_locks_job_id_index (job_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE queue_jobs ADD COLUMN unique_scope TINYINT UNSIGNED NULL DEFAULT NULL;
