-- Releases the uniqueness locks held by jobs. Params: the job row ids (IN list
-- built by sql::unique_release). Run only for jobs marked as holding a lock
-- (queue_jobs.unique_scope), inside the transaction that claims, acks, fails or
-- reclaims them.
-- Guarantee: deletes a lock only while it names one of these jobs, so a key
-- already taken over by a newer job stays locked.
DELETE FROM queue_unique_locks WHERE job_id IN
