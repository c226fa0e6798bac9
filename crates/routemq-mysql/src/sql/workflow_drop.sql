-- Removes a waiting job that will never be needed (the catch job of a chain
-- that succeeded, a batch callback not released when the batch finished).
-- Params: queue, uuid. Served by queue_jobs_uuid_index.
-- Guarantee: in the settlement's transaction; only a still-waiting row goes.
DELETE FROM queue_jobs WHERE queue = ? AND uuid = ? AND waiting = 1
