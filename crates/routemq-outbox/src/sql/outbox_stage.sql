-- Stages one job in the caller's transaction. Params: uuid (job id), queue,
-- payload, max_tries, due time (Unix ms, NULL = now), group (NULL = none).
-- Guarantee: part of the caller's transaction: the row (and so the job) exists
-- only if that transaction commits; its id orders it after every row inserted
-- before it.
INSERT INTO queue_outbox (uuid, queue, payload, max_tries, due_ms, group_key)
VALUES (?, ?, ?, ?, ?, ?)
