-- 0007: fair groups (PendingJob::group): claims take a queue's groups in turn.
--
-- queue_jobs.group_key holds a grouped job's group (NULL = ungrouped, the seed's
-- rows unchanged); queue_jobs_group_index serves a claim's "oldest ready job of
-- this group" as an ordered range scan, like queue_jobs_claim_index does for a
-- queue. Adding a NULL column is instant on MySQL 8.0+ and MariaDB 10.3+.
--
-- queue_groups is the rotation of a queue that has grouped jobs: one row per
-- group with jobs, plus a row with the empty group_key for the ungrouped lane,
-- ordered by turn (the lane served longest ago first). A grouped push inserts
-- both rows when missing (INSERT IGNORE); a claim locks the lanes it takes in
-- turn order, moves them to the end (a new turn), deletes a group's row once it
-- has no job left, and the ungrouped row once it is the last. A queue without
-- rows here is claimed exactly as before.

CREATE TABLE IF NOT EXISTS queue_groups (
    queue      VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    group_key  VARBINARY(128) NOT NULL,
    turn       BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (queue, group_key),
    KEY queue_groups_turn_index (queue, turn)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE queue_jobs
    ADD COLUMN group_key VARBINARY(128) NULL DEFAULT NULL,
    ADD INDEX queue_jobs_group_index (queue, group_key, reserved_at, available_at, id);
