-- A batch's jobs not yet started: neither reserved nor waiting, nor the job
-- being settled. Params: batch id, the settling job's row id (0 = none),
-- chunk size. Members from queue_batch_jobs' primary key, each job through
-- queue_jobs_uuid_index.
-- Guarantee: SKIP LOCKED: a row another transaction holds (a claim reserving
-- it, a cancel, a settlement) is left to it, so this never waits on a job
-- row while holding the batch's lock (no deadlock with settlements, which
-- lock their job row first); such a job is counted when it settles.
SELECT j.id
FROM queue_batch_jobs AS m
JOIN queue_jobs AS j ON j.uuid = m.uuid
WHERE m.batch_id = ? AND j.batch_id = m.batch_id AND j.reserved_at IS NULL
  AND j.waiting = 0 AND j.id <> ?
LIMIT ?
FOR UPDATE SKIP LOCKED
