-- 0001: the job tables of the database driver.
--
-- Column names follow the original RouteMQ tables (queue_jobs, queue_failed_jobs)
-- so the operator's inspection queries keep working; the columns after them are
-- this driver's additions, all with defaults, so a row written by hand with only
-- the original columns is a valid job.
--
-- Portability: runs unchanged on MySQL 8.0+ and MariaDB 10.6+. Queue names, job
-- ids and owner tokens are ASCII with a binary collation (exact, case-sensitive
-- comparisons; no collation that exists on only one server, such as
-- utf8mb4_0900_ai_ci). Payloads are LONGBLOB because MessagePack envelopes are
-- binary; the driver enforces its own size limit at dispatch (below the server's
-- max_allowed_packet) with a clear error.

CREATE TABLE IF NOT EXISTS queue_jobs (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    queue        VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'default',
    payload      LONGBLOB NOT NULL,
    attempts     INT UNSIGNED NOT NULL DEFAULT 0,
    -- NULL while the job waits; the claim time while a worker holds it.
    reserved_at  DATETIME(6) NULL DEFAULT NULL,
    available_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    created_at   DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    -- The job id from the envelope; NULL for rows written by hand (the driver then
    -- names the job `db-<id>`).
    uuid         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    -- Attempts allowed, copied from the envelope so reclaiming needs no decoding.
    max_tries    INT UNSIGNED NOT NULL DEFAULT 3,
    -- The current reservation's owner token (`<id>.<random>`) and lease deadline.
    owner        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    lease_until  DATETIME(6) NULL DEFAULT NULL,
    PRIMARY KEY (id),
    -- Serves the claim (queue = ? AND reserved_at IS NULL AND available_at <= now,
    -- in available_at, id order: InnoDB appends the primary key), the per-state
    -- counts of stats, the oldest-ready age, the next-due lookup of idle workers
    -- and the scan for expired reservations (reserved_at IS NOT NULL).
    KEY queue_jobs_claim_index (queue, reserved_at, available_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS queue_failed_jobs (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    -- The job id; NULL only for rows written by hand (named `failed-<id>`).
    uuid         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    connection   VARCHAR(255) NOT NULL DEFAULT 'database',
    queue        VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'default',
    payload      LONGBLOB NOT NULL,
    exception    LONGTEXT NOT NULL,
    failed_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    -- Attempts allowed, restored when the job is retried.
    max_tries    INT UNSIGNED NOT NULL DEFAULT 3,
    PRIMARY KEY (id),
    UNIQUE KEY queue_failed_jobs_uuid_unique (uuid),
    -- Listing and counting one queue's failures, newest first.
    KEY queue_failed_jobs_queue_failed_at_index (queue, failed_at),
    -- Listing all failures newest first, and pruning by age.
    KEY queue_failed_jobs_failed_at_index (failed_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
