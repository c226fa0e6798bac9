-- Stores workflow jobs (chain links, batch jobs, callbacks) in one statement:
-- this head is followed by one workflow_insert_row.sql tuple per job,
-- comma-separated (built by sql::workflow_insert). Params: none in the head.
-- Guarantee: one statement, all rows or none; it runs inside the transaction
-- storing the whole chain or batch.
INSERT INTO queue_jobs (uuid, queue, payload, attempts, max_tries, available_at, created_at,
                        waiting, flow_next, flow_catch, batch_id) VALUES
