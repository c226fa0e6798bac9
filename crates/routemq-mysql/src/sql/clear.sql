-- Deletes one queue's jobs in chunks (short transactions). Params: queue, chunk
-- size. Holders of deleted reservations get LeaseLost afterwards.
DELETE FROM queue_jobs WHERE queue = ? LIMIT ?
