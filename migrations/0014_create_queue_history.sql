-- 0014: throughput history (History) and browsing a queue by state
-- (JobListing).
--
-- queue_history: per-minute counts of one queue, added to by every worker's
-- record_history (a multi-row upsert adding to the stored counts: deltas of many
-- workers for one minute sum up). minute is the Unix minute (Unix seconds DIV
-- 60) the jobs finished in. The primary key (queue, minute) serves the upsert
-- and a queue's chart (a range of one queue's minutes, oldest first).
-- Minutes older than HISTORY_KEPT_FOR (7 days, by the server's clock) are
-- never written or read, and are deleted by record_history in bounded chunks
-- through queue_history_minute_index. Clearing a queue's jobs keeps its
-- history.
--
-- queue_jobs_lease_index: lists a queue's running jobs soonest lease deadline
-- first as one ordered range: every row this driver reserved has lease_until
-- set (claim_update.sql) and every release sets it back to NULL, so a queue's
-- entries past (queue, NULL, NULL) are exactly its reservations: first those
-- without a lease (rows reserved by hand or by an older driver, by
-- reserved_at), then the leased ones by deadline. Without it, the listing
-- would sort all of the queue's reservations for every page. It also serves
-- reclaim_expired's scan (reclaim_select.sql) as the ranges of unleased and
-- expired reservations only, where the claim index reads every reservation of
-- the queue. Its cost is one more index entry per job, moved by claim and
-- extend (no difference measurable in the drain benchmark). A separate ALTER
-- with only ADD KEY (the runner treats "duplicate key name" on a re-run as
-- applied); on a large queue_jobs it is an online index build.

CREATE TABLE IF NOT EXISTS queue_history (
    queue     VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    minute    BIGINT NOT NULL,
    processed BIGINT UNSIGNED NOT NULL DEFAULT 0,
    failed    BIGINT UNSIGNED NOT NULL DEFAULT 0,
    retried   BIGINT UNSIGNED NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, minute),
    KEY queue_history_minute_index (minute)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE queue_jobs
    ADD KEY queue_jobs_lease_index (queue, lease_until, reserved_at);
