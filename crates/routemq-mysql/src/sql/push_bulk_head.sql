-- Stores many jobs in one statement: this head is followed by one
-- push_bulk_row.sql tuple per job, comma-separated (built by sql::push_bulk).
-- All chunks of one bulk push run in one transaction: all or nothing.
-- Params: none in the head; each row brings its own. Guarantee: one statement, all
-- rows or none.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at) VALUES
