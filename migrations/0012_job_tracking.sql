-- 0012: job tracking (JobTracking): where a job is, what its running attempt
-- last reported, the kept records (and results) of finished jobs, and
-- cancellation.
--
-- The run record lives on the job's own row, so it goes with the row on ack,
-- fail, cancel and clear, and record_runs is a primary-key UPDATE fenced by the
-- owner token. Every column is NULL or defaulted (instant ADD COLUMN on MySQL
-- 8.0+ and MariaDB 10.3+), so rows written by hand stay valid:
--   run_owner        the owner token of the attempt that wrote the record. The
--                    worker and progress are current only while it equals
--                    owner: a released or reclaimed attempt's worker and
--                    progress never show for the next one, and release and
--                    reclaim need not touch these columns.
--   run_worker       the reporting worker's id.
--   run_percent      progress, 0-100.
--   run_message      progress text (at most 1024 bytes, cut by the driver).
--   run_at           when the progress was reported (the worker's clock).
--   run_error        the last error any attempt reported (at most 4096 bytes),
--                    kept across retries: a waiting job shows it.
--   cancel_requested 1 = cancel asked while the job ran: its worker stops it,
--                    and a release or a reclaim of it records it cancelled
--                    instead of making it claimable (release.sql,
--                    release_uncounted.sql and reclaim_select.sql look at it).
--
-- queue_jobs_uuid_index: job_status and cancel name a job by (queue, uuid);
-- without it they would scan queue_jobs. UUIDv7 ids are time-ordered, so
-- pushes append to the index's right edge. A separate ALTER from the columns,
-- so adding the columns stays instant (an index added in the same ALTER would
-- make MySQL rebuild the table); the runner treats "duplicate key name" on a
-- re-run as applied.
--
-- queue_job_records: finished jobs kept for a while: succeeded with
-- JobOptions::keep_result (result = the returned JSON, NULL when none) and
-- cancelled ones (CANCELLED_KEPT_FOR). state is the JobState name
-- ('succeeded', 'cancelled'). The primary key (queue, uuid) serves the
-- lookups and makes a newer record of the same job replace the older one.
-- Reads ignore rows past expires_at; queue_job_records_expires_index serves
-- the pruning of those rows, in bounded chunks, by reclaim_expired (which
-- every worker calls every lease/2).

ALTER TABLE queue_jobs
    ADD COLUMN run_owner VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    ADD COLUMN run_worker VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL DEFAULT NULL,
    ADD COLUMN run_percent FLOAT NULL DEFAULT NULL,
    ADD COLUMN run_message VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL DEFAULT NULL,
    ADD COLUMN run_at DATETIME(3) NULL DEFAULT NULL,
    ADD COLUMN run_error TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL DEFAULT NULL,
    ADD COLUMN cancel_requested TINYINT UNSIGNED NOT NULL DEFAULT 0;

ALTER TABLE queue_jobs
    ADD KEY queue_jobs_uuid_index (uuid);

CREATE TABLE IF NOT EXISTS queue_job_records (
    queue       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    uuid        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    state       VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    attempts    INT UNSIGNED NOT NULL DEFAULT 0,
    max_tries   INT UNSIGNED NOT NULL DEFAULT 0,
    finished_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    expires_at  DATETIME(6) NOT NULL,
    result      LONGBLOB NULL DEFAULT NULL,
    PRIMARY KEY (queue, uuid),
    KEY queue_job_records_expires_index (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
