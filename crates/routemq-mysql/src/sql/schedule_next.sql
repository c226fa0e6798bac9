-- Reads a schedule's next run after a step matched no row (to tell a stale step
-- from a removed schedule). Params: name, queue.
-- Guarantee: a plain read inside the step's transaction; changes nothing.
SELECT next_run_ms FROM queue_schedules WHERE name = ? AND queue = ?
