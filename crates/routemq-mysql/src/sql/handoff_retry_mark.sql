-- Retry to another store, step 2: mark the locked row as being retried.
-- Params: retry token, uuid.
-- Guarantee: in the retry's transaction, on the row it locked; a row already
-- marked keeps its token (the retry continues under it).
UPDATE queue_failed_jobs
SET retry_token = ?, retry_started_at = NOW(6)
WHERE uuid = ? AND retry_token IS NULL
