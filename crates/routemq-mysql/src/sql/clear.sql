-- Deletes one queue's jobs in chunks (short transactions). Params: queue, chunk
-- size. Holders of deleted reservations get LeaseLost afterwards.
-- Guarantee: each chunk is its own short transaction; a job is either deleted or
-- untouched.
DELETE FROM queue_jobs WHERE queue = ? LIMIT ?
