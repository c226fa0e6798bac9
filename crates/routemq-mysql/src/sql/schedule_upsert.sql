-- Creates or replaces one schedule. Params: name, queue, spec key, definition
-- JSON, next run (ms) for a new or changed schedule. Portable upsert: the new
-- values come from the derived table `new` (no VALUES(), no `AS new` row alias).
-- Guarantee: one row per name. The definition, queue and key are replaced; the
-- next run is set only when the stored key differs (it is assigned first, so it
-- compares against the old key); last run and last job id are kept.
INSERT INTO queue_schedules (name, queue, spec_key, definition, next_run_ms)
SELECT * FROM (
    SELECT ? AS n_name, ? AS n_queue, ? AS n_key, ? AS n_def, ? AS n_next
) AS new
ON DUPLICATE KEY UPDATE
    next_run_ms = IF(spec_key = new.n_key, next_run_ms, new.n_next),
    spec_key = new.n_key, queue = new.n_queue, definition = new.n_def
