-- 0008: per-group controls: per-group rate limits, a group concurrency cap and
-- group holds (RateLimit::per_group, set_group_concurrency, hold_group).
--
-- queue_rate_limits.per_group: 1 = each group of the queue (and its ungrouped
-- jobs, as one more lane) has a window of its own; 0 = one window for the queue.
-- queue_rate_limits.group_concurrency: at most this many jobs of one group
-- reserved at once (NULL = no cap). The running count is not stored: it is the
-- group's reserved rows in queue_jobs (queue_jobs_group_index), counted by the
-- grouped claim under the lock of the group's rotation row.
--
-- queue_rate_starts.group_key: the lane a start was logged for ('' =
-- ungrouped); queue_rate_starts_lane_index serves a lane's window. A queue-wide
-- window still counts every start of the queue through the (queue, started_at)
-- index.
--
-- queue_group_holds: claims take no job of the group before held_until. A queue
-- with a group hold also has a (possibly empty) queue_rate_limits row, so the
-- claim checks its lanes; the row and the passed holds go together.

ALTER TABLE queue_rate_limits
    ADD COLUMN per_group TINYINT NOT NULL DEFAULT 0,
    ADD COLUMN group_concurrency INT UNSIGNED NULL DEFAULT NULL;

ALTER TABLE queue_rate_starts
    ADD COLUMN group_key VARBINARY(128) NOT NULL DEFAULT '',
    ADD INDEX queue_rate_starts_lane_index (queue, group_key, started_at);

CREATE TABLE IF NOT EXISTS queue_group_holds (
    queue       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    group_key   VARBINARY(128) NOT NULL,
    held_until  DATETIME(6) NOT NULL,
    PRIMARY KEY (queue, group_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
