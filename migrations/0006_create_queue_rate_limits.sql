-- 0006: rate limits per queue, for `routemq limit` and `JobError::rate_limited`.
--
-- queue_rate_limits: one row per queue with a limit (jobs per per_ms
-- milliseconds) or a hold (claims take none of its jobs before held_until); a
-- row with only a hold has jobs and per_ms NULL. A claim locks the rows of the
-- limited queues it was asked for, in name order, and counts the window.
--
-- queue_rate_starts: the sliding-window log, one row per started job (its claim
-- time on the server's clock), read and pruned through the (queue, started_at)
-- index. Rows of a queue are keyed by the queue alone today; a per-group limit
-- would add the group key to this table's key and index (see ARCHITECTURE.md).
-- `queue` has the same type as queue_jobs.queue.

CREATE TABLE IF NOT EXISTS queue_rate_limits (
    queue       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    jobs        INT UNSIGNED NULL DEFAULT NULL,
    per_ms      BIGINT UNSIGNED NULL DEFAULT NULL,
    held_until  DATETIME(6) NULL DEFAULT NULL,
    PRIMARY KEY (queue)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS queue_rate_starts (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    queue       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    started_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    KEY queue_rate_starts_window_index (queue, started_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
