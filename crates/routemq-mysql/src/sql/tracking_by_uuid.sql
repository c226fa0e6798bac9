-- Job selection of tracking statements by job id (a fragment: sql.rs puts it
-- where a statement says `{job}`). Params: queue, uuid. Served by
-- queue_jobs_uuid_index (migration 0012).
-- Guarantee: selects exactly the queue's rows holding this job id.
queue = ? AND uuid = ?
