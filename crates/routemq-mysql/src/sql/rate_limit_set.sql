-- Sets (or replaces) one queue's rate limit, keeping its hold and cap. Params:
-- queue, jobs, window in milliseconds, per_group (0/1). Portable upsert: the new
-- values come from the derived table `new` (no VALUES(), no `AS new` row alias).
-- Guarantee: one row per queue (primary key); the starts already in the window
-- keep counting.
INSERT INTO queue_rate_limits (queue, jobs, per_ms, per_group)
SELECT * FROM (SELECT ? AS n_queue, ? AS n_jobs, ? AS n_per_ms, ? AS n_per_group) AS new
ON DUPLICATE KEY UPDATE jobs = new.n_jobs, per_ms = new.n_per_ms, per_group = new.n_per_group
