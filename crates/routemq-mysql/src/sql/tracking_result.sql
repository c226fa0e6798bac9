-- The result kept with a succeeded record. Params: queue, uuid. Returns one row
-- with the result (NULL = none) while the record is kept. A primary-key lookup.
-- Guarantee: reads only; a record past expires_at is never returned.
SELECT result
FROM queue_job_records
WHERE queue = ? AND uuid = ? AND state = 'succeeded' AND expires_at > NOW(6)
