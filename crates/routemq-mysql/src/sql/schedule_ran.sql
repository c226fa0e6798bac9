-- Records a run-now of a schedule (first statement of its transaction; the job's
-- INSERT follows). Params: last run (ms), last job id, name, queue.
-- Guarantee: the next run is untouched; 0 rows when there is no such schedule on
-- that queue (the transaction is then rolled back and no job stored).
UPDATE queue_schedules SET last_run_ms = ?, last_job_id = ? WHERE name = ? AND queue = ?
