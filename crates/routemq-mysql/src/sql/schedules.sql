-- Lists every schedule with its state, by name. Params: none.
-- Guarantee: a plain consistent read.
SELECT definition, next_run_ms, last_run_ms, last_job_id FROM queue_schedules ORDER BY name
