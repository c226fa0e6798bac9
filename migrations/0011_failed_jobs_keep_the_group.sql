-- 0011: a failed job keeps its fair group (FailedJob::group), so a retry puts
-- it back in that group's lane (and under its per-group controls) instead of
-- the queue's ungrouped jobs. NULL = ungrouped, as queue_jobs.group_key; adding
-- a NULL column is instant on MySQL 8.0+ and MariaDB 10.3+.

ALTER TABLE queue_failed_jobs
    ADD COLUMN group_key VARBINARY(128) NULL DEFAULT NULL;
