-- Claim, step 0c: log the starts of one limited queue's claimed jobs at the
-- window's now (rate_window.sql), each with its lane ('' = ungrouped). Params
-- per row: queue, group_key, started_at; the rows are added by sql::rate_record.
-- Guarantee: in the claim's transaction, under the limiter row's lock.
INSERT INTO queue_rate_starts (queue, group_key, started_at) VALUES
