-- Fires one step of a schedule (first statement of its transaction; the jobs'
-- INSERTs follow). Params: new next run, last run (NULL keeps it), last job id
-- (NULL keeps it), name, queue, expected next run.
-- Guarantee: changes the row only if its next run is still the expected one; a
-- concurrent step for the same tick waits on the row lock and then matches no
-- row, so of many firers exactly one affects 1 row and stores its jobs.
UPDATE queue_schedules
SET next_run_ms = ?, last_run_ms = COALESCE(?, last_run_ms),
    last_job_id = COALESCE(?, last_job_id)
WHERE name = ? AND queue = ? AND next_run_ms = ?
