-- Stores many jobs, some grouped, in one statement: this head is followed by one
-- push_group_row.sql tuple per job, comma-separated (built by sql::push_group_bulk).
-- Params: none in the head; each row brings its own. Guarantee: one statement,
-- all rows or none; runs in the bulk push's transaction with group_join.sql.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at, group_key) VALUES
