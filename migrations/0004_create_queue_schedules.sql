-- 0004: recurring jobs, for `routemq schedule` and `WorkerBuilder::schedule`.
--
-- One row per schedule: its definition (JSON: spec, job, data, queue, options,
-- missed-tick policy), the key of its spec and queue (an upsert with the same key
-- keeps the state), and its state: the next run not yet fired, the last run's
-- tick time and job id (times in ms since the Unix epoch). Firing a tick is one
-- transaction: an UPDATE that moves next_run_ms only from the value the firing
-- worker read, and the INSERT of its jobs into queue_jobs.

CREATE TABLE IF NOT EXISTS queue_schedules (
    name        VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    queue       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    spec_key    TEXT NOT NULL,
    definition  MEDIUMTEXT NOT NULL,
    next_run_ms BIGINT NOT NULL,
    last_run_ms BIGINT NULL,
    last_job_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
    updated_at  DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
