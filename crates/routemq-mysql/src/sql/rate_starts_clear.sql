-- Deletes one queue's window rows in chunks. Params: queue, chunk size.
-- Guarantee: a range of queue_rate_starts_window_index; short autocommit runs.
DELETE FROM queue_rate_starts WHERE queue = ? LIMIT ?
