-- Stores a batch's record. Params: id, queue, name, jobs (total = pending),
-- allow_failures (0/1), then uuid, catch uuid, finally uuid (NULL = none).
-- Guarantee: runs in the transaction storing the batch's jobs and callbacks: all
-- or nothing. A duplicate id fails the whole push.
INSERT INTO queue_batches (id, queue, name, total, pending, allow_failures,
                           then_uuid, catch_uuid, finally_uuid, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(6))
