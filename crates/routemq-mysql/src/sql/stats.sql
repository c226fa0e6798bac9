-- Counts for one queue, each an index range count on queue_jobs_claim_index or
-- queue_failed_jobs_queue_failed_at_index (no row is read into the process, no
-- table scan), and whether the queue is paused (a primary-key lookup on
-- queue_paused). Params: the queue six times. One statement, so one NOW(6).
-- Waiting jobs of chains and batches (available_at at the sentinel
-- '9999-12-31 00:00:00', migration 0013) are neither ready nor delayed.
-- Guarantee: reads only; locks nothing.
SELECT
  (SELECT COUNT(*) FROM queue_jobs
    WHERE queue = ? AND reserved_at IS NULL AND available_at <= NOW(6)) AS n_ready,
  (SELECT COUNT(*) FROM queue_jobs
    WHERE queue = ? AND reserved_at IS NULL AND available_at > NOW(6)
      AND available_at < '9999-12-31 00:00:00') AS n_delayed,
  (SELECT COUNT(*) FROM queue_jobs
    WHERE queue = ? AND reserved_at IS NOT NULL) AS n_reserved,
  (SELECT COUNT(*) FROM queue_failed_jobs WHERE queue = ?) AS n_failed,
  (SELECT TIMESTAMPDIFF(MICROSECOND, MIN(available_at), NOW(6)) FROM queue_jobs
    WHERE queue = ? AND reserved_at IS NULL AND available_at <= NOW(6)) AS oldest_us,
  (SELECT COUNT(*) FROM queue_paused WHERE queue = ?) AS n_paused
