-- 0003: paused queues, for `routemq pause` / `routemq resume`.
--
-- One row per paused queue; resuming deletes it. A claim reads this table once at
-- the start of its transaction and skips the paused queues it was asked for, and
-- an idle worker's next-due lookup leaves them out, so workers neither take nor
-- wait for their jobs. `queue` has the same type as queue_jobs.queue.

CREATE TABLE IF NOT EXISTS queue_paused (
    queue       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    paused_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (queue)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
