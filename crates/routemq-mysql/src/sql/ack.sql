-- Removes a finished job. Params: id, owner token. 0 rows = the lease was lost
-- (reclaimed, cleared or finished already) and nothing changed.
-- Guarantee: one autocommit statement; only the current owner removes the job.
DELETE FROM queue_jobs WHERE id = ? AND owner = ?
