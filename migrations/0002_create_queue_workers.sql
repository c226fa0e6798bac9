-- 0002: worker heartbeats, for `routemq workers`.
--
-- One row per running worker, renewed by its heartbeat; a row whose expires_at
-- has passed belongs to a worker that stopped without saying so, and is ignored
-- (and deleted by the next listing).

CREATE TABLE IF NOT EXISTS queue_workers (
    id          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    host        VARCHAR(255) NOT NULL,
    pid         INT UNSIGNED NOT NULL,
    -- The whole heartbeat (routemq_core::WorkerInfo) as JSON.
    info        LONGTEXT NOT NULL,
    last_seen   DATETIME(6) NOT NULL,
    expires_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    KEY queue_workers_expires_at_index (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
