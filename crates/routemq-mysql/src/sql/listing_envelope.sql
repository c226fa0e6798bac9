-- A stored job's envelope (JobListing::job_envelope). Params: the job
-- selection's (tracking_by_uuid.sql or tracking_by_row.sql, put in the WHERE
-- clause by sql::job_envelope). Served by queue_jobs_uuid_index or the primary
-- key.
-- Guarantee: reads only; locks nothing. The newest row wins if a job id was
-- stored twice (as tracking_job.sql).
SELECT payload FROM queue_jobs WHERE {job} ORDER BY id DESC LIMIT 1
