-- clear: deletes one chunk of a cleared batch's membership rows. Params:
-- batch id, chunk size. A primary-key range.
-- Guarantee: one short autocommit statement.
DELETE FROM queue_batch_jobs WHERE batch_id = ? LIMIT ?
