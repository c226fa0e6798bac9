-- Deletes one chunk of an expired batch's membership rows. Params: batch id,
-- chunk size. A primary-key range.
-- Guarantee: one short autocommit statement; the batch finished (no job of it
-- is stored), so nothing needs these rows.
DELETE FROM queue_batch_jobs WHERE batch_id = ? LIMIT ?
