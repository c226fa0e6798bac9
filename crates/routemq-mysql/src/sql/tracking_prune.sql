-- Deletes one chunk of expired job records. Params: chunk size. An index range
-- of queue_job_records_expires_index.
-- Guarantee: one short autocommit statement; only records no read returns any
-- more (past expires_at) are deleted.
DELETE FROM queue_job_records WHERE expires_at <= NOW(6) LIMIT ?
