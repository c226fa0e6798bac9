-- Records which jobs belong to a batch: this head is followed by one pair of
-- placeholders per job, built by sql::workflow_members.
-- Params: per job, the batch id and the job's uuid.
-- Guarantee: runs in the transaction storing the jobs, so a batch job is never
-- stored without its membership row (cancelling a batch finds every job).
INSERT INTO queue_batch_jobs (batch_id, uuid) VALUES
