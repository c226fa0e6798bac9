-- 0013: workflows (Workflows): chains and batches, resting on *waiting* jobs.
--
-- queue_jobs gains four columns, all NULL or defaulted (instant ADD COLUMN on
-- MySQL 8.0+ and MariaDB 10.3+; rows written by hand stay plain jobs):
--   waiting     1 = a chain link after the first, or a batch callback (then,
--               catch, finally): stored, never claimed, until the settlement
--               that releases it sets waiting = 0 and available_at = NOW(6)
--               in its own transaction. A waiting row also has available_at =
--               '9999-12-31 00:00:00' (the sentinel; dispatch due times stop at
--               2038), so the claim (available_at <= now), its index
--               (queue_jobs_claim_index) and the next-due lookup never reach it
--               and need no change; stats count delayed jobs only below the
--               sentinel, so waiting rows are neither ready nor delayed. The
--               flag says the same thing explicitly (status, operators'
--               queries) and guards every release (WHERE waiting = 1), so a
--               callback is released at most once.
--   flow_next   a chain link: the uuid of the next link (released by its ack).
--   flow_catch  a chain link: the uuid of the chain's catch job (released by a
--               final failure; removed by the last link's ack).
--   batch_id    a batch's job: its batch (queue_batches.id). Callbacks have none.
-- A row with any of flow_next, flow_catch, batch_id set has workflow effects:
-- the claim reads them with the row it already reads and ends the owner token
-- with 'w', so settlements of plain jobs never look (src/token.rs).
--
-- queue_batches: one row per batch. pending/succeeded/failed/cancelled are the
-- counters, changed in the transaction of each settlement under this row's
-- lock; then_uuid/catch_uuid/finally_uuid the callbacks not yet released or
-- removed (set to NULL when they are: each at most once). finished_at is set
-- when pending reaches 0, with expires_at = finished_at + BATCH_KEPT_FOR;
-- queue_batches_expires_index serves the bounded pruning by reclaim_expired,
-- queue_batches_queue_index the removal of a queue's batches by clear.
--
-- queue_batch_jobs: the uuids of each batch's jobs, written with them. It
-- serves cancelling a batch's jobs not yet started (a batch cancel, or a
-- failure without allow_failures) through queue_jobs_uuid_index. It replaces an
-- index on queue_jobs(batch_id): that index would cost every plain push and ack
-- one more B-tree insert and delete, for a lookup only a batch failure or
-- cancel makes. Rows go when the batch's record is pruned.

ALTER TABLE queue_jobs
    ADD COLUMN waiting TINYINT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN flow_next VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    ADD COLUMN flow_catch VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    ADD COLUMN batch_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL;

CREATE TABLE IF NOT EXISTS queue_batches (
    id              VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    queue           VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name            TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    total           BIGINT UNSIGNED NOT NULL DEFAULT 0,
    pending         BIGINT UNSIGNED NOT NULL DEFAULT 0,
    succeeded       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    failed          BIGINT UNSIGNED NOT NULL DEFAULT 0,
    cancelled       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    allow_failures  TINYINT UNSIGNED NOT NULL DEFAULT 0,
    cancelled_batch TINYINT UNSIGNED NOT NULL DEFAULT 0,
    then_uuid       VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    catch_uuid      VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    finally_uuid    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL DEFAULT NULL,
    created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at     DATETIME(6) NULL DEFAULT NULL,
    expires_at      DATETIME(6) NULL DEFAULT NULL,
    PRIMARY KEY (id),
    KEY queue_batches_expires_index (expires_at),
    KEY queue_batches_queue_index (queue)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS queue_batch_jobs (
    batch_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    uuid     VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (batch_id, uuid)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
